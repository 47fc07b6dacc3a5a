import ArgumentParser
import SKMCore
import SKMPrimitives

struct AuthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "auth",
        abstract: "Register the IPv4 addresses, MAC addresses and certificates a key store accepts.",
        subcommands: [
            AuthAddCommand<RegisteredAddress>.self, AuthAddCommand<RegisteredMAC>.self, AuthImportCommand.self,
            AuthIssueCertCommand.self,
            AuthListCommand.self, AuthStepCommand<ScheduleEntryDeletion>.self,
            AuthStepCommand<CancelEntryDeletion>.self, AuthStepCommand<PurgeEntry>.self,
        ])
}

enum AuthKindArgument: String, ExpressibleByArgument, CaseIterable {
    case ip
    case mac
    case cert

    var kind: AuthKind {
        switch self {
        case .ip: return .ipv4
        case .mac: return .mac
        case .cert: return .certificate
        }
    }
}

/// Options of commands that name one registered entry.
struct EntryTarget: ParsableArguments {
    @OptionGroup var appkey: AppkeyOption

    @Option(help: "The key store's id or name.")
    var keystore: String

    @Option(help: "ip, mac or cert.")
    var kind: AuthKindArgument

    @Argument(help: "The address, MAC address or certificate name.")
    var value: String
}

func printEntry(_ entry: AuthEntry, json: Bool) throws {
    if json {
        try printJSON(entry)
        return
    }
    var details = Details()
    details.add("id", String(entry.id))
    details.add("kind", entry.kind.rawValue)
    details.add(entry.kind == .certificate ? "name" : "value", entry.value)
    details.add("status", entry.status.rawValue)
    details.add("key store", String(entry.keyStoreId))
    if let certificate = entry.certificate {
        details.add("subject", certificate.subject)
        details.add("serial", certificate.serialNumber)
        details.add("SHA-256", certificate.sha256)
        details.add("valid", "\(display(certificate.notBefore)) → \(display(certificate.notAfter))")
    }
    details.add("deletion", entry.deletionAt.map(Timestamp.rfc3339))
    details.add("description", entry.description)
    details.print()
}
