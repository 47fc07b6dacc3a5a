import ArgumentParser
import Foundation
import SKMCore
import SKMPrimitives

struct KeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "key", abstract: "Manage secrets, symmetric and asymmetric keys.",
        subcommands: [
            KeyCreateCommand.self, KeyImportCommand.self, KeyListCommand.self, KeyShowCommand.self,
            KeyRotateCommand.self,
            KeyStepCommand<ScheduleKeyDeletion>.self, KeyStepCommand<CancelKeyDeletion>.self,
            KeyStepCommand<PurgeKey>.self, KeyVersionCommand.self,
        ])
}

enum KeyTypeArgument: String, ExpressibleByArgument, CaseIterable {
    case secret
    case symmetric
    case asymmetric

    var type: KeyType {
        switch self {
        case .secret: return .secret
        case .symmetric: return .symmetric
        case .asymmetric: return .asymmetric
        }
    }
}

/// Options of commands that act on one key.
struct KeyTarget: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The appkey (default: the key's own).", valueName: "appkey"))
    var appkey: String?

    @Argument(help: "The key id (32 hexadecimal digits).")
    var key: String
}

func printKey(_ key: ManagedKey, versions: [KeyVersion], json: Bool) throws {
    if json {
        struct Shown: Encodable {
            let key: ManagedKey
            let versions: [KeyVersion]
        }
        try printJSON(Shown(key: key, versions: versions))
        return
    }
    var details = Details()
    details.add("id", key.id)
    details.add("name", key.name)
    details.add("type", key.type.rawValue)
    details.add("status", "\(key.status.rawValue) (\(key.status.displayName))")
    details.add("key store", String(key.keyStoreId))
    if key.type.isVersioned {
        details.add("primary version", versions.primary.map { String($0.number) })
        details.add("origin", key.imported ? "imported (never rotates)" : "generated")
        details.add("rotation period", key.autoRotationPeriod == 0 ? "off" : "\(key.autoRotationPeriod) days")
        details.add("next rotation", key.nextRotationAt.map(Timestamp.rfc3339))
    }
    details.add("deletion", key.deletionAt.map(Timestamp.rfc3339))
    details.add("description", key.description)
    details.add("created", "\(display(key.created.at)) by \(key.created.user)")
    details.add("last change", "\(display(key.lastChange.at)) by \(key.lastChange.user)")
    details.add("last used", key.lastAccessAt.map { display($0) } ?? "never (written once a minute)")
    details.print()
    if key.type.isVersioned {
        print("")
        printVersions(versions)
    }
}

func printVersions(_ versions: [KeyVersion]) {
    var table = Table("VERSION", "STATUS", "CREATED", "DELETION")
    for version in versions {
        table.add(
            String(version.number), version.status.rawValue, display(version.created.at), display(version.deletionAt))
    }
    table.print()
}
