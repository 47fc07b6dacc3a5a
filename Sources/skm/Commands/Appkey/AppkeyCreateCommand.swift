import ArgumentParser
import SKMCore

struct AppkeyCreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create an appkey and its first User Access Key.",
        discussion: "The User Access Key's secret is shown once and stored only as a salted digest.")

    @OptionGroup var installation: InstallationOptions
    @OptionGroup var output: OutputOptions

    @Option(help: "A name for the project.")
    var name: String

    @Flag(name: .shortAndLong, help: "Print only the new appkey.")
    var quiet = false

    func run() async throws {
        let engine = try await installation.openEngine()
        let (appkey, access) = try await engine.createAppkey(name: name, actor: commandLineActor)
        if quiet {
            print(appkey.id)
        } else if output.json {
            printJSON([
                "appkey": .string(appkey.id), "name": .string(appkey.name),
                "userAccessKeyId": .string(access.accessKey.id), "userAccessKeySecret": .string(access.secret),
            ])
        } else {
            var details = Details()
            details.add("appkey", appkey.id)
            details.add("name", appkey.name)
            details.add("User Access Key ID", access.accessKey.id)
            details.add("Secret Access Key", access.secret)
            details.print()
            Terminal.note("The secret access key is shown only now; keep it somewhere safe.")
        }
    }
}
