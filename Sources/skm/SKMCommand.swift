import ArgumentParser
import Foundation
import SKMCore
import SKMServer

/// `skm`: the Secure Key Manager and its failed-request analyser.
@main
struct SKMCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "skm",
        abstract: "A Secure Key Manager, and the analyser that explains why calls to it failed.",
        discussion: """
            State lives in an SQLite database (--db, or SKM_DB; default .skm/skm.sqlite), or in PostgreSQL for \
            several nodes (--db postgres://USER@HOST:PORT/DATABASE; the password from SKM_DB_PASSWORD or the file \
            --db-password-file names). Its key material is sealed under a root key from SKM_ROOT_KEY or a key file \
            (--root-key-file, or SKM_ROOT_KEY_FILE; default root.key next to the SQLite file, or in .skm for \
            PostgreSQL), which `skm init` creates when none is given.

            Exit status: 0 success, 1 the request was refused, 2 a configuration, storage or input error, 3 a usage error.
            """,
        version: "0.1.0",
        subcommands: [
            InitCommand.self,
            AppkeyCommand.self,
            AccessKeyCommand.self,
            KeyStoreCommand.self,
            KeyCommand.self,
            AuthCommand.self,
            ApprovalCommand.self,
            CertCommand.self,
            SnapshotCommand.self,
            CallCommand.self,
            ServeCommand.self,
            RulesCommand.self,
            AnalyzeCommand.self,
            StatsCommand.self,
            ExplainCommand.self,
            TriageCommand.self,
        ]
    )

    /// Runs the command line with this tool's exit codes: parse and validation errors exit with 3 rather than
    /// argument-parser's 64, and errors print one line naming what was wrong.
    static func main() async {
        let command: any ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            exitForParseError(error)
        }
        if command is ServeCommand { runTasksOnEventLoops() }
        do {
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                var syncCommand = command
                try syncCommand.run()
            }
        } catch let waiting as ChangeAwaitsApproval {
            // The approval workflow holds the change: it is a request now, which is what was asked for.
            let request = waiting.request
            let notice =
                "Waits for approval: change request #\(request.id) asks to \(Table.printable(request.summary)) "
                + "(\(request.kind.displayState)), requested by \(Table.printable(request.requestedBy)). An approver "
                + "decides it: skm approval approve --change \(request.id), or reject."
            let arguments = CommandLine.arguments
            if arguments.contains("--json") {
                printJSON(JSONValue.object(Engine.changeJSON(request)))
            } else if arguments.contains("--quiet") || arguments.contains("-q") {
                // Standard output holds only what --quiet promises (an id), and nothing was made.
                FileHandle.standardError.write(Data((notice + "\n").utf8))
            } else {
                print(notice)
            }
            Foundation.exit(0)
        } catch let failure as CommandFailure {
            if !failure.message.isEmpty { Terminal.error(failure.message) }
            Foundation.exit(failure.exitCode)
        } catch let exit as ExitCode {
            Foundation.exit(exit.rawValue)
        } catch let error as ValidationError {
            exitForParseError(error)
        } catch  where exitCode(for: error) == .success {
            // Help asked for: `skm help <command>` and `--help` come back as errors from the command they name.
            print(fullMessage(for: error))
            Foundation.exit(0)
        } catch {
            Terminal.error(CommandFailure.describe(error))
            Foundation.exit(CommandFailure.exitCode(for: error))
        }
    }

    private static func exitForParseError(_ error: any Error) -> Never {
        // argument-parser's messages start with "Error: "; the line already says "error:".
        var message = fullMessage(for: error)
        if message.hasPrefix("Error: ") { message.removeFirst("Error: ".count) }
        let code = exitCode(for: error)
        if code == .success {
            print(message)
            Foundation.exit(0)
        }
        Terminal.error(message, keepingLineBreaks: true)
        Foundation.exit(3)
    }
}
