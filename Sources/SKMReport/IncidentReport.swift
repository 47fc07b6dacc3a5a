import Foundation
import SKMAnalysis
import SKMCore
import SKMRules

/// A verdict, as the analysis decided it: `confirmed`, `mismatch` or `unexplained`.
package typealias Verdict = SKMAnalysis.Finding.Verdict

/// Everything an incident report says, in one model that every renderer (text, JSON, XML, HTML) reads.
///
/// All text in it is final: credentials are already masked and times formatted, so a renderer only has to escape
/// what it writes for its own format. Strings that came from a capture are untrusted.
package struct IncidentReport: Sendable {
    package struct Tool: Sendable {
        package var name: String
        package var version: String
    }

    /// The rule set the findings came from.
    package struct RuleSetInfo: Sendable {
        package var rules: Int
        package var checks: Int
        /// A digest of the rule files, so that two reports can be told apart by the rules they used.
        package var digest: String
    }

    /// Where the key manager's state came from.
    package struct StateInfo: Sendable {
        package var source: String
        package var location: String?
        package var generatedAt: Date
        package var events: Int
    }

    package struct Input: Sendable {
        package var path: String
        package var format: String
        package var items: Int
        package var problems: Int
    }

    package struct Problem: Sendable {
        package var location: String
        package var message: String

        package init(location: String, message: String) {
            self.location = location
            self.message = message
        }
    }

    package struct Summary: Sendable {
        package var requests: Int
        package var successes: Int
        package var failures: Int
        package var confirmed: Int
        package var mismatches: Int
        package var unexplained: Int
        package var groups: Int
        package var problems: Int
        package var filteredOut: Int
        package var firstTime: Date?
        package var lastTime: Date?
    }

    /// A catalogue error.
    package struct ErrorInfo: Sendable, Hashable {
        package var code: Int
        package var message: String
        package var identifier: String
    }

    package struct ErrorCount: Sendable {
        package var error: ErrorInfo
        package var count: Int
    }

    /// Failures over time: one bucket per interval, counts per error code.
    package struct Timeline: Sendable {
        package var start: Date
        package var bucketSeconds: Int
        package var buckets: [[Int: Int]]
    }

    package struct Evidence: Sendable {
        package var expression: String
        package var value: String
    }

    package struct Missing: Sendable {
        package var fact: String
        package var settle: String
    }

    /// What a check said, as a report tells it: a rule's own statuses, and `not-reached` for a check after the
    /// deciding one.
    package enum CheckStatus: String, Sendable, Hashable {
        /// `skipped` when its guard is false.
        case passed, failed, unknown, skipped, error
        case notReached = "not-reached"

        init(_ status: CheckOutcome.Status) {
            switch status {
            case .passed: self = .passed
            case .failed: self = .failed
            case .unknown: self = .unknown
            case .skipped: self = .skipped
            case .error: self = .error
            }
        }
    }

    package struct CheckResult: Sendable {
        package var id: String
        /// What holds when the check passes.
        package var title: String
        /// What failed, when it fails.
        package var failureTitle: String
        package var status: CheckStatus
        package var severity: Severity
        package var assertion: String
        package var evidence: [Evidence]
        package var missing: [Missing]
        package var failure: String?
    }

    package struct Event: Sendable {
        package var time: Date
        package var actor: String
        package var action: String
        package var summary: String
    }

    /// An inference that holds beside a cause ("likely because …"), with the evidence it rests on.
    package struct Hint: Sendable {
        package var id: String
        package var title: String
        package var explanation: String
        package var fix: String?
        package var evidence: [Evidence]
    }

    /// A fix that is a change of state, applied to the state at each request's time and the decision procedure
    /// replayed.
    package struct Simulation: Sendable {
        package struct StillFailing: Sendable {
            package var error: ErrorInfo
            /// The check that would still stop the requests, by its failure title.
            package var check: String
            package var count: Int
        }

        /// The change ("registering 10.0.3.7 in key store 'payments'").
        package var change: String
        package var simulated: Int
        package var passed: Int
        /// Requests for which the inputs cannot decide the outcome.
        package var undecided: Int
        package var stillFailing: [StillFailing]
        /// The outcome in one sentence, ready for a ticket.
        package var summary: String
    }

    /// One request, diagnosed in full.
    package struct Finding: Sendable {
        package var requestId: String
        package var time: Date
        package var location: String
        /// The file and the line or entry of ``location``.
        package var source: SourceLocation
        package var method: String
        package var path: String
        package var operation: String?
        package var client: String
        package var verdict: Verdict
        /// The cause, by its failure title ("The key was deleted").
        package var cause: String?
        package var explanation: String?
        package var fix: String?
        package var hints: [Hint]
        package var note: String?
        package var event: Event?
        /// What the group's fix would do for this request.
        package var simulation: String?
        package var checks: [CheckResult]
        package var warnings: [CheckResult]
        package var predicted: String?
        package var missing: [Missing]
        /// For unexplained and mismatched findings: a summary ready to paste into a support ticket.
        package var escalation: String?
    }

    /// Findings with the same fingerprint.
    package struct Group: Sendable {
        package var id: String
        package var rank: Int
        package var count: Int
        package var firstSeen: Date
        package var lastSeen: Date
        package var verdict: Verdict
        package var error: ErrorInfo?
        package var resultCode: Int
        /// For an answer without a catalogue result code, what its first request's record says of it ("HTTP 409,
        /// code not captured", "HTTP 502 without an SKM envelope").
        package var unknownResult: String? = nil
        package var ruleId: String?
        package var ruleTitle: String?
        package var guide: String?
        package var checkId: String?
        /// The cause, by its failure title ("The key was deleted").
        package var checkTitle: String?
        package var appkey: String
        package var keyId: String
        package var client: String
        package var explanation: String?
        package var fix: String?
        /// Inferences beside the cause ("likely because …").
        package var hints: [Hint]
        /// Why the verdict is not confirmed.
        package var note: String?
        /// What would settle an unexplained verdict.
        package var missing: [Missing]
        package var simulation: Simulation?
        /// In OR mode, each other factor's fix simulated alone.
        package var alternatives: [Simulation]
        package var event: Event?
        /// Against the state as it is now the group's requests would succeed: since when, and the latest change.
        package var now: String? = nil
        /// The key's successful calls the day before the group's first failure, when the inputs hold some: an outage
        /// told from a client that never worked.
        package var dayBefore: String? = nil
        /// The inputs cannot decide the cause (a fact missing, a change while the request ran); not in the documents,
        /// where `missing` and `note` say it.
        package var undecided: Bool = false
        package var requestIds: [String]
        package var examples: [Finding]
    }

    /// A cause across groups: how many requests, clients and keys it touched.
    package struct Cause: Sendable {
        package var ruleId: String
        package var checkId: String
        package var title: String
        package var error: ErrorInfo?
        package var count: Int
        package var groups: Int
        package var clients: Int
        package var keys: Int
        /// The ids of its groups in the report, largest first (for links; not part of the documents).
        package var groupIds: [String] = []
    }

    /// A key's successes and failures in the analysed requests.
    package struct KeyActivity: Sendable {
        package var appkey: String
        package var keyId: String
        package var successes: Int
        package var failures: Int
    }

    package var tool: Tool
    package var generatedAt: Date
    package var ruleSet: RuleSetInfo
    package var state: StateInfo
    package var filters: [String]
    package var redacted: Bool
    /// The analysis itself, unmasked, when the report is to be merged with others (`skm analyze --mergeable`):
    /// ``AnalysisResult/mergeable``.
    package var mergeable: JSONValue?
    package var summary: Summary
    package var errors: [ErrorCount]
    package var timeline: Timeline?
    package var causes: [Cause]
    package var groups: [Group]
    package var keys: [KeyActivity]
    package var inputs: [Input]
    package var problems: [Problem]
}

extension IncidentReport.Group {
    /// The group's error as every output names it.
    package var errorLabel: String { error?.message ?? unknownResult ?? "no SKM result" }

    /// The same with its code, where there is one.
    package var errorWithCode: String { error.map { "\($0.message) (\($0.code))" } ?? errorLabel }

    /// What the group's cause is called in every output: the check's failure, or what the verdict says when no check
    /// is the cause (the same words the summary uses).
    package var causeWords: String {
        if let title = checkTitle { return title }
        if verdict == .mismatch { return "mismatch: the inputs point to another error than the one answered" }
        if undecided || !missing.isEmpty { return "undecided: the inputs cannot tell which check failed" }
        return "no documented cause fits"
    }
}

extension IncidentReport {
    /// The report with `prefix` taken out of every input path it shows (the inputs, the problems, each example's
    /// location and escalation summary): where the inputs were stored is not what they are called.
    package mutating func removePathPrefix(_ prefix: String) {
        func strip(_ text: String) -> String { text.replacingOccurrences(of: prefix, with: "") }
        inputs = inputs.map {
            var input = $0
            input.path = strip($0.path)
            return input
        }
        problems = problems.map { Problem(location: strip($0.location), message: strip($0.message)) }
        for group in groups.indices {
            for example in groups[group].examples.indices {
                groups[group].examples[example].location = strip(groups[group].examples[example].location)
                groups[group].examples[example].source.file = strip(groups[group].examples[example].source.file)
                groups[group].examples[example].escalation = groups[group].examples[example].escalation.map(strip)
            }
        }
    }
}
