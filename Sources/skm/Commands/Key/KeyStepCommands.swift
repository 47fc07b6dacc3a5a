import ArgumentParser
import SKMCore

/// A step of a key's deletion: `key delete`, `key cancel-deletion`, `key purge`.
protocol KeyStep {
    static var commandName: String { get }
    static var abstract: String { get }
    static func take(_ engine: Engine, appkey: String, keyId: String) async throws -> ManagedKey
}

enum ScheduleKeyDeletion: KeyStep {
    static let commandName = "delete"
    static let abstract = "Schedule a key for deletion in 7 days (cancel with cancel-deletion)."
    static func take(_ engine: Engine, appkey: String, keyId: String) async throws -> ManagedKey {
        try await engine.scheduleKeyDeletion(appkey: appkey, keyId: keyId, actor: commandLineActor)
    }
}

enum CancelKeyDeletion: KeyStep {
    static let commandName = "cancel-deletion"
    static let abstract = "Return a key pending deletion to service."
    static func take(_ engine: Engine, appkey: String, keyId: String) async throws -> ManagedKey {
        try await engine.cancelKeyDeletion(appkey: appkey, keyId: keyId, actor: commandLineActor)
    }
}

enum PurgeKey: KeyStep {
    static let commandName = "purge"
    static let abstract = "Delete a key pending deletion now, destroying its material (a tombstone remains)."
    static func take(_ engine: Engine, appkey: String, keyId: String) async throws -> ManagedKey {
        try await engine.deleteKey(appkey: appkey, keyId: keyId, actor: commandLineActor)
    }
}

struct KeyStepCommand<Step: KeyStep>: AsyncParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(commandName: Step.commandName, abstract: Step.abstract)
    }

    @OptionGroup var installation: InstallationOptions
    @OptionGroup var target: KeyTarget
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let engine = try await installation.openEngine()
        let appkey = try await appkeyOwning(key: target.key, given: target.appkey, engine: engine)
        let key = try await Step.take(engine, appkey: appkey, keyId: target.key)
        try printKey(key, versions: try await engine.storage.versions(keyId: key.id), json: output.json)
    }
}

/// A step of one version's deletion: `key version delete`, `cancel-deletion`, `purge`.
protocol VersionStep {
    static var commandName: String { get }
    static var abstract: String { get }
    static func take(_ engine: Engine, appkey: String, _ target: VersionTarget) async throws -> KeyVersion
}

enum ScheduleVersionDeletion: VersionStep {
    static let commandName = "delete"
    static let abstract = "Schedule one version for deletion in 7 days (not the primary version)."
    static func take(_ engine: Engine, appkey: String, _ target: VersionTarget) async throws -> KeyVersion {
        try await engine.scheduleVersionDeletion(
            appkey: appkey, keyId: target.key, version: target.version, actor: commandLineActor)
    }
}

enum CancelVersionDeletion: VersionStep {
    static let commandName = "cancel-deletion"
    static let abstract = "Return a version pending deletion to service."
    static func take(_ engine: Engine, appkey: String, _ target: VersionTarget) async throws -> KeyVersion {
        try await engine.cancelVersionDeletion(
            appkey: appkey, keyId: target.key, version: target.version, actor: commandLineActor)
    }
}

enum PurgeVersion: VersionStep {
    static let commandName = "purge"
    static let abstract = "Delete a version pending deletion now, destroying its material."
    static func take(_ engine: Engine, appkey: String, _ target: VersionTarget) async throws -> KeyVersion {
        try await engine.deleteVersion(
            appkey: appkey, keyId: target.key, version: target.version, actor: commandLineActor)
    }
}

struct KeyVersionStepCommand<Step: VersionStep>: AsyncParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(commandName: Step.commandName, abstract: Step.abstract)
    }

    @OptionGroup var installation: InstallationOptions
    @OptionGroup var target: VersionTarget
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let engine = try await installation.openEngine()
        let appkey = try await appkeyOwning(key: target.key, given: target.appkey, engine: engine)
        try printVersion(try await Step.take(engine, appkey: appkey, target), json: output.json)
    }
}
