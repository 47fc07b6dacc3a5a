import ArgumentParser

struct CertCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cert", abstract: "Export issued client certificates and the CA certificate.",
        subcommands: [CertExportCommand.self, CertCACommand.self])
}
