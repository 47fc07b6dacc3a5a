import ArgumentParser
import SKMCore
import SKMPrimitives

struct AppkeyListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List appkeys and their User Access Key ids.")

    @OptionGroup var installation: InstallationOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let engine = try await installation.openEngine()
        let appkeys = try await engine.storage.appkeys()
        var accessKeys: [String: [UserAccessKey]] = [:]
        for appkey in appkeys {
            accessKeys[appkey.id] = try await engine.storage.userAccessKeys(appkey: appkey.id)
        }
        if output.json {
            printJSON(
                .array(
                    appkeys.map { appkey in
                        [
                            "appkey": .string(appkey.id), "name": .string(appkey.name),
                            "created": .string(Timestamp.rfc3339(appkey.created.at)),
                            "userAccessKeyIds": .array((accessKeys[appkey.id] ?? []).map { .string($0.id) }),
                        ]
                    }))
            return
        }
        var table = Table("APPKEY", "NAME", "CREATED", "USER ACCESS KEYS")
        for appkey in appkeys {
            table.add(
                appkey.id, appkey.name, display(appkey.created.at),
                (accessKeys[appkey.id] ?? []).map(\.id).joined(separator: ", "))
        }
        table.print()
    }
}
