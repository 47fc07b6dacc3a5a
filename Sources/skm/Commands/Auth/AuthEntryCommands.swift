import ArgumentParser
import SKMCore

/// What `auth add-ip` and `auth add-mac` register.
protocol RegisteredKind {
    static var kind: AuthKind { get }
    static var commandName: String { get }
    static var abstract: String { get }
    static var valueHelp: String { get }
}

enum RegisteredAddress: RegisteredKind {
    static let kind = AuthKind.ipv4
    static let commandName = "add-ip"
    static let abstract = "Register an IPv4 address or CIDR (10.0.3.0/24) in a key store."
    static let valueHelp = "The address or CIDR."
}

enum RegisteredMAC: RegisteredKind {
    static let kind = AuthKind.mac
    static let commandName = "add-mac"
    static let abstract = "Register a MAC address (aa:bb:cc:dd:ee:ff) in a key store."
    static let valueHelp = "The MAC address; case and : or - separators do not matter."
}

/// `auth add-ip` and `auth add-mac`.
struct AuthAddCommand<Kind: RegisteredKind>: AsyncParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(commandName: Kind.commandName, abstract: Kind.abstract)
    }

    @OptionGroup var installation: InstallationOptions
    @OptionGroup var appkey: AppkeyOption
    @OptionGroup var output: OutputOptions

    @Option(help: "The key store's id or name.")
    var keystore: String

    @Option(help: "A description.")
    var description: String = ""

    @Argument(help: ArgumentHelp(Kind.valueHelp))
    var value: String

    func run() async throws {
        let engine = try await installation.openEngine()
        let entry = try await engine.addAuthEntry(
            appkey: try await resolveAppkey(appkey.appkey, engine: engine), store: keyStoreReference(keystore),
            kind: Kind.kind, value: value, description: description, actor: commandLineActor)
        try printEntry(entry, json: output.json)
    }
}

/// A step of an entry's deletion: `auth delete`, `auth cancel-deletion`, `auth purge`.
protocol EntryStep {
    static var commandName: String { get }
    static var abstract: String { get }
    static func take(_ engine: Engine, _ target: EntryTarget, appkey: String) async throws -> AuthEntry
}

enum ScheduleEntryDeletion: EntryStep {
    static let commandName = "delete"
    static let abstract = "Schedule an entry for deletion in 7 days."
    static func take(_ engine: Engine, _ target: EntryTarget, appkey: String) async throws -> AuthEntry {
        try await engine.scheduleAuthDeletion(
            appkey: appkey, store: keyStoreReference(target.keystore), kind: target.kind.kind, value: target.value,
            actor: commandLineActor)
    }
}

enum CancelEntryDeletion: EntryStep {
    static let commandName = "cancel-deletion"
    static let abstract = "Return an entry pending deletion to service."
    static func take(_ engine: Engine, _ target: EntryTarget, appkey: String) async throws -> AuthEntry {
        try await engine.cancelAuthDeletion(
            appkey: appkey, store: keyStoreReference(target.keystore), kind: target.kind.kind, value: target.value,
            actor: commandLineActor)
    }
}

enum PurgeEntry: EntryStep {
    static let commandName = "purge"
    static let abstract = "Delete an entry pending deletion now (a tombstone remains)."
    static func take(_ engine: Engine, _ target: EntryTarget, appkey: String) async throws -> AuthEntry {
        try await engine.deleteAuthEntry(
            appkey: appkey, store: keyStoreReference(target.keystore), kind: target.kind.kind, value: target.value,
            actor: commandLineActor)
    }
}

struct AuthStepCommand<Step: EntryStep>: AsyncParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(commandName: Step.commandName, abstract: Step.abstract)
    }

    @OptionGroup var installation: InstallationOptions
    @OptionGroup var target: EntryTarget
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let engine = try await installation.openEngine()
        let appkey = try await resolveAppkey(target.appkey.appkey, engine: engine)
        try printEntry(try await Step.take(engine, target, appkey: appkey), json: output.json)
    }
}
