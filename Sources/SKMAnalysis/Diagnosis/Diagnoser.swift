import Foundation
import SKMCore
import SKMPrimitives
import SKMRules

/// Turns a failed request into a ``Finding``: builds its facts, runs the logged error's rule with evidence, replays
/// the decision procedure, weighs the two, and simulates the fix.
///
/// The verdict follows docs/analysis.md. *Confirmed*: the first check of the logged error's rule that does not pass
/// fails on known facts, and the replay's first failing check is that same check. *Mismatch*: a check of another
/// error fails on known facts before any check of the logged error could have failed. *Unexplained*: a check the
/// decision depends on cannot be decided, an explanation would show a fact the inputs do not hold, or no documented
/// cause fits. Unknown facts never produce *confirmed* or *mismatch*.
package struct Diagnoser: Sendable {
    package let rules: RuleSet
    package let facts: FactBuilder

    package init(rules: RuleSet, facts: FactBuilder) {
        self.rules = rules
        self.facts = facts
    }

    package func diagnose(_ request: CapturedRequest) -> Finding {
        settle(onArrival(request, reads: nil), of: request)
    }

    package func diagnose(_ request: CapturedRequest, facts activation: Activation) -> Finding {
        settle(onArrival(request, facts: activation), of: request)
    }

    /// A diagnosis as the state at the request's arrival decides it, before what changed while it ran is looked
    /// at: the part of a diagnosis that requests in the same situation share (``SituationMemo``).
    package struct Arrival: Sendable {
        package var finding: Finding
        /// The cause the verdict names, when it stands only if the state did not change while the request ran.
        var cause: CheckOutcome?
    }

    /// The diagnosis on the state at the request's arrival; `reads` hears whether a rule read a per-request fact.
    package func onArrival(_ request: CapturedRequest, reads: ReadLog?) -> Arrival {
        onArrival(request, facts: facts.facts(for: request, reads: reads))
    }

    /// `arrival` for `request`, with the state's changes while it ran looked at: the server may have decided on the
    /// state at any moment of that time, so a change in it (a race with another call) leaves the cause open.
    package func settle(_ arrival: Arrival, of request: CapturedRequest) -> Finding {
        var finding = arrival.finding
        finding.request = request
        let start = request.record.time
        let end = start.addingTimeInterval(request.timeSpan + max(request.record.durationMs, 1) / 1000)
        // The state as taken says nothing of what changed after it was taken: a request that may have arrived later
        // is judged by no state. (One that arrived as it was taken, the last of a log exported at once, is judged.)
        let taken = facts.timeline.snapshot.generatedAt
        if start.addingTimeInterval(request.timeSpan) > taken, finding.verdict != .unexplained {
            let replayed = arrival.cause.map {
                " Replayed on the state as it was taken, it is that \(Self.lowercasedFirst($0.check.failure))."
            }
            // The request's own time is not in the note: it would make a group of every request (its time is
            // shown with the request).
            finding.note =
                (request.timeSpan > 0
                    ? "The request may have arrived after the state was taken (its time is an answer's Date header, "
                        + "which counts whole seconds; the state was taken at \(Timestamp.rfc3339(taken)))"
                    : "The request arrived after the state was taken (\(Timestamp.rfc3339(taken)))")
                + ": what changed since is not in it, so no verdict can be given. Take the state again (skm snapshot "
                + "export) and analyse again."
                + (finding.verdict == .confirmed ? replayed ?? "" : "")
            finding.verdict = .unexplained
            finding.undecided = finding.undecided ?? arrival.cause
            finding.cause = nil
            finding.event = nil
            finding.explanation = nil
            finding.fix = nil
            finding.hints = []
            finding.simulation = nil
            finding.alternatives = []
            return finding
        }
        guard let cause = arrival.cause, let appkey = request.record.appkey else { return finding }
        guard let change = facts.timeline.firstEvent(ofAppkey: appkey, from: start, through: end) else {
            return finding
        }
        finding.note =
            "The state changed while the request ran (\(change.summary), \(Timestamp.rfc3339(change.time)), "
            + "within \(Self.span(of: request))): the server may have decided on "
            + "either state, so the cause cannot be confirmed. Replayed on the state at its arrival, it is that "
            + "\(Self.lowercasedFirst(cause.check.failure))."
        finding.verdict = .unexplained
        finding.cause = nil
        finding.undecided = cause
        finding.event = nil
        finding.explanation = nil
        finding.fix = nil
        finding.hints = []
        finding.simulation = nil
        finding.alternatives = []
        return finding
    }

    private func onArrival(_ request: CapturedRequest, facts activation: Activation) -> Arrival {
        let cache = DefinitionCache()
        let code = request.record.response.resultCode
        let observed = APIError(resultCode: code)
        let prediction = rules.predict(facts: activation, logged: code, cache: cache)
        var finding = Finding(
            request: request, observed: observed, rule: nil, outcome: nil, cause: nil, explanation: nil, fix: nil,
            event: nil, prediction: prediction, verdict: .unexplained, note: nil, missing: [])

        if let settle = request.gaps[.resultCode] {
            finding.missing = [Unknown.Fact(path: "response.resultCode", settle: settle)]
            finding.note = Self.withoutResultCode(request.record.response.httpStatus, prediction: prediction)
            return Arrival(finding: finding)
        }
        guard let observed else {
            finding.note =
                "The response carried no SKM result code (HTTP \(request.record.response.httpStatus)): the failure came from something in front of SKM, or the capture lost the body."
            return Arrival(finding: finding)
        }
        guard let rule = rules.rules(explaining: observed.resultCode).first else {
            finding.note = "No rule explains \(observed.resultMessage) (\(observed.resultCode))."
            return Arrival(finding: finding)
        }
        let outcome = rules.evaluate(rule, facts: activation, cache: cache)
        finding.rule = rule
        finding.outcome = outcome

        // The rule's verdict: its first check that does not pass, in order. A check the inputs cannot decide comes
        // first when it does: the cause may be that one.
        var decisive: CheckOutcome?
        let inDecisionOrder = outcome.checks.enumerated().sorted {
            ($0.element.check.order, $0.offset) < ($1.element.check.order, $1.offset)
        }.map(\.element)
        for check in inDecisionOrder where check.check.severity == .error && outcome.applicable.boolValue == true {
            if check.status == .failed || check.status == .unknown || check.status == .error {
                decisive = check
                break
            }
        }
        if case .unknown(let unknown) = outcome.applicable {
            finding.undecided = outcome.checks.first
            finding.missing = unknown.facts
            finding.note =
                "The inputs cannot tell whether \(rule.title) applies to this request: they do not show \(Self.describe(unknown.facts))."
            simulate(&finding, facts: activation, remedyOf: outcome.checks.first { $0.status == .failed })
            return Arrival(finding: finding)
        }

        let predicted = prediction.failure
        if let decisive, decisive.status != .failed {
            finding.undecided = decisive
            let facts = decisive.unknown?.facts ?? []
            finding.missing = facts
            if decisive.status == .error {
                finding.note =
                    "The check \"\(decisive.check.title)\" could not be evaluated (\(decisive.failure ?? "error")): no cause can be named."
            } else {
                finding.note =
                    "The inputs cannot decide whether the cause is that \(Self.lowercasedFirst(decisive.check.failure)): they do not show \(Self.describe(facts))."
            }
            simulate(&finding, facts: activation, remedyOf: decisive)
            return Arrival(finding: finding)
        }

        guard let cause = decisive else {
            // The rule does not apply, or every check of it passes, on known facts.
            if case .bool(false) = outcome.applicable, let predicted {
                finding.verdict = .mismatch
                finding.note =
                    "\(rule.title) does not apply to this request as the inputs describe it, and replaying the decision procedure says the server should have answered \(predicted.rule.error.message) (\"\(predicted.check.failure)\"): \(Self.reasons(request))."
            } else if let predicted, predicted.rule.error.code != observed.resultCode, !predicted.check.byElimination {
                finding.verdict = .mismatch
                finding.note =
                    "No check of \(rule.id) fails, and replaying the decision procedure says the server should have answered \(predicted.rule.error.message) (\"\(predicted.check.failure)\"): \(Self.reasons(request))."
            } else if !request.assumptions.isEmpty {
                finding.note =
                    "Every check of \(rule.title) passes on the inputs as given, so what the command line asserted may not describe this client (\(request.assumptions.joined(separator: ", ")))\(request.contradictions.isEmpty ? "" : ": " + request.contradictions.joined(separator: "; ")). Settle that first; if the assertion holds, escalate with the summary."
            } else {
                finding.note =
                    "Every check of \(rule.title) passes on the state at the request's time: no documented cause fits. Escalate with the summary."
            }
            return Arrival(finding: finding)
        }

        finding.cause = cause
        // The rule names the event by its fact; the finding carries the event itself, found by its sequence number.
        if case .object(let named)? = cause.event, case .int(let sequence)? = named["sequence"] {
            finding.event = facts.timeline.event(sequence: Int(sequence))
        }
        if let predicted, predicted.rule.error.code != observed.resultCode, predicted.check.order < cause.check.order {
            finding.verdict = .mismatch
            finding.note =
                "\"\(predicted.check.failure)\" (\(predicted.rule.id)) comes before this cause in the decision procedure, so the server should have answered \(predicted.rule.error.message): \(Self.reasons(request))."
            return Arrival(finding: finding)
        }
        if case .bool(false) = outcome.applicable {
            finding.verdict = .mismatch
            finding.note =
                "\(rule.title) does not apply to this request as the inputs describe it: \(Self.reasons(request))."
            return Arrival(finding: finding)
        }
        guard let predicted, predicted.rule === rule, predicted.check === cause.check else {
            finding.note =
                "\"\(cause.check.failure)\" fails, but replaying the decision procedure does not reach it (\(prediction.failure.map { "it stops at \"\($0.check.failure)\"" } ?? "it finds nothing failing")): no cause can be confirmed."
            return Arrival(finding: finding)
        }

        // Confirmed, if the words for it can be said with facts the inputs hold.
        let (explanation, fix) = rules.describe(cause.check, facts: activation, cache: cache)
        let problems = explanation.problems + fix.problems
        guard problems.isEmpty else {
            finding.missing = problems.flatMap(\.facts)
            finding.note =
                "The cause is that \(Self.lowercasedFirst(cause.check.failure)), but explaining it needs what the inputs do not hold: \(problems.map(\.description).joined(separator: "; "))."
            return Arrival(finding: finding)
        }
        // From here the verdict stands only if the state did not change while the request ran (``settle(_:of:)``).
        // What the command line asserted and the capture contradicts cannot carry a confirmed verdict.
        guard request.contradictions.isEmpty else {
            finding.note =
                "The cause would be that \(Self.lowercasedFirst(cause.check.failure)), but the inputs contradict each "
                + "other: \(request.contradictions.joined(separator: "; ")). Settle which is true before acting on it."
            finding.cause = nil
            finding.undecided = cause
            finding.event = nil
            return Arrival(finding: finding, cause: cause)
        }
        finding.verdict = .confirmed
        finding.explanation = explanation.text
        finding.fix = fix.text
        for hint in rules.hints(of: rule, about: cause.check, facts: activation, cache: cache)
        where hint.holds.boolValue == true {
            let text = hint.hint.explanation.render(activation, cache: cache)
            let hintFix = hint.hint.fix?.render(activation, cache: cache)
            // A hint whose words need a missing fact is not shown: it is an inference, never worth a gap.
            guard text.isComplete, hintFix?.isComplete ?? true else { continue }
            finding.hints.append(
                HintFinding(hint: hint.hint, explanation: text.text, fix: hintFix?.text, evidence: hint.evidence))
        }
        simulate(&finding, facts: activation, remedyOf: cause)
        return Arrival(finding: finding, cause: cause)
    }

    // MARK: - Fix simulation

    /// Applies the remedy of `check` (and, in OR mode, each other failing factor's) to the state at the request's
    /// time, and replays the decision procedure.
    private func simulate(_ finding: inout Finding, facts activation: Activation, remedyOf check: CheckOutcome?) {
        guard let check, let remedy = rules.remedy(of: check.check, facts: activation),
            let change = StateChange(remedy)
        else { return }
        let after = check.check.order
        finding.simulation = simulate(finding.request, change, checkedAfter: after, reads: activation.reads)
        guard Self.clientAuthentication.contains(finding.observed ?? .internalError),
            case .object(let store) = activation.value(SKMFacts.storeVariable),
            store["authMode"]?.stringValue == "OR"
        else { return }
        for rule in rules.rules where rule !== finding.rule {
            // Only a rule that applies can offer an alternative: the checks of one that does not are not run (they
            // may read what this request does not have, such as a certificate's dates).
            guard let error = APIError(resultCode: rule.error.code), Self.clientAuthentication.contains(error),
                rules.applicability(of: rule, facts: activation).boolValue == true
            else { continue }
            let outcome = rules.evaluate(rule, facts: activation, recordingEvidence: false)
            guard outcome.applicable.boolValue == true, let other = outcome.cause,
                let remedy = rules.remedy(of: other.check, facts: activation), let alternative = StateChange(remedy),
                alternative != change
            else { continue }
            finding.alternatives.append(
                simulate(finding.request, alternative, checkedAfter: after, reads: activation.reads))
        }
    }

    /// The decision procedure's answer to `request` with `change` applied. Checks ordered before `after` that the
    /// inputs cannot decide count as passed: the server got past them when it answered the logged error.
    func simulate(
        _ request: CapturedRequest, _ change: StateChange, checkedAfter after: Int, reads: ReadLog? = nil
    ) -> Simulation {
        let changed = facts.facts(for: request, applying: change, reads: reads)
        let prediction = rules.predict(facts: changed, logged: nil)
        let description = change.description(in: facts.timeline)
        if let failure = prediction.failure, let error = APIError(resultCode: failure.rule.error.code) {
            return Simulation(
                change: change, description: description, result: .fails(error, check: failure.check.failure))
        }
        if prediction.unknownsBefore.contains(where: { $0.check.order > after }) {
            return Simulation(change: change, description: description, result: .undecided)
        }
        return Simulation(change: change, description: description, result: .passes)
    }

    /// What can be said of a failure whose result code the capture does not hold: the errors its HTTP status may
    /// be, and what replaying the decision procedure gives, which the result code would confirm or refute.
    static func withoutResultCode(_ status: Int, prediction: Prediction) -> String {
        let candidates = APIError.allCases.filter { $0.httpStatus == status }
        var note = "The capture holds HTTP \(status) but not the key manager's result code: "
        if candidates.isEmpty {
            note += "the key manager answers no error with HTTP \(status), so something in front of it answered."
        } else {
            note +=
                "HTTP \(status) is "
                + (candidates.count == 1
                    ? candidates[0].resultMessage
                    : "one of " + candidates.map(\.resultMessage).joined(separator: ", ")) + "."
        }
        if let failure = prediction.failure {
            let fits = candidates.contains { $0.resultCode == failure.rule.error.code }
            note +=
                " Replayed on the state at the request's time, the decision procedure stops at \"\(failure.check.failure)\" (\(failure.rule.error.message))"
                + (prediction.unknownsBefore.isEmpty
                    ? "" : " if the checks before it that the capture cannot decide pass")
                + (fits ? "" : ", which HTTP \(status) does not fit") + "; the result code would settle it."
        } else if let first = prediction.unknownsBefore.first {
            note +=
                " Replayed on the state at the request's time, the decision procedure cannot get past \"\(first.check.title)\", which the capture cannot decide."
        } else {
            note += " Replayed on the state at the request's time, every check passes."
        }
        return note
    }

    static let clientAuthentication: Set<APIError> = [
        .ipv4AuthFailure, .macAuthFailure, .certificateAuthFailure, .certificateExpired, .certificateNotYetValid,
        .untrustedCertificate,
    ]

    // MARK: - Words

    /// What can make known facts disagree with the server's answer: first what the command line asserted (the
    /// likeliest, and the capture may say so), then the state, then the server.
    static func reasons(_ request: CapturedRequest) -> String {
        var reasons: [String] = request.contradictions
        for assumption in request.assumptions { reasons.append("\(assumption) does not describe this client") }
        reasons += ["the state changed around the request", "the snapshot is not of this server"]
        return reasons.joined(separator: ", ") + ", or the server erred"
    }

    /// The facts in words; what settles each is in the finding's `missing`.
    static func describe(_ facts: [Unknown.Fact]) -> String {
        var phrases: [String] = []
        for fact in facts {
            let phrase = Self.phrase(fact.path)
            if !phrases.contains(phrase) { phrases.append(phrase) }
        }
        switch phrases.count {
        case 0: return "a fact the decision needs"
        case 1: return phrases[0]
        default: return phrases.dropLast().joined(separator: ", ") + " and " + phrases.last!
        }
    }

    /// A fact's path as a reader says it.
    static func phrase(_ path: String) -> String {
        let glossary: [(prefix: String, phrase: String)] = [
            ("request.client.ip", "the address the server saw"),
            ("request.client.mac", "the MAC header the server received"),
            ("request.token", "whether this key manager issued the bearer token"),
            ("request.credentialsRequired", "whether the server asked for credentials on v1.0 reads"),
            ("request.serverTime", "the server's time"),
            ("request.body.keyVersion", "the key version the request names (in its body)"),
            ("request.client", "what the server saw of the client"),
            ("certificate", "the client certificate the client presented"),
            ("store.ipv4s", "the key store's IPv4 entries"), ("store.macs", "the key store's MAC entries"),
            ("store.certificates", "the key store's certificate entries"), ("store", "the key store"),
            ("key.status", "the key's status at the request's time"), ("key", "the key the request names"),
            ("version", "the key's versions"), ("entry", "the registered entry the request names"),
            ("namedAccessKey", "the User Access Key the path names"), ("accessKey", "the User Access Key"),
            ("appkey", "the appkey"), ("events", "the audit events"), ("ca", "the installation's client CA"),
        ]
        for (prefix, phrase) in glossary where path == prefix || path.hasPrefix(prefix + ".") {
            return phrase
        }
        return path
    }

    /// The time within which the request ran, in words: "its 1.2 ms", or the second a `Date` header names.
    static func span(of request: CapturedRequest) -> String {
        request.timeSpan > 0
            ? "the two seconds after its answer's Date header, which counts whole seconds and may lag by one"
            : "its \(milliseconds(request.record.durationMs))"
    }

    static func milliseconds(_ value: Double) -> String {
        value < 10 ? String(format: "%.1f ms", value) : String(format: "%.0f ms", value)
    }

    package static func lowercasedFirst(_ text: String) -> String {
        guard let first = text.first else { return text }
        // "The key was deleted" reads as "the key was deleted" inside a sentence; names and acronyms stay.
        let second = text.dropFirst().first
        if second?.isUppercase == true { return text }
        return first.lowercased() + text.dropFirst()
    }
}
