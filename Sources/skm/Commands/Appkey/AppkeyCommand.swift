import ArgumentParser

struct AppkeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "appkey", abstract: "Create and list appkeys.",
        subcommands: [AppkeyCreateCommand.self, AppkeyListCommand.self])
}
