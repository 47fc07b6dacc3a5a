import Foundation
import SKMCore
import SKMPrimitives
import SKMRules

/// What the analyser concluded about one failed request.
package struct Finding: Sendable {
    /// How sure the diagnosis is (DESIGN §9, docs/analysis.md).
    package enum Verdict: String, Sendable, Hashable, CaseIterable, Comparable {
        /// The documented check that decides the logged error fails on facts the inputs hold, every check before it
        /// passes, and replaying the decision procedure reaches the same check.
        case confirmed
        /// Known facts say the server should have answered differently: a check of another error fails before any
        /// check of the logged one can. The state changed around the request, the snapshot is not of this server,
        /// or there is a bug. Escalate.
        case mismatch
        /// The inputs cannot decide the cause (a fact is unknown; the finding names it and what supplies it), or no
        /// documented cause fits.
        case unexplained

        package static func < (lhs: Verdict, rhs: Verdict) -> Bool {
            allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
        }
    }

    package var request: CapturedRequest
    /// Everything but the request, shared by the copies of a finding until one changes (a finding is copied for
    /// every failed request of a log, and most of it is the same for a whole situation).
    private var storage: Storage
    /// The logged error; `nil` when the response carried no catalogue code.
    package var observed: APIError? {
        get { storage.observed }
        set { unique().observed = newValue }
    }
    /// The rule that explains the logged error, and what each of its checks said.
    package var rule: Rule? {
        get { storage.rule }
        set { unique().rule = newValue }
    }
    package var outcome: RuleOutcome? {
        get { storage.outcome }
        set { unique().outcome = newValue }
    }
    /// The first check of that rule that fails, every check before it passing: the diagnosed cause.
    package var cause: CheckOutcome? {
        get { storage.cause }
        set { unique().cause = newValue }
    }
    /// The first check of that rule the inputs could not decide, when that is why the verdict is not confirmed.
    package var undecided: CheckOutcome? {
        get { storage.undecided }
        set { unique().undecided = newValue }
    }
    /// The cause's explanation and fix, rendered on the facts; `nil` unless every hole showed a fact.
    package var explanation: String? {
        get { storage.explanation }
        set { unique().explanation = newValue }
    }
    package var fix: String? {
        get { storage.fix }
        set { unique().fix = newValue }
    }
    /// Inferences that hold beside the cause ("likely because …").
    package var hints: [HintFinding] {
        get { storage.hints }
        set { unique().hints = newValue }
    }
    /// The audit event the cause names (who did what, when), when there is one: the event itself, from the state.
    package var event: AuditEvent? {
        get { storage.event }
        set { unique().event = newValue }
    }
    /// What replaying the whole decision procedure says the server should have answered.
    package var prediction: Prediction {
        get { storage.prediction }
        set { unique().prediction = newValue }
    }
    package var verdict: Verdict {
        get { storage.verdict }
        set { unique().verdict = newValue }
    }
    /// Why the verdict is not *confirmed*, in a sentence.
    package var note: String? {
        get { storage.note }
        set { unique().note = newValue }
    }
    /// Facts the inputs lacked that would settle the diagnosis, with how to learn them.
    package var missing: [Unknown.Fact] {
        get { storage.missing }
        set { unique().missing = newValue }
    }
    /// The fix, when it is a change of state, applied to the state at the request's time and the decision procedure
    /// replayed: would the request have passed?
    package var simulation: Simulation? {
        get { storage.simulation }
        set { unique().simulation = newValue }
    }
    /// In OR mode, the other factors' fixes, each simulated alone: any one of them may suffice.
    package var alternatives: [Simulation] {
        get { storage.alternatives }
        set { unique().alternatives = newValue }
    }
    /// ``fingerprint``, when a shared diagnosis knows it already (``SituationMemo``); `nil` otherwise.
    package var sharedFingerprint: Fingerprint?

    package init(
        request: CapturedRequest, observed: APIError?, rule: Rule?, outcome: RuleOutcome?, cause: CheckOutcome?,
        explanation: String?, fix: String?, event: AuditEvent?, prediction: Prediction, verdict: Verdict,
        note: String?, missing: [Unknown.Fact]
    ) {
        self.request = request
        storage = Storage(
            observed: observed, rule: rule, outcome: outcome, cause: cause, explanation: explanation, fix: fix,
            event: event, prediction: prediction, verdict: verdict, note: note, missing: missing)
    }

    private final class Storage: @unchecked Sendable {
        var observed: APIError?
        var rule: Rule?
        var outcome: RuleOutcome?
        var cause: CheckOutcome?
        var undecided: CheckOutcome?
        var explanation: String?
        var fix: String?
        var hints: [HintFinding] = []
        var event: AuditEvent?
        var prediction: Prediction
        var verdict: Verdict
        var note: String?
        var missing: [Unknown.Fact]
        var simulation: Simulation?
        var alternatives: [Simulation] = []

        init(
            observed: APIError?, rule: Rule?, outcome: RuleOutcome?, cause: CheckOutcome?, explanation: String?,
            fix: String?, event: AuditEvent?, prediction: Prediction, verdict: Verdict, note: String?,
            missing: [Unknown.Fact]
        ) {
            self.observed = observed
            self.rule = rule
            self.outcome = outcome
            self.cause = cause
            self.explanation = explanation
            self.fix = fix
            self.event = event
            self.prediction = prediction
            self.verdict = verdict
            self.note = note
            self.missing = missing
        }

        func copy() -> Storage {
            let copy = Storage(
                observed: observed, rule: rule, outcome: outcome, cause: cause, explanation: explanation, fix: fix,
                event: event, prediction: prediction, verdict: verdict, note: note, missing: missing)
            copy.undecided = undecided
            copy.hints = hints
            copy.simulation = simulation
            copy.alternatives = alternatives
            return copy
        }
    }

    /// The storage, copied first if another finding shares it.
    private mutating func unique() -> Storage {
        if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
        return storage
    }

    /// The identity of the client, for grouping: its address, else its MAC header, else its certificate.
    package var client: String {
        let observed = request.record.client
        if !request.clientAddressKnown { return "unknown" }
        return observed.ip ?? observed.peer ?? observed.macHeader ?? observed.cert.sha256.map {
            "cert:\($0.prefix(16))"
        }
            ?? "unknown"
    }

    /// What triage groups by: two findings share a group only when they render the same explanation and fix, with
    /// the same verdict, hints and simulated fix, for the same appkey, key and client.
    package var fingerprint: Fingerprint {
        Fingerprint(
            rule: rule?.id, check: cause?.check.id, code: request.record.response.resultCode, verdict: verdict,
            appkey: request.record.appkey ?? "", key: request.record.keyId ?? "", client: client,
            text: [explanation ?? "", fix ?? "", note ?? ""] + hints.map { $0.explanation + "|" + ($0.fix ?? "") }
                + ([simulation] + alternatives.map { $0 }).map { $0?.description ?? "" })
    }
}

/// A hint that holds beside a cause, rendered.
package struct HintFinding: Sendable {
    package var hint: Hint
    package var explanation: String
    package var fix: String?
    package var evidence: [Evidence]
}

/// A fix simulated on one request: the change, and what the decision procedure answers with it.
package struct Simulation: Sendable, Hashable {
    package enum Result: Sendable, Hashable {
        /// Every check the inputs can decide passes.
        case passes
        /// A check still fails: the request would get this error.
        case fails(APIError, check: String)
        /// No check fails, but some the inputs cannot decide stand in the way.
        case undecided
    }

    package var change: StateChange
    /// The change in words ("registering 10.0.3.7 in key store 'payments'").
    package var description: String
    package var result: Result
}

/// What makes two findings the same problem: the same cause and the same words for it.
///
/// A fingerprint is copied for every failed request (into its finding and its group) and compared at every lookup:
/// its fields live in one immutable box, so a copy costs one reference and two copies of one fingerprint compare
/// equal at once.
package struct Fingerprint: Sendable, Hashable, Comparable {
    private final class Contents: Sendable {
        let rule: String?
        let check: String?
        let code: Int
        let verdict: Finding.Verdict
        let appkey: String
        let key: String
        let client: String
        let text: [String]
        /// The hash of all the above, computed once.
        let hash: Int

        init(
            rule: String?, check: String?, code: Int, verdict: Finding.Verdict, appkey: String, key: String,
            client: String, text: [String]
        ) {
            self.rule = rule
            self.check = check
            self.code = code
            self.verdict = verdict
            self.appkey = appkey
            self.key = key
            self.client = client
            self.text = text
            var hasher = Hasher()
            hasher.combine(rule)
            hasher.combine(check)
            hasher.combine(code)
            hasher.combine(verdict)
            hasher.combine(appkey)
            hasher.combine(key)
            hasher.combine(client)
            hasher.combine(text)
            hash = hasher.finalize()
        }
    }

    private let contents: Contents

    package var rule: String? { contents.rule }
    package var check: String? { contents.check }
    package var code: Int { contents.code }
    package var verdict: Finding.Verdict { contents.verdict }
    package var appkey: String { contents.appkey }
    package var key: String { contents.key }
    package var client: String { contents.client }
    /// The rendered explanation, fix, note, hints and simulated fixes: one group, one explanation.
    package var text: [String] { contents.text }

    package init(
        rule: String?, check: String?, code: Int, verdict: Finding.Verdict, appkey: String, key: String,
        client: String, text: [String]
    ) {
        contents = Contents(
            rule: rule, check: check, code: code, verdict: verdict, appkey: appkey, key: key, client: client,
            text: text)
    }

    package func hash(into hasher: inout Hasher) {
        hasher.combine(contents.hash)
    }

    package static func == (lhs: Fingerprint, rhs: Fingerprint) -> Bool {
        if lhs.contents === rhs.contents { return true }
        let left = lhs.contents
        let right = rhs.contents
        return left.hash == right.hash && left.rule == right.rule && left.check == right.check
            && left.code == right.code && left.verdict == right.verdict && left.appkey == right.appkey
            && left.key == right.key && left.client == right.client && left.text == right.text
    }

    package static func < (lhs: Fingerprint, rhs: Fingerprint) -> Bool {
        let left = (lhs.rule ?? "", lhs.check ?? "", lhs.appkey, lhs.key, lhs.client, lhs.code)
        let right = (rhs.rule ?? "", rhs.check ?? "", rhs.appkey, rhs.key, rhs.client, rhs.code)
        if left != right { return left < right }
        if lhs.verdict != rhs.verdict { return lhs.verdict < rhs.verdict }
        return lhs.text.lexicographicallyPrecedes(rhs.text)
    }

    /// A short stable identifier for links and tickets.
    package var identifier: String {
        let parts = [rule ?? "", check ?? "", appkey, key, client, String(code), verdict.rawValue] + text
        return String(FNV1a.hash(parts.joined(separator: "|").utf8), radix: 16).leftPadded(to: 16)
    }
}

extension String {
    func leftPadded(to length: Int, with pad: Character = "0") -> String {
        count >= length ? self : String(repeating: pad, count: length - count) + self
    }
}
