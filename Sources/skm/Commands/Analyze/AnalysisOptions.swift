import ArgumentParser
import Foundation
import SKMAnalysis
import SKMCore
import SKMPrimitives
import SKMRules
import X509

/// What every analysis command needs: the key manager's state, the rules, and what a capture could not see.
struct AnalysisOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("A state snapshot (skm snapshot export or fetch).", valueName: "file"))
    var state: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Read the state from this SQLite database or PostgreSQL URL instead, without changing it (no root key "
                + "needed; a PostgreSQL password from SKM_DB_PASSWORD or SKM_DB_PASSWORD_FILE).", valueName: "path|url")
    )
    var db: String?

    @Option(
        name: .long, help: ArgumentHelp("Rule files or directory (default: Rules, or SKM_RULES).", valueName: "path"))
    var rules: [String] = []

    @Option(
        name: .long,
        help: ArgumentHelp(
            "For captures (HAR, curl, access logs): the client address the key manager saw.", valueName: "ipv4"))
    var clientIP: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "For captures: the client certificate (PEM) the client presented, or 'none' when it presented none.",
            valueName: "file|none"))
    var clientCert: String?

    @Flag(name: .long, help: "Show appkeys and User Access Key ids in full (they are masked by default).")
    var noRedact = false

    func validate() throws {
        guard (state == nil) != (db == nil) else {
            throw ValidationError("give the key manager's state with exactly one of --state FILE or --db PATH|URL")
        }
        if let clientIP, IPv4Address(clientIP) == nil {
            throw ValidationError("--client-ip '\(clientIP)' is not an IPv4 address")
        }
    }

    /// The snapshot from --state, or exported from --db.
    func loadSnapshot() async throws -> StateSnapshot {
        if let state {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: state, isDirectory: &isDirectory) else {
                throw CommandFailure.setup("\(state): no such file")
            }
            if isDirectory.boolValue { throw CommandFailure.setup("\(state): is a directory, not a state snapshot") }
            guard FileManager.default.isReadableFile(atPath: state) else {
                throw CommandFailure.setup("\(state): cannot read: permission denied")
            }
            let data: Data
            do {
                data = try Data(contentsOf: URL(fileURLWithPath: state))
            } catch {
                throw CommandFailure.setup("\(state): cannot read: \(error.localizedDescription)")
            }
            do {
                return try StateSnapshot.read(data, name: state)
            } catch {
                throw CommandFailure.setup(error.reason)
            }
        }
        var installation = InstallationOptions()
        installation.db = db
        // A PostgreSQL password comes from SKM_DB_PASSWORD or SKM_DB_PASSWORD_FILE here.
        installation.dbPasswordFile = nil
        installation.rootKeyFile = nil
        // Analysing never changes the database it reads: no migration, no write of any kind.
        let storage = try await installation.openStorage(readOnly: true)
        return try await StateSnapshot.export(from: storage, at: Date(), location: installation.database)
    }

    func loadRules() throws -> RuleSet {
        try RulePaths(paths: rules).load()
    }

    /// The rules and the state, read side by side: each is a good part of a short analysis's time. A problem with
    /// the rules is reported before one with the state, as when they are read one after the other.
    func loadRulesAndSnapshot() async throws -> (RuleSet, StateSnapshot) {
        async let snapshot = loadSnapshot()
        let rules = try loadRules()
        return (rules, try await snapshot)
    }

    /// The analyser for these options.
    func analyzer(snapshot: StateSnapshot, rules: RuleSet, filter: AnalysisFilter = AnalysisFilter()) throws -> Analyzer
    {
        var analyzer = Analyzer(rules: rules, snapshot: snapshot, filter: filter)
        analyzer.harReader.clientIP = clientIP
        if clientCert == "none" {
            analyzer.harReader.noClientCertificate = true
        } else if let clientCert {
            let text: String
            do {
                text = try String(contentsOfFile: clientCert, encoding: .utf8)
            } catch {
                throw CommandFailure.setup("\(clientCert): cannot read: \(error.localizedDescription)")
            }
            do {
                analyzer.harReader.clientCertificate = try Certificate(pemEncoded: text)
            } catch {
                throw CommandFailure.setup("\(clientCert): not a PEM certificate")
            }
        }
        return analyzer
    }
}
