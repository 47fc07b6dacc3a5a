import ArgumentParser

struct CertCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cert", abstract: "Export issued client certificates.", subcommands: [CertExportCommand.self])
}
