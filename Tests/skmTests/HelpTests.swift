import Foundation
import SKMCore
import Testing

/// Help works for every command and subcommand of the real binary, in each of the three ways people ask for it, and
/// shows the command's usage and every one of its options.
@Suite struct HelpTests {
    struct Command {
        var path: [String]
        var options: [String]
    }

    /// The command tree, as the binary describes itself.
    static func commands(_ cli: CommandLine) async throws -> [Command] {
        let dump = try await cli.run(["--experimental-dump-help"])
        #expect(dump.status == 0)
        let tree = try JSONParser().parse(dump.output)
        var found: [Command] = []
        func walk(_ command: JSONValue, path: [String]) {
            var options: [String] = []
            for argument in command["arguments"]?.arrayValue ?? [] {
                guard argument["shouldDisplay"]?.boolValue != false,
                    let name = argument["names"]?.arrayValue?.first(where: { $0["kind"]?.stringValue == "long" })
                        ?? argument["names"]?.arrayValue?.first,
                    let text = name["name"]?.stringValue
                else { continue }
                options.append((name["kind"]?.stringValue == "short" ? "-" : "--") + text)
            }
            found.append(Command(path: path, options: options))
            for sub in command["subcommands"]?.arrayValue ?? [] {
                guard let name = sub["commandName"]?.stringValue, name != "help" else { continue }
                walk(sub, path: path + [name])
            }
        }
        walk(try #require(tree["command"]), path: [])
        return found
    }

    @Test func everyCommandHasWorkingHelp() async throws {
        let cli = try CommandLine.fresh()
        let commands = try await Self.commands(cli)
        #expect(commands.count > 40, "the command tree has \(commands.count) commands")
        for command in commands {
            let usage = "USAGE: " + (["skm"] + command.path).joined(separator: " ")
            var asked = [command.path + ["--help"], command.path + ["-h"]]
            if !command.path.isEmpty { asked.append(["help"] + command.path) }
            for arguments in asked {
                let result = try await cli.run(arguments)
                let shown = "skm " + arguments.joined(separator: " ")
                #expect(result.status == 0, "\(shown) exits \(result.status): \(result.error)")
                #expect(result.error.isEmpty, "\(shown) writes to standard error: \(result.error)")
                #expect(result.output.contains(usage), "\(shown) shows no '\(usage)'")
                for option in command.options {
                    #expect(result.output.contains(option), "\(shown) does not show \(option)")
                }
                // The prose above the usage is wrapped by the parser: a run of spaces inside a line of it is a
                // source line's indentation that a broken line continuation carried into the text.
                let prose = result.output.components(separatedBy: "USAGE:")[0]
                for line in prose.split(separator: "\n") where line.drop(while: { $0 == " " }).contains("  ") {
                    Issue.record("\(shown) has a run of spaces inside its text: \(line)")
                }
            }
        }
    }

    @Test func skmAloneShowsItsCommands() async throws {
        let result = try await CommandLine.fresh().run([])
        #expect(result.status == 0)
        #expect(result.output.contains("SUBCOMMANDS:") && result.output.contains("access-key"))
        #expect(result.error.isEmpty)
    }

    @Test func defaultsAreShownInHelp() async throws {
        let result = try await CommandLine.fresh().run(["keystore", "create", "--help"])
        for option in ["--ip4-auth", "--mac-auth", "--cert-auth"] {
            let line = result.output.split(separator: "\n").first { $0.contains(option) }.map(String.init) ?? ""
            #expect(line.contains("(default:") || result.output.contains("\(option) <Y|N>"), "\(option)")
        }
        #expect(result.output.contains("(default: N)"))
        let update = try await CommandLine.fresh().run(["keystore", "update", "--help"])
        #expect(update.output.contains("keeps its current value") || update.output.contains("unchanged"))
    }
}
