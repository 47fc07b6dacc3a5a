import ArgumentParser
import SKMCore

struct CertCACommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ca",
        abstract: "Print the installation's CA certificate (PEM), for clients' trust stores (curl --cacert).")

    @OptionGroup var installation: InstallationOptions

    func run() async throws {
        let engine = try await installation.openEngine()
        print(engine.authority.certificate.pemString)
    }
}
