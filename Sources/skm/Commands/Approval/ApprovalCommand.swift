import ArgumentParser
import Foundation
import SKMCore

struct ApprovalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "approval",
        abstract: "The approval workflow: registrations and cancelled deletions that wait for an approver.",
        discussion: """
            While the workflow is on for an appkey, registering an IPv4 address, a MAC address or a certificate \
            makes its entry Scheduled to Register, and cancelling an entry's deletion makes it Scheduled to Cancel \
            Deletion: neither is used for client authentication until an approver accepts it. Approvers are named \
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
        if output.json {
            struct Shown: Encodable {
                let required: Bool
                let approvers: [String]
                let waiting: [AuthEntry]
            }
            try printJSON(Shown(required: settings.required, approvers: settings.approvers, waiting: waiting))
            return
        }
        var details = Details()
        details.add("approval", settings.required ? "on: registrations and cancelled deletions wait" : "off")
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
    }
}

struct ApprovalEnableCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enable", abstract: "Turn the workflow on: changes to client authentication wait for approval.")

    @OptionGroup var installation: InstallationOptions
    @OptionGroup var appkey: AppkeyOption

    @Option(help: ArgumentHelp("Make ACTOR an approver (repeatable); one is needed.", valueName: "actor"))
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
    static let abstract = "Approve the request waiting on an entry: it comes into service."
    static let approves = true
}

enum Reject: ApprovalDecision {
    static let name = "reject"
    static let abstract =
        "Reject the request waiting on an entry: a registration is deleted, a cancelled deletion goes ahead as scheduled."
    static let approves = false
}

struct ApprovalDecideCommand<Decision: ApprovalDecision>: AsyncParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(commandName: Decision.name, abstract: Decision.abstract)
    }

    @OptionGroup var installation: InstallationOptions
    @OptionGroup var appkey: AppkeyOption
    @OptionGroup var output: OutputOptions

    @Argument(help: "The entry's id (skm approval list).")
    var entry: Int

    func run() async throws {
        let engine = try await installation.openEngine()
        let appkey = try await resolveAppkey(self.appkey.appkey, engine: engine)
        let decided = try await approvalStep {
            try await engine.decide(appkey: appkey, entryId: entry, approve: Decision.approves, actor: commandLineActor)
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
