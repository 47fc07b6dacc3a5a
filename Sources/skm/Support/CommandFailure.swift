import Foundation
import SKMCore
import SKMPrimitives

/// A command's failure with the exit status it means.
struct CommandFailure: Error {
    var message: String
    var exitCode: Int32

    /// The request was refused (a catalogue error): exit 1.
    static func refused(_ message: String) -> CommandFailure { CommandFailure(message: message, exitCode: 1) }
    /// Configuration, storage or input error: exit 2.
    static func setup(_ message: String) -> CommandFailure { CommandFailure(message: message, exitCode: 2) }
    /// Wrong use of the command line: exit 3.
    static func usage(_ message: String) -> CommandFailure { CommandFailure(message: message, exitCode: 3) }

    static func exitCode(for error: any Error) -> Int32 {
        switch error {
        case is Rejection: return 1
        default: return 2
        }
    }

    /// One line naming what was wrong, never a secret.
    static func describe(_ error: any Error) -> String {
        switch error {
        // Reasons quote what was given (a value, a name); ``Terminal`` shows a line break in it, never writes it.
        case let rejection as Rejection: return "\(rejection.error.resultMessage): \(rejection.reason)"
        case let error as CoreError: return error.reason
        case let error as StorageError: return error.reason
        default: return String(describing: error)
        }
    }
}

/// Writing to the terminal.
enum Terminal {
    /// One line: a line break or control character in it (a value the user gave, text from a file) is shown as its
    /// code, so that it can neither forge a line nor drive the terminal.
    /// `error: message` on standard error, the message made inert; a usage error's own lines (the usage and the help
    /// that follow the error) stay lines.
    static func error(_ message: String, keepingLineBreaks: Bool = false) {
        let shown = PrintableText.escaped(message, keepingLineBreaks: keepingLineBreaks, uppercase: true)
        FileHandle.standardError.write(Data("error: \(shown)\n".utf8))
    }

    static func note(_ message: String) {
        FileHandle.standardError.write(Data("\(PrintableText.escaped(message, uppercase: true))\n".utf8))
    }
}
