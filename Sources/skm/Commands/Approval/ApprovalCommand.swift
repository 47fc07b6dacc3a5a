import ArgumentParser
import Foundation
import SKMCore

struct ApprovalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "approval",
        abstract: "The approval workflow: changes to key stores, keys and client authentication wait for an approver.",
        discussion: """
            While the workflow is on for an appkey, registering an IPv4 address, a MAC address or a certificate \
            makes its entry Scheduled to Register, and cancelling an entry's deletion makes it Scheduled to Cancel \
            Deletion: neither is used for client authentication until an approver accepts it. Creating, changing or \
            deleting a key store, creating, importing or deleting a key, scheduling or cancelling the deletion of a \
            key or a key version become change requests, numbered per appkey: nothing changes until an approver \
            accepts one, and the change is then made by the approver (or, when it can no longer be made, the request \
            fails with the reason). Rotation and a secret's new value apply at once. Approvers are named \
            actors (cli:USER for this command line, uak:ID for a User Access Key of the appkey in service); everyone \
            else is a member. This command line acts as cli:$USER (USER=mlee skm approval approve 7 acts as \
            cli:mlee). No one approves or rejects a request of their own, and while the workflow is on only an \
            approver turns it off or changes who approves (unless no approver is left: a revoked User Access Key \
            stops being one, a rotated one passes its role on). Every step is an audit event.
            """,
        subcommands: [
            ApprovalShowCommand.self, ApprovalEnableCommand.self, ApprovalDisableCommand.self,
            ApprovalRoleCommand.self, ApprovalDecideCommand<Approve>.self, ApprovalDecideCommand<Reject>.self,
        ])
}

/// Runs an engine call of the workflow, its refusals said as refusals (exit 1).
func approvalStep<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as ApprovalError {
        throw CommandFailure.refused(error.reason)
    }
}

struct ApprovalShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "Show the workflow's setting, its approvers and the requests that wait.")

    @OptionGroup var installation: InstallationOptions
    @OptionGroup var appkey: AppkeyOption
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let engine = try await installation.openEngine()
        let appkey = try await resolveAppkey(self.appkey.appkey, engine: engine)
        let settings = try await engine.approvalSettings(appkey: appkey)
        let waiting = try await engine.pendingApprovals(appkey: appkey)
        let changes = try await engine.pendingChanges(appkey: appkey)
        if output.json {
            // The API's shapes (GET …/approvals), with the workflow's setting.
            let names = Dictionary(
                try await engine.storage.keyStores(appkey: appkey).map { ($0.id, $0.name) },
                uniquingKeysWith: { first, _ in first })
            printJSON([
                "required": .bool(settings.required), "approvers": .array(settings.approvers.map(JSONValue.string)),
                "approvalList": .array(
                    waiting.map { .object(Engine.approvalJSON($0, storeName: names[$0.keyStoreId])) }),
                "changeList": .array(changes.map { .object(Engine.changeJSON($0)) }),
            ])
            return
        }
        var details = Details()
        details.add("approval", settings.required ? "on: changes wait for an approver" : "off")
        details.add("approvers", settings.approvers.isEmpty ? "none" : settings.approvers.joined(separator: ", "))
        details.print()
        print("")
        var table = Table("ENTRY", "KIND", "VALUE", "KEY STORE", "WAITING", "REQUESTED BY", "AT")
        for entry in waiting {
            table.add(
                String(entry.id), entry.kind.rawValue, entry.value, String(entry.keyStoreId), entry.status.displayName,
                entry.lastChange.user, display(entry.lastChange.at))
        }
        table.print()
        guard !changes.isEmpty else { return }
        print("")
        var requests = Table("CHANGE", "ASKS TO", "WAITING", "REQUESTED BY", "AT")
        for change in changes {
            var asks = change.summary
            if let settings = change.storeSettings {
                asks +=
                    " → name '\(settings.name)', IPv4 \(settings.ip4AuthUse ? "Y" : "N"), MAC "
                    + "\(settings.macAuthUse ? "Y" : "N"), certificate \(settings.certificateAuthUse ? "Y" : "N"), "
                    + settings.authMode.rawValue
            }
            requests.add(
                String(change.id), asks, change.kind.displayState, change.requestedBy, display(change.requestedAt))
        }
        requests.print()
    }
}

struct ApprovalEnableCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enable",
        abstract: "Turn the workflow on: changes to key stores, keys and client authentication wait for an approver.")

    @OptionGroup var installation: InstallationOptions
    @OptionGroup var appkey: AppkeyOption

    @Option(
        help: ArgumentHelp(
            "Make ACTOR an approver (repeatable); one is needed unless the appkey has one already.",
            valueName: "actor"))
    var approver: [String] = []

    func run() async throws {
        let engine = try await installation.openEngine()
        let appkey = try await resolveAppkey(self.appkey.appkey, engine: engine)
        let settings = try await approvalStep {
            try await engine.setApprovalRequired(appkey: appkey, true, approvers: approver, actor: commandLineActor)
        }
        print("Approval on for appkey \(appkey); approvers: \(settings.approvers.joined(separator: ", ")).")
    }
}

struct ApprovalDisableCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "disable",
        abstract: "Turn the workflow off: new changes apply at once; requests already waiting still wait.")

    @OptionGroup var installation: InstallationOptions
    @OptionGroup var appkey: AppkeyOption

    func run() async throws {
        let engine = try await installation.openEngine()
        let appkey = try await resolveAppkey(self.appkey.appkey, engine: engine)
        _ = try await approvalStep {
            try await engine.setApprovalRequired(appkey: appkey, false, actor: commandLineActor)
        }
        print("Approval off for appkey \(appkey).")
    }
}

struct ApprovalRoleCommand: AsyncParsableCommand {
    enum Role: String, ExpressibleByArgument, CaseIterable {
        case approver, member
    }

    static let configuration = CommandConfiguration(
        commandName: "role", abstract: "Make an actor an approver, or a member (who requests but cannot approve).")

    @OptionGroup var installation: InstallationOptions
    @OptionGroup var appkey: AppkeyOption

    @Argument(help: "The actor: cli:USER or uak:ID.")
    var actor: String

    @Argument(help: "The role to give.")
    var role: Role

    func run() async throws {
        let engine = try await installation.openEngine()
        let appkey = try await resolveAppkey(self.appkey.appkey, engine: engine)
        let settings = try await approvalStep {
            try await engine.setApprover(
                appkey: appkey, member: actor, approver: role == .approver, actor: commandLineActor)
        }
        print(
            "Approvers of appkey \(appkey): \(settings.approvers.isEmpty ? "none" : settings.approvers.joined(separator: ", "))."
        )
    }
}

protocol ApprovalDecision {
    static var name: String { get }
    static var abstract: String { get }
    static var approves: Bool { get }
}

enum Approve: ApprovalDecision {
    static let name = "approve"
    static let abstract =
        "Approve the request waiting on an entry (it comes into service), or a change request (--change N: the change is made)."
    static let approves = true
}

enum Reject: ApprovalDecision {
    static let name = "reject"
    static let abstract =
        "Reject the request waiting on an entry (a registration is deleted, a cancelled deletion goes ahead as scheduled), or a change request (--change N: nothing changes)."
    static let approves = false
}

struct ApprovalDecideCommand<Decision: ApprovalDecision>: AsyncParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(commandName: Decision.name, abstract: Decision.abstract)
    }

    @OptionGroup var installation: InstallationOptions
    @OptionGroup var appkey: AppkeyOption
    @OptionGroup var output: OutputOptions

    @Argument(help: "The id of the entry whose registration or cancelled deletion waits (skm approval list).")
    var entry: Int?

    @Option(
        help: ArgumentHelp(
            "The number of the change request to decide instead (a key store, key or version change).",
            valueName: "number"))
    var change: Int?

    func validate() throws {
        guard (entry == nil) != (change == nil) else {
            throw ValidationError("name an entry's id, or a change request's number with --change N, not both")
        }
    }

    func run() async throws {
        let engine = try await installation.openEngine()
        let appkey = try await resolveAppkey(self.appkey.appkey, engine: engine)
        if let change {
            let decision = try await approvalStep {
                try await engine.decideChange(
                    appkey: appkey, id: change, approve: Decision.approves, actor: commandLineActor)
            }
            if output.json {
                printJSON(JSONValue.object(Engine.changeDecisionJSON(decision)))
                return
            }
            let asked = Table.printable(decision.request.summary)
            switch decision.status {
            case .approved, .pendingApproval:
                var made = ""
                if let key = decision.key { made = " Key \(key.id) is \(key.status.displayName)." }
                if let store = decision.keyStore {
                    made = " Key store #\(store.id) ('\(Table.printable(store.name))') is \(store.status.rawValue)."
                }
                if let version = decision.version {
                    made = " Version \(version.number) is \(version.status.displayName)."
                }
                print("Change request #\(decision.request.id) approved: \(asked).\(made)")
            case .rejected:
                print("Change request #\(decision.request.id) rejected: nothing changed (it asked to \(asked)).")
            case .failed:
                throw CommandFailure.refused(
                    "change request #\(decision.request.id) was approved but could no longer be made (\(asked)): "
                        + Table.printable(decision.reason ?? ""))
            }
            return
        }
        let decided = try await approvalStep {
            try await engine.decide(
                appkey: appkey, entryId: entry ?? 0, approve: Decision.approves, actor: commandLineActor)
        }
        if output.json {
            try printJSON(decided)
        } else {
            print(
                "Entry #\(decided.id) (\(decided.kind.rawValue) \(Table.printable(decided.value))) is now \(decided.status.displayName)."
            )
        }
    }
}
