import Foundation
import SKMAnalysis

/// A verdict, as the analysis decided it: `confirmed`, `mismatch` or `unexplained`.
public typealias Verdict = SKMAnalysis.Finding.Verdict

/// Everything an incident report says, in one model that every renderer (text, JSON, XML, HTML) reads.
///
/// All text in it is final: credentials are already masked and times formatted, so a renderer only has to escape
/// what it writes for its own format. Strings that came from a capture are untrusted.
public struct IncidentReport: Sendable {
    public struct Tool: Sendable {
        public var name: String
        public var version: String
    }

    /// The rule set the findings came from.
    public struct RuleSetInfo: Sendable {
        public var rules: Int
        public var checks: Int
        /// A digest of the rule files, so that two reports can be told apart by the rules they used.
        public var digest: String
    }

    /// Where the key manager's state came from.
    public struct StateInfo: Sendable {
        public var source: String
        public var location: String?
        public var generatedAt: Date
        public var events: Int
    }

    public struct Input: Sendable {
        public var path: String
        public var format: String
        public var items: Int
        public var problems: Int
    }

    public struct Problem: Sendable {
        public var location: String
        public var message: String
    }

    public struct Summary: Sendable {
        public var requests: Int
        public var successes: Int
        public var failures: Int
        public var confirmed: Int
        public var mismatches: Int
        public var unexplained: Int
        public var groups: Int
        public var problems: Int
        public var filteredOut: Int
        public var firstTime: Date?
        public var lastTime: Date?
    }

    /// A catalogue error.
    public struct ErrorInfo: Sendable, Hashable {
        public var code: Int
        public var message: String
        public var identifier: String
    }

    public struct ErrorCount: Sendable {
        public var error: ErrorInfo
        public var count: Int
    }

    /// Failures over time: one bucket per interval, counts per error code.
    public struct Timeline: Sendable {
        public var start: Date
        public var bucketSeconds: Int
        public var buckets: [[Int: Int]]
    }

    public struct Evidence: Sendable {
        public var expression: String
        public var value: String
    }

    public struct Missing: Sendable {
        public var fact: String
        public var settle: String
    }

    public struct CheckResult: Sendable {
        public var id: String
        /// What holds when the check passes.
        public var title: String
        /// What failed, when it fails.
        public var failureTitle: String
        /// passed, failed, unknown, skipped (its guard is false), error, or not-reached (after the deciding check).
        public var status: String
        public var severity: String
        public var assertion: String
        public var evidence: [Evidence]
        public var missing: [Missing]
        public var failure: String?
    }

    public struct Event: Sendable {
        public var time: Date?
        public var actor: String
        public var action: String
        public var summary: String
    }

    /// An inference that holds beside a cause ("likely because …"), with the evidence it rests on.
    public struct Hint: Sendable {
        public var id: String
        public var title: String
        public var explanation: String
        public var fix: String?
        public var evidence: [Evidence]
    }

    /// A fix that is a change of state, applied to the state at each request's time and the decision procedure
    /// replayed.
    public struct Simulation: Sendable {
        public struct StillFailing: Sendable {
            public var error: ErrorInfo
            /// The check that would still stop the requests, by its failure title.
            public var check: String
            public var count: Int
        }

        /// The change ("registering 10.0.3.7 in key store 'payments'").
        public var change: String
        public var simulated: Int
        public var passed: Int
        /// Requests for which the inputs cannot decide the outcome.
        public var undecided: Int
        public var stillFailing: [StillFailing]
        /// The outcome in one sentence, ready for a ticket.
        public var summary: String
    }

    /// One request, diagnosed in full.
    public struct Finding: Sendable {
        public var requestId: String
        public var time: Date
        public var location: String
        public var method: String
        public var path: String
        public var operation: String?
        public var client: String
        public var verdict: Verdict
        /// The cause, by its failure title ("The key was deleted").
        public var cause: String?
        public var explanation: String?
        public var fix: String?
        public var hints: [Hint]
        public var note: String?
        public var event: Event?
        /// What the group's fix would do for this request.
        public var simulation: String?
        public var checks: [CheckResult]
        public var warnings: [CheckResult]
        public var predicted: String?
        public var missing: [Missing]
        /// For unexplained and mismatched findings: a summary ready to paste into a support ticket.
        public var escalation: String?
    }

    /// Findings with the same fingerprint.
    public struct Group: Sendable {
        public var id: String
        public var rank: Int
        public var count: Int
        public var firstSeen: Date
        public var lastSeen: Date
        public var verdict: Verdict
        public var error: ErrorInfo?
        public var resultCode: Int
        public var ruleId: String?
        public var ruleTitle: String?
        public var guide: String?
        public var checkId: String?
        /// The cause, by its failure title ("The key was deleted").
        public var checkTitle: String?
        public var appkey: String
        public var keyId: String
        public var client: String
        public var explanation: String?
        public var fix: String?
        /// Inferences beside the cause ("likely because …").
        public var hints: [Hint]
        /// Why the verdict is not confirmed.
        public var note: String?
        /// What would settle an unexplained verdict.
        public var missing: [Missing]
        public var simulation: Simulation?
        /// In OR mode, each other factor's fix simulated alone.
        public var alternatives: [Simulation]
        public var event: Event?
        /// Against the state as it is now the group's requests would succeed: since when, and the latest change.
        public var now: String? = nil
        /// The inputs cannot decide the cause (a fact missing, a change while the request ran); not in the documents,
        /// where `missing` and `note` say it.
        public var undecided: Bool = false
        public var requestIds: [String]
        public var examples: [Finding]
    }

    /// A cause across groups: how many requests, clients and keys it touched.
    public struct Cause: Sendable {
        public var ruleId: String
        public var checkId: String
        public var title: String
        public var error: ErrorInfo?
        public var count: Int
        public var groups: Int
        public var clients: Int
        public var keys: Int
        /// The ids of its groups in the report, largest first (for links; not part of the documents).
        public var groupIds: [String] = []
    }

    /// A key's successes and failures in the analysed requests.
    public struct KeyActivity: Sendable {
        public var appkey: String
        public var keyId: String
        public var successes: Int
        public var failures: Int
    }

    public var tool: Tool
    public var generatedAt: Date
    public var ruleSet: RuleSetInfo
    public var state: StateInfo
    public var filters: [String]
    public var redacted: Bool
    public var summary: Summary
    public var errors: [ErrorCount]
    public var timeline: Timeline?
    public var causes: [Cause]
    public var groups: [Group]
    public var keys: [KeyActivity]
    public var inputs: [Input]
    public var problems: [Problem]
}

extension IncidentReport.Group {
    /// What the group's cause is called in every output: the check's failure, or what the verdict says when no check
    /// is the cause (the same words the summary uses).
    public var causeWords: String {
        if let title = checkTitle { return title }
        if verdict == .mismatch { return "mismatch: the inputs point to another error than the one answered" }
        if undecided || !missing.isEmpty { return "undecided: the inputs cannot tell which check failed" }
        return "no documented cause fits"
    }
}
