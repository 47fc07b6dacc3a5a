import ArgumentParser
import Foundation
import SKMCore
import SKMPrimitives

struct AccessKeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "access-key",
        abstract: "Add, list, revoke and rotate the User Access Keys of an appkey.",
        discussion: """
            A User Access Key (an id and a secret) authenticates management calls and the token endpoint. Revoking \
            one stops its secret and every bearer token issued from it at once; rotating one issues a new key and \
            revokes the old one in the same step.
            """,
        subcommands: [
            AccessKeyListCommand.self, AccessKeyAddCommand.self, AccessKeyRevokeCommand.self,
            AccessKeyRotateCommand.self,
        ])
}

struct AccessKeyListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List an appkey's User Access Keys, revoked ones included.")

    @OptionGroup var installation: InstallationOptions
    @OptionGroup var appkey: AppkeyOption
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let engine = try await installation.openEngine()
        let keys = try await engine.userAccessKeys(appkey: try await resolveAppkey(appkey.appkey, engine: engine))
        if output.json {
            printJSON(.array(keys.map { .object(accessKeyJSON($0)) }))
            return
        }
        var table = Table("USER ACCESS KEY", "STATUS", "CREATED", "BY")
        for key in keys {
            table.add(key.id, key.status.displayName, display(key.created.at), key.created.user)
        }
        table.print()
    }
}

struct AccessKeyAddCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Add a User Access Key to an appkey.",
        discussion: "Its secret is shown once and stored only as a salted digest.")

    @OptionGroup var installation: InstallationOptions
    @OptionGroup var appkey: AppkeyOption
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let engine = try await installation.openEngine()
        let issued = try await engine.createUserAccessKey(
            appkey: try await resolveAppkey(appkey.appkey, engine: engine), actor: commandLineActor)
        printIssued(issued, replacing: nil, json: output.json)
    }
}

struct AccessKeyRevokeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke",
        abstract: "Revoke a User Access Key: its secret and its bearer tokens stop working at once.",
        discussion:
            "A revoked key stays revoked. Revoking an appkey's last key leaves only this command line to add one.")

    @OptionGroup var installation: InstallationOptions
    @OptionGroup var appkey: AppkeyOption
    @OptionGroup var output: OutputOptions

    @Argument(help: "The User Access Key's id.")
    var id: String

    func run() async throws {
        let engine = try await installation.openEngine()
        let key = try await engine.revokeUserAccessKey(
            appkey: try await resolveAppkey(appkey.appkey, engine: engine), id: id, actor: commandLineActor)
        if output.json {
            printJSON(.object(accessKeyJSON(key)))
        } else {
            var details = Details()
            details.add("User Access Key ID", key.id)
            details.add("status", key.status.displayName)
            details.print()
        }
    }
}

struct AccessKeyRotateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate",
        abstract: "Replace a User Access Key with a new one and revoke the old one, in one step.",
        discussion: "The new secret is shown once. Tokens issued from the old key stop working at once.")

    @OptionGroup var installation: InstallationOptions
    @OptionGroup var appkey: AppkeyOption
    @OptionGroup var output: OutputOptions

    @Argument(help: "The id of the User Access Key to replace.")
    var id: String

    func run() async throws {
        let engine = try await installation.openEngine()
        let issued = try await engine.rotateUserAccessKey(
            appkey: try await resolveAppkey(appkey.appkey, engine: engine), id: id, actor: commandLineActor)
        printIssued(issued, replacing: id, json: output.json)
    }
}

private func accessKeyJSON(_ key: UserAccessKey) -> JSONObject {
    [
        "userAccessKeyId": .string(key.id), "appkey": .string(key.appkey), "status": .string(key.status.rawValue),
        "created": .string(Timestamp.rfc3339(key.created.at)), "createdBy": .string(key.created.user),
    ]
}

private func printIssued(_ issued: IssuedAccessKey, replacing old: String?, json: Bool) {
    if json {
        var body = accessKeyJSON(issued.accessKey)
        body["secretAccessKey"] = .string(issued.secret)
        if let old { body["replacedUserAccessKeyId"] = .string(old) }
        printJSON(.object(body))
        return
    }
    var details = Details()
    details.add("User Access Key ID", issued.accessKey.id)
    details.add("Secret Access Key", issued.secret)
    if let old { details.add("revoked", old) }
    details.print()
    Terminal.note("The secret access key is shown only now; keep it somewhere safe.")
}
