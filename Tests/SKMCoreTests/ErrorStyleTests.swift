import Foundation
import SKMCore
import SKMPrimitives
import Testing

/// SKM's errors have one shape (``CodedError``): a code to branch on, a reason for people, the source file and line
/// that raised them, and equality on the code alone.
@Suite struct ErrorStyleTests {
    @Test func errorsAreEqualWhenTheirCodesAre() {
        #expect(CoreError(.io, "cannot read a") == CoreError(.io, "cannot read b"))
        #expect(CoreError(.io, "same") != CoreError(.crypto, "same"))
        #expect(
            Set([StorageError(.conflict, "x"), StorageError(.conflict, "y"), StorageError(.missing, "x")]).count == 2)
        let error = StorageError(.duplicate, "taken")
        #expect(error.file == "SKMCoreTests/ErrorStyleTests.swift" && error.line == #line - 1)
        #expect(error.description == "taken")
    }

    @Test func parsersSayWhatKindOfProblemTheyMet() {
        func jsonError(_ text: String) -> JSONError? {
            do {
                _ = try JSONParser().parse(Array(text.utf8))
                return nil
            } catch {
                return error
            }
        }
        #expect(jsonError("{\"a\": ")?.code == .truncated)
        #expect(jsonError("{\"a\" 1}")?.code == .syntax)
        #expect(jsonError(String(repeating: "[", count: 100))?.code == .tooDeep)
        // Equal by code, while the positions (and reasons) differ.
        #expect(jsonError("[1,]") == jsonError("\n\n{]"))
        #expect(jsonError("\n\n{]")?.position.line == 3)

        #expect(CiphertextBlob.parse(base64: "%%%").failure?.code == .notBase64)
        #expect(CiphertextBlob.parse(base64: "AAAA").failure?.code == .tooShort)
        #expect(SignatureBlob.parse(base64: "AAAA").failure?.code == .wrongLength)
        #expect(IPv4Network.parse("10.0.0.1/33").failure?.code == .malformedPrefix)
    }

    /// Every error type declared in Sources/ has the shared shape, except the few listed here with the reason each is
    /// not an error of the machinery.
    @Test func everyErrorTypeInTheSourcesIsACodedError() throws {
        let exempt: [String: String] = [
            "InputProblem": "a value reported for one unreadable input line, carried in a Result",
            "Diagnostic": "a rule-file diagnostic with a caret under the source, the compiler's shape",
            "Diagnostics": "the diagnostics of one load, shown together",
            "CommandFailure": "the command line's exit status and message",
            // Private plumbing, turned into a Diagnostic or InputProblem before it leaves its file.
            "Failure": "HAREntryScanner's and YAMLReader's private signals",
            "Problem": "HARReader's private signal",
            "PathError": "FactReader's private signal",
            "SyntaxError": "the lexer's private signal, turned into a Diagnostic",
            "IncompleteRequest": "the HTTP problem handler's private signal",
            "ChangeAwaitsApproval": "not a failure: a change the approval workflow holds, answered as its request",
            "ChangeValidated": "the approval gate's private signal: the change was validated up to its commit",
        ]
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources")
        let declaration = /(?:struct|enum|class|actor)\s+(\w+)\s*:\s*([^{]*)\{/
        // Most errors are the shared generic type with a module's code.
        let alias = /typealias\s+(\w*Error)\s*=\s*([^\n]+)/
        var aliases = 0
        var offenders: [String] = []
        var found = 0
        let files = FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)
        while let file = files?.nextObject() as? URL {
            guard file.pathExtension == "swift", !file.path.contains("/Fuzz/") else { continue }
            let text = try String(contentsOf: file, encoding: .utf8)
            for match in text.matches(of: alias) {
                aliases += 1
                if !match.output.2.hasPrefix("CodedFailure<") {
                    offenders.append("\(file.lastPathComponent): \(match.output.1)")
                }
            }
            for match in text.matches(of: declaration) {
                let conformances = match.output.2.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                guard conformances.contains("Error") || conformances.contains("CodedError") else { continue }
                found += 1
                let name = String(match.output.1)
                if !conformances.contains("CodedError"), exempt[name] == nil {
                    offenders.append("\(file.lastPathComponent): \(name)")
                }
            }
        }
        #expect(found >= 10, "the scan found only \(found) error types: is it reading Sources/?")
        #expect(aliases >= 8, "the scan found only \(aliases) error aliases")
        #expect(offenders.isEmpty, "not a CodedError: \(offenders)")
    }
}

extension Result {
    fileprivate var failure: Failure? {
        if case .failure(let failure) = self { return failure }
        return nil
    }
}
