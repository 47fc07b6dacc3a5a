/// A loaded, compiled set of rules: explains a logged error and replays the decision procedure on facts.
public struct RuleSet: Sendable {
    /// What the caller tells the rule engine about its domain.
    public struct Configuration: Sendable {
        /// The facts rules may refer to.
        public var schema: FactSchema
        /// The error catalogue: code → message. A rule must name one of these.
        public var catalogue: [Int: String]
        /// The tags of a request (its operation and category) that `applies_to` matches, read from the facts.
        public var tags: @Sendable (Activation) -> Set<String>
        /// Category names `applies_to` may use besides operation names.
        public var knownTags: Set<String>

        public init(
            schema: FactSchema, catalogue: [Int: String], knownTags: Set<String>,
            tags: @escaping @Sendable (Activation) -> Set<String>
        ) {
            self.schema = schema
            self.catalogue = catalogue
            self.knownTags = knownTags
            self.tags = tags
        }
    }

    public let configuration: Configuration
    public let definitions: Definitions
    /// Rules in decision order.
    public let rules: [Rule]
    /// Every check of every rule, in decision order: (rule index, check index).
    let sequence: [(rule: Int, check: Int)]
    private let byCode: [Int: [Int]]

    init(configuration: Configuration, definitions: Definitions, rules: [Rule]) {
        self.configuration = configuration
        self.definitions = definitions
        let sorted = rules.enumerated().sorted { ($0.element.order, $0.offset) < ($1.element.order, $1.offset) }.map(
            \.element)
        self.rules = sorted
        var steps: [(rule: Int, check: Int, order: Int)] = []
        for (ruleIndex, rule) in sorted.enumerated() {
            for (checkIndex, check) in rule.checks.enumerated() {
                steps.append((ruleIndex, checkIndex, check.order))
            }
        }
        sequence = steps.enumerated().sorted {
            ($0.element.order, $0.element.rule, $0.element.check, $0.offset)
                < ($1.element.order, $1.element.rule, $1.element.check, $1.offset)
        }.map { ($0.element.rule, $0.element.check) }
        var byCode: [Int: [Int]] = [:]
        for (index, rule) in sorted.enumerated() { byCode[rule.error.code, default: []].append(index) }
        self.byCode = byCode
    }

    /// The rules that explain `code`.
    public func rules(explaining code: Int) -> [Rule] {
        (byCode[code] ?? []).map { rules[$0] }
    }

    public func rule(id: String) -> Rule? {
        rules.first { $0.id == id }
    }

    /// Runs every check of `rule` on the facts, in the rule's order, with evidence.
    public func evaluate(_ rule: Rule, facts: Activation, recordingEvidence: Bool = true) -> RuleOutcome {
        let tags = configuration.tags(facts)
        let applicable = guardValue(rule, facts: facts, tags: tags)
        var outcomes: [CheckOutcome] = []
        outcomes.reserveCapacity(rule.checks.count)
        var causeFound = false
        for check in rule.checks {
            let outcome = run(check, facts: facts, recordingEvidence: recordingEvidence, causeFound: causeFound)
            if outcome.status == .failed && check.severity == .error { causeFound = true }
            outcomes.append(outcome)
        }
        return RuleOutcome(rule: rule, applicable: applicable, checks: outcomes)
    }

    func guardValue(_ rule: Rule, facts: Activation, tags: Set<String>) -> Value {
        guard rule.applies(to: tags) else { return .bool(false) }
        guard let when = rule.when else { return .bool(true) }
        return when.evaluate(facts)
    }

    private func run(_ check: Check, facts: Activation, recordingEvidence: Bool, causeFound: Bool) -> CheckOutcome {
        func outcome(
            _ status: CheckOutcome.Status, evidence: [Evidence] = [], unknown: Unknown? = nil, failure: String? = nil,
            event: Value? = nil
        ) -> CheckOutcome {
            CheckOutcome(
                check: check, status: status, evidence: evidence, unknown: unknown, failure: failure, event: event)
        }
        if let when = check.when {
            switch when.evaluate(facts) {
            case .bool(true): break
            case .bool(false): return outcome(.skipped)
            case .unknown(let unknown): return outcome(.unknown, unknown: unknown)
            case .error(let error): return outcome(.error, failure: error.message)
            default: return outcome(.error, failure: "the check's guard is not a bool")
            }
        }
        if check.byElimination {
            // Unobservable: the cause only when nothing before it explained the failure.
            return causeFound ? outcome(.skipped) : outcome(.failed, event: check.event?.evaluate(facts))
        }
        let (value, evidence) =
            recordingEvidence
            ? check.assertion.evaluateWithEvidence(facts) : (check.assertion.evaluate(facts), [])
        switch value {
        case .bool(true): return outcome(.passed, evidence: evidence)
        case .bool(false):
            let event = check.event.map { $0.evaluate(facts) }
            return outcome(.failed, evidence: evidence, event: event)
        case .unknown(let unknown): return outcome(.unknown, evidence: evidence, unknown: unknown)
        case .error(let error): return outcome(.error, evidence: evidence, failure: error.message)
        default: return outcome(.error, evidence: evidence, failure: "the assertion is not a bool")
        }
    }

    /// Replays the decision procedure: every check of every applicable rule in decision order, and the first that
    /// fails is what the server should have answered. Checks that cannot be decided are noted and passed over.
    /// A check found by elimination counts only for the rule of `logged`.
    public func predict(facts: Activation, logged code: Int?) -> Prediction {
        let tags = configuration.tags(facts)
        var guards: [Value?] = Array(repeating: nil, count: rules.count)
        var unknowns: [Prediction.Step] = []
        var unknownRules: Set<Int> = []
        for (ruleIndex, checkIndex) in sequence {
            let rule = rules[ruleIndex]
            let check = rule.checks[checkIndex]
            if check.severity == .warning { continue }
            if guards[ruleIndex] == nil { guards[ruleIndex] = guardValue(rule, facts: facts, tags: tags) }
            switch guards[ruleIndex]! {
            case .bool(true): break
            case .unknown(let unknown):
                if !unknownRules.contains(ruleIndex) {
                    unknownRules.insert(ruleIndex)
                    unknowns.append(.init(rule: rule, check: check, unknown: unknown))
                }
                continue
            default: continue
            }
            if let when = check.when {
                switch when.evaluate(facts) {
                case .bool(true): break
                case .unknown(let unknown):
                    unknowns.append(.init(rule: rule, check: check, unknown: unknown))
                    continue
                default: continue
                }
            }
            if check.byElimination {
                if rule.error.code == code {
                    return Prediction(
                        failure: .init(rule: rule, check: check, unknown: nil), byElimination: true,
                        unknownsBefore: unknowns)
                }
                continue
            }
            switch check.assertion.evaluate(facts) {
            case .bool(true): continue
            case .bool(false):
                return Prediction(
                    failure: .init(rule: rule, check: check, unknown: nil), byElimination: false,
                    unknownsBefore: unknowns)
            case .unknown(let unknown):
                unknowns.append(.init(rule: rule, check: check, unknown: unknown))
            default:
                continue
            }
        }
        return Prediction(failure: nil, byElimination: false, unknownsBefore: unknowns)
    }

    /// Renders a check's explanation and fix on the facts.
    public func describe(_ outcome: CheckOutcome, facts: Activation) -> (explanation: String, fix: String) {
        (outcome.check.explanation.render(facts), outcome.check.fix.render(facts))
    }
}
