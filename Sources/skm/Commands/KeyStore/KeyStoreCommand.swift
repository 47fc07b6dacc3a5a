import ArgumentParser
import SKMCore

struct KeyStoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keystore", abstract: "Manage key stores and their client-authentication settings.",
        subcommands: [
            KeyStoreCreateCommand.self, KeyStoreListCommand.self, KeyStoreShowCommand.self, KeyStoreUpdateCommand.self,
            KeyStoreDeleteCommand.self,
        ])
}

/// The settings of `keystore create`: every factor off unless named, and at least one must be.
struct KeyStoreSettingsOptions: ParsableArguments {
    @Option(help: "The key store's name (unique in the appkey).")
    var name: String

    @Option(help: "A description.")
    var description: String = ""

    @Option(
        name: .customLong("ip4-auth"),
        help: ArgumentHelp("Require a registered IPv4 address or CIDR.", valueName: "Y|N"))
    var ip4Auth: YesNo = .no

    @Option(
        name: .customLong("mac-auth"), help: ArgumentHelp("Require a registered MAC address header.", valueName: "Y|N"))
    var macAuth: YesNo = .no

    @Option(
        name: .customLong("cert-auth"),
        help: ArgumentHelp("Require a client certificate from this CA.", valueName: "Y|N"))
    var certificateAuth: YesNo = .no

    @Option(
        name: .customLong("auth-mode"),
        help: ArgumentHelp("AND: every enabled factor; OR: any one.", valueName: "AND|OR"))
    var authMode: AuthModeArgument = .and

    func validate() throws {
        guard ip4Auth.flag || macAuth.flag || certificateAuth.flag else {
            throw ValidationError("turn on at least one factor: --ip4-auth Y, --mac-auth Y or --cert-auth Y")
        }
    }

    var settings: KeyStoreSettings {
        KeyStoreSettings(
            name: name, description: description, ip4AuthUse: ip4Auth.flag, macAuthUse: macAuth.flag,
            certificateAuthUse: certificateAuth.flag, authMode: authMode.mode)
    }
}

/// The changes of `keystore update`: only what is named changes; the rest keeps its current value.
struct KeyStoreChangeOptions: ParsableArguments {
    @Option(help: "A new name (unique in the appkey).")
    var name: String?

    @Option(help: "A new description.")
    var description: String?

    @Option(
        name: .customLong("ip4-auth"),
        help: ArgumentHelp("Turn IPv4 authentication on or off.", valueName: "Y|N"))
    var ip4Auth: YesNo?

    @Option(name: .customLong("mac-auth"), help: ArgumentHelp("Turn MAC authentication on or off.", valueName: "Y|N"))
    var macAuth: YesNo?

    @Option(
        name: .customLong("cert-auth"),
        help: ArgumentHelp("Turn certificate authentication on or off.", valueName: "Y|N"))
    var certificateAuth: YesNo?

    @Option(
        name: .customLong("auth-mode"),
        help: ArgumentHelp("AND: every enabled factor; OR: any one.", valueName: "AND|OR"))
    var authMode: AuthModeArgument?

    func validate() throws {
        guard
            name != nil || description != nil || ip4Auth != nil || macAuth != nil || certificateAuth != nil
                || authMode != nil
        else {
            throw ValidationError(
                "name what to change: --name, --description, --ip4-auth, --mac-auth, --cert-auth or --auth-mode")
        }
    }

    /// `store`'s settings with the named changes.
    func applied(to store: KeyStore) -> KeyStoreSettings {
        KeyStoreSettings(
            name: name ?? store.name, description: description ?? store.description,
            ip4AuthUse: ip4Auth?.flag ?? store.ip4AuthUse, macAuthUse: macAuth?.flag ?? store.macAuthUse,
            certificateAuthUse: certificateAuth?.flag ?? store.certificateAuthUse,
            authMode: authMode?.mode ?? store.authMode)
    }
}

enum YesNo: String, ExpressibleByArgument {
    case yes = "Y"
    case no = "N"

    init?(argument: String) {
        switch argument.uppercased() {
        case "Y", "YES", "TRUE": self = .yes
        case "N", "NO", "FALSE": self = .no
        default: return nil
        }
    }

    var flag: Bool { self == .yes }
}

enum AuthModeArgument: String, ExpressibleByArgument {
    case and = "AND"
    case or = "OR"

    init?(argument: String) {
        self.init(rawValue: argument.uppercased())
    }

    var mode: AuthMode { self == .and ? .and : .or }
}

func printKeyStore(_ store: KeyStore, json: Bool) throws {
    if json {
        try printJSON(store)
        return
    }
    var details = Details()
    details.add("id", String(store.id))
    details.add("name", store.name)
    details.add("description", store.description)
    details.add("IPv4 auth", yesNo(store.ip4AuthUse))
    details.add("MAC auth", yesNo(store.macAuthUse))
    details.add("certificate auth", yesNo(store.certificateAuthUse))
    details.add("auth mode", store.authMode.rawValue)
    details.add("status", store.status.rawValue)
    details.add("created", "\(display(store.created.at)) by \(store.created.user)")
    details.add("last change", "\(display(store.lastChange.at)) by \(store.lastChange.user)")
    details.print()
}
