import Foundation
import SKMCore
import SKMRules

/// Turns a failed request into a ``Finding``: builds its facts, runs the logged error's rule with evidence, replays
/// the decision procedure, and weighs the two.
public struct Diagnoser: Sendable {
    public let rules: RuleSet
    public let facts: FactBuilder

    public init(rules: RuleSet, facts: FactBuilder) {
        self.rules = rules
        self.facts = facts
    }

    public func diagnose(_ request: CapturedRequest) -> Finding {
        let activation = facts.facts(for: request)
        return diagnose(request, facts: activation)
    }

    public func diagnose(_ request: CapturedRequest, facts activation: Activation) -> Finding {
        let cache = DefinitionCache()
        let code = request.record.response.resultCode
        let observed = APIError(resultCode: code)
        let prediction = rules.predict(facts: activation, logged: code, cache: cache)
        var finding = Finding(
            request: request, observed: observed, rule: nil, outcome: nil, cause: nil, explanation: nil, fix: nil,
            event: nil, prediction: prediction, verdict: .unexplained, note: nil, missing: [])

        guard let observed else {
            finding.note =
                "The response carried no SKM result code (HTTP \(request.record.response.httpStatus)): the failure came from something in front of SKM, or the capture lost the body."
            return finding
        }
        guard let rule = rules.rules(explaining: observed.resultCode).first else {
            finding.note = "No rule explains \(observed.resultMessage) (\(observed.resultCode))."
            return finding
        }
        let outcome = rules.evaluate(rule, facts: activation, cache: cache)
        finding.rule = rule
        finding.outcome = outcome
        finding.missing = Self.missing(outcome: outcome, prediction: prediction)

        let predicted = prediction.failure
        if let cause = outcome.cause {
            finding.cause = cause
            let (explanation, fix) = rules.describe(cause, facts: activation, cache: cache)
            finding.explanation = explanation
            finding.fix = fix
            if let event = cause.event, case .object = event { finding.event = event }
            if let predicted, predicted.rule.error.code != observed.resultCode,
                predicted.check.order < cause.check.order
            {
                finding.verdict = .mismatch
                finding.note =
                    "The check \"\(predicted.check.title)\" of \(predicted.rule.id) fails before this cause is reached, so the server should have answered \(predicted.rule.error.message): the state changed around the request, the snapshot is not of this server, or the server erred."
            } else if case .bool(false) = outcome.applicable {
                finding.verdict = .mismatch
                finding.note =
                    "The rule for \(observed.resultMessage) does not apply to this request as the state describes it."
            } else {
                finding.verdict = .confirmed
            }
            return finding
        }

        // The logged error is still possible when the capture cannot decide its rule's checks.
        let undecided =
            outcome.firstUnknown ?? unknownGuard(outcome)
            ?? prediction.unknownsBefore.first { $0.rule.id == rule.id }.flatMap { step in
                outcome.checks.first { $0.check.id == step.check.id }
            }
        if undecided == nil, let predicted, predicted.rule.error.code != observed.resultCode,
            !predicted.check.byElimination
        {
            finding.verdict = .mismatch
            finding.note =
                "No check of \(rule.id) fails, and replaying the decision procedure says the server should have answered \(predicted.rule.error.message) (the check \"\(predicted.check.title)\" fails)."
        } else if let unknown = undecided {
            finding.verdict = .unexplained
            let facts = finding.missing.map { "\($0.path) (\($0.settle))" }.joined(separator: "; ")
            finding.note =
                "The capture cannot decide the check \"\(unknown.check.title)\": it lacks \(facts.isEmpty ? "a fact" : facts)."
        } else {
            finding.verdict = .unexplained
            finding.note =
                "Every check of \(rule.id) passes on the state at the request's time: no documented cause fits. Escalate with the summary."
        }
        return finding
    }

    private func unknownGuard(_ outcome: RuleOutcome) -> CheckOutcome? {
        guard case .unknown = outcome.applicable else { return nil }
        return outcome.checks.first
    }

    /// The facts that would settle what the rule or the replay could not decide.
    static func missing(outcome: RuleOutcome, prediction: Prediction) -> [Unknown.Fact] {
        var facts: [Unknown.Fact] = []
        func add(_ unknown: Unknown?) {
            for fact in unknown?.facts ?? [] where !facts.contains(fact) { facts.append(fact) }
        }
        if case .unknown(let unknown) = outcome.applicable { add(unknown) }
        for check in outcome.checks where check.status == .unknown { add(check.unknown) }
        for step in prediction.unknownsBefore { add(step.unknown) }
        return facts
    }
}
