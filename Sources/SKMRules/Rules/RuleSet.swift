/// One check of the replay, with the index of its rule and what the replay reads of both.
///
/// Nothing here is retained: the rule set that holds the steps holds the rules, their checks and programs, and the
/// replay walks a few dozen steps per request, so reference counting would be a large share of its cost.
struct ReplayStep: Sendable {
    let rule: Int
    unowned(unsafe) let check: Check
    /// The check's guard and assertion, and its rule's guard.
    let when: Unmanaged<Program>?
    let assertion: Unmanaged<Program>
    let ruleWhen: Unmanaged<Program>?
    let byElimination: Bool
    /// The result code of the step's rule.
    let code: Int

    init(rule: Int, of owner: Rule, check: Check) {
        self.rule = rule
        self.check = check
        when = check.when.map { .passUnretained($0) }
        assertion = .passUnretained(check.assertion)
        ruleWhen = owner.when.map { .passUnretained($0) }
        byElimination = check.byElimination
        code = owner.error.code
    }

    /// The step with other programs to read for its guards and assertion (``GuardIndex``); whoever makes them keeps
    /// them alive.
    init(_ step: ReplayStep, when: Program?, assertion: Program, ruleWhen: Program?) {
        rule = step.rule
        check = step.check
        self.when = when.map { .passUnretained($0) }
        self.assertion = .passUnretained(assertion)
        self.ruleWhen = ruleWhen.map { .passUnretained($0) }
        byElimination = step.byElimination
        code = step.code
    }
}

/// A loaded, compiled set of rules: explains a logged error and replays the decision procedure on facts.
package struct RuleSet: Sendable {
    /// What the caller tells the rule engine about its domain.
    package struct Configuration: Sendable {
        /// The facts rules may refer to.
        package var schema: FactSchema
        /// The error catalogue: code → message. A rule must name one of these.
        package var catalogue: [Int: String]
        /// The tags of a request (its operation and category) that `applies_to` matches, read from the facts.
        package var tags: @Sendable (Activation) -> [String]
        /// Category names `applies_to` may use besides operation names.
        package var knownTags: Set<String>
        /// A string fact most guards test (`request.operation`), by its path. The replay indexes the checks by the
        /// values their guards name, so that it skips, without evaluating them, checks whose guards are certainly
        /// false. `nil`: no index.
        package var discriminator: [String]?
        /// The remedies a check may declare for fix simulation: each kind with its arguments' names and types.
        package var remedies: [String: [(name: String, type: CELType)]]

        package init(
            schema: FactSchema, catalogue: [Int: String], knownTags: Set<String>, discriminator: [String]? = nil,
            remedies: [String: [(name: String, type: CELType)]] = [:],
            tags: @escaping @Sendable (Activation) -> [String]
        ) {
            self.schema = schema
            self.catalogue = catalogue
            self.knownTags = knownTags
            self.discriminator = discriminator
            self.remedies = remedies
            self.tags = tags
        }
    }

    package let configuration: Configuration
    /// A digest of the rule files the set was loaded from (names and contents), for reports to cite.
    package let digest: String
    package let definitions: Definitions
    /// Rules in decision order.
    package let rules: [Rule]
    /// The checks the replay runs (warnings never decide an answer), in decision order.
    private let replay: [ReplayStep]
    private let byCode: [Int: [Int]]
    /// Rules by the tags of their `applies_to`, and those that apply to any request.
    private let byTag: NameTable<[Int]>
    private let anyRequest: [Int]
    private let index: GuardIndex?

    init(configuration: Configuration, definitions: Definitions, rules: [Rule], digest: String = "") {
        self.digest = digest
        self.configuration = configuration
        self.definitions = definitions
        let sorted = rules.enumerated().sorted { ($0.element.order, $0.offset) < ($1.element.order, $1.offset) }.map(
            \.element)
        self.rules = sorted
        // Every error check of every rule in decision order: by position, then rule, then the rule's own order.
        // Warnings never decide an answer, so the replay leaves them out.
        var steps: [(order: Int, rule: Int, check: Int)] = []
        for (ruleIndex, rule) in sorted.enumerated() {
            for (checkIndex, check) in rule.checks.enumerated() where check.severity == .error {
                steps.append((check.order, ruleIndex, checkIndex))
            }
        }
        let replay = steps.sorted { $0 < $1 }.map {
            ReplayStep(rule: $0.rule, of: sorted[$0.rule], check: sorted[$0.rule].checks[$0.check])
        }
        var byCode: [Int: [Int]] = [:]
        for (index, rule) in sorted.enumerated() { byCode[rule.error.code, default: []].append(index) }
        self.byCode = byCode
        var byTag: [String: [Int]] = [:]
        var anyRequest: [Int] = []
        for (index, rule) in sorted.enumerated() {
            if rule.appliesTo.contains("any") {
                anyRequest.append(index)
            } else {
                for tag in rule.appliesTo { byTag[tag, default: []].append(index) }
            }
        }
        self.byTag = NameTable(byTag)
        self.anyRequest = anyRequest
        self.replay = replay
        index = configuration.discriminator.flatMap {
            GuardIndex(path: $0, schema: configuration.schema, definitions: definitions, rules: sorted, steps: replay)
        }
    }

    /// The rules that explain `code`.
    package func rules(explaining code: Int) -> [Rule] {
        (byCode[code] ?? []).map { rules[$0] }
    }

    package func rule(id: String) -> Rule? {
        rules.first { $0.id == id }
    }

    /// Runs every check of `rule` on the facts, in the rule's order, with evidence. Pass the same `cache` to every
    /// call about one request, so that shared definitions are computed once.
    package func evaluate(
        _ rule: Rule, facts: Activation, recordingEvidence: Bool = true, cache: DefinitionCache = DefinitionCache()
    ) -> RuleOutcome {
        let applies = rule.applies(to: tags(of: facts, cache: cache))
        return Frame.with(facts, cache: cache) { frame in
            let applicable = guardValue(rule, applies: applies, frame: &frame)
            var outcomes: [CheckOutcome] = []
            outcomes.reserveCapacity(rule.checks.count)
            // Every check's evidence in one list, with room for all of it at once.
            if recordingEvidence {
                var capacity = 0
                for check in rule.checks.lazy.map(Unmanaged.passUnretained) {
                    capacity += check._withUnsafeGuaranteedRef { $0.assertion.evidenceCapacity }
                }
                frame.evidence.reserveCapacity(capacity)
            }
            var causeFound = false
            // The rule holds its checks for as long as this runs.
            for check in rule.checks.lazy.map(Unmanaged.passUnretained) {
                let outcome = check._withUnsafeGuaranteedRef {
                    $0.run(recordingEvidence: recordingEvidence, causeFound: causeFound, frame: &frame)
                }
                if outcome.status == .failed && outcome.check.severity == .error { causeFound = true }
                outcomes.append(outcome)
            }
            if !frame.evidence.isEmpty {
                var evidence: [Evidence] = []
                swap(&evidence, &frame.evidence)
                for index in outcomes.indices { outcomes[index].share(evidence) }
            }
            return RuleOutcome(rule: rule, applicable: applicable, checks: outcomes)
        }
    }

    /// Whether `rule` applies to the request the facts describe (its `applies_to` and `when`), without running its
    /// checks.
    package func applicability(of rule: Rule, facts: Activation) -> Value {
        let applies = rule.applies(to: configuration.tags(facts))
        return Frame.with(facts, cache: DefinitionCache()) { guardValue(rule, applies: applies, frame: &$0) }
    }

    /// The request's tags, kept in its cache: every call about the request reads them.
    private func tags(of facts: Activation, cache: DefinitionCache) -> [String] {
        if let tags = cache.tags { return tags }
        let tags = configuration.tags(facts)
        cache.tags = tags
        return tags
    }

    func guardValue(_ rule: Rule, applies: Bool, frame: inout Frame) -> Value {
        guard applies else { return .bool(false) }
        guard let when = rule.when.map(Unmanaged.passUnretained) else { return .bool(true) }
        // The rule holds its guard for as long as this runs. Read for its truth first, evaluated only when it is
        // neither true nor false.
        return when._withUnsafeGuaranteedRef { when in
            switch when.truth(in: &frame) {
            case .yes: .bool(true)
            case .no: .bool(false)
            case .other: when.evaluate(in: &frame)
            }
        }
    }

    /// Replays the decision procedure: every check of every applicable rule in decision order, and the first that
    /// fails is what the server should have answered. Checks that cannot be decided are noted and passed over.
    /// A check found by elimination counts only for the rule of `logged`.
    package func predict(facts: Activation, logged code: Int?, cache: DefinitionCache = DefinitionCache()) -> Prediction
    {
        // Per rule: 0 not applicable, 1 guard not evaluated yet, 2 guard true, 3 guard false, 4 guard unknown. Kept
        // on the stack: the replay runs once per failed request and should allocate as little as it can.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(1, rules.count)) { guards in
            guards.initialize(repeating: 0)
            for index in anyRequest { guards[index] = 1 }
            for tag in tags(of: facts, cache: cache) {
                for index in byTag[tag] ?? [] { guards[index] = 1 }
            }
            return replay(facts: facts, logged: code, cache: cache, guards: guards)
        }
    }

    private func replay(
        facts: Activation, logged code: Int?, cache: DefinitionCache, guards: UnsafeMutableBufferPointer<UInt8>
    ) -> Prediction {
        Frame.with(facts, cache: cache) { frame in
            replay(logged: code, guards: guards, frame: &frame)
        }
    }

    private func replay(
        logged code: Int?, guards: UnsafeMutableBufferPointer<UInt8>, frame: inout Frame
    )
        -> Prediction
    {
        var unknowns: [Prediction.Step] = []
        for step in index?.steps(for: frame.activation) ?? replay {
            let ruleIndex = step.rule
            // Each condition is read for its truth first; only one that is neither true nor false is evaluated, to
            // learn whether it is unknown.
            if guards[ruleIndex] == 1 {
                switch step.ruleWhen?._withUnsafeGuaranteedRef({ $0.truth(in: &frame) }) ?? .yes {
                case .yes: guards[ruleIndex] = 2
                case .no: guards[ruleIndex] = 3
                case .other:
                    if case .unknown(let unknown) = step.ruleWhen!._withUnsafeGuaranteedRef({ $0.evaluate(in: &frame) })
                    {
                        guards[ruleIndex] = 4
                        unknowns.append(.init(rule: rules[ruleIndex], check: step.check, unknown: unknown))
                    } else {
                        guards[ruleIndex] = 3
                    }
                }
            }
            guard guards[ruleIndex] == 2 else { continue }
            if let when = step.when {
                switch when._withUnsafeGuaranteedRef({ $0.truth(in: &frame) }) {
                case .yes: break
                case .no: continue
                case .other:
                    if case .unknown(let unknown) = when._withUnsafeGuaranteedRef({ $0.evaluate(in: &frame) }) {
                        unknowns.append(.init(rule: rules[ruleIndex], check: step.check, unknown: unknown))
                    }
                    continue
                }
            }
            if step.byElimination {
                if step.code == code {
                    return Prediction(
                        failure: .init(rule: rules[ruleIndex], check: step.check, unknown: nil), byElimination: true,
                        unknownsBefore: unknowns)
                }
                continue
            }
            switch step.assertion._withUnsafeGuaranteedRef({ $0.truth(in: &frame) }) {
            case .yes: continue
            case .no:
                return Prediction(
                    failure: .init(rule: rules[ruleIndex], check: step.check, unknown: nil), byElimination: false,
                    unknownsBefore: unknowns)
            case .other:
                if case .unknown(let unknown) = step.assertion._withUnsafeGuaranteedRef({ $0.evaluate(in: &frame) }) {
                    unknowns.append(.init(rule: rules[ruleIndex], check: step.check, unknown: unknown))
                }
            }
        }
        return Prediction(failure: nil, byElimination: false, unknownsBefore: unknowns)
    }

    /// Renders a check's explanation and fix on the facts, strictly (``Template/render(_:cache:)``). Pass the cache
    /// of the other calls about the request.
    package func describe(
        _ check: Check, facts: Activation, cache: DefinitionCache = DefinitionCache()
    ) -> (explanation: Template.Rendering, fix: Template.Rendering) {
        (check.explanation.render(facts, cache: cache), check.fix.render(facts, cache: cache))
    }

    /// The hints of `rule` about `cause`, each with whether it holds on the facts and the evidence it read. Pass the
    /// cache of the other calls about the request.
    package func hints(
        of rule: Rule, about cause: Check, facts: Activation, cache: DefinitionCache = DefinitionCache()
    ) -> [HintOutcome] {
        rule.hints.filter { $0.about.isEmpty || $0.about.contains(cause.id) }.map { hint in
            let (value, evidence) = Frame.with(facts, cache: cache) { hint.holds.evaluateWithEvidence(in: &$0) }
            return HintOutcome(hint: hint, holds: value, evidence: evidence)
        }
    }

    /// The remedy a check declares, evaluated on the facts; `nil` when it declares none or an argument cannot be
    /// computed (an unknown or failing fact: nothing to simulate with).
    package func remedy(of check: Check, facts: Activation) -> Remedy? {
        guard let template = check.remedy else { return nil }
        if let when = template.when, when.evaluateStrictly(facts).boolValue != true { return nil }
        var arguments: [String: Value] = [:]
        for (name, program) in template.arguments {
            let value = program.evaluateStrictly(facts)
            if value.isUnknown || value.isError { return nil }
            arguments[name] = value
        }
        return Remedy(kind: template.kind, arguments: arguments)
    }
}

extension Check {
    /// The check's outcome on the frame's facts, its evidence recorded in the frame's list (the outcome is given the
    /// list with ``CheckOutcome/share(_:)``). The check holds its programs for as long as this runs, so they are
    /// evaluated without a reference count each.
    func run(recordingEvidence: Bool, causeFound: Bool, frame: inout Frame) -> CheckOutcome {
        func outcome(
            _ status: CheckOutcome.Status, evidence: Range<Int> = 0..<0, unknown: Unknown? = nil,
            failure: String? = nil,
            event: Value? = nil
        ) -> CheckOutcome {
            CheckOutcome(
                check: self, status: status, evidence: evidence, unknown: unknown, failure: failure, event: event)
        }
        if let when = when.map(Unmanaged.passUnretained) {
            switch when._withUnsafeGuaranteedRef({ $0.evaluate(in: &frame) }) {
            case .bool(true): break
            case .bool(false): return outcome(.skipped)
            case .unknown(let unknown): return outcome(.unknown, unknown: unknown)
            case .error(let error): return outcome(.error, failure: error.reason)
            default: return outcome(.error, failure: "the check's guard is not a bool")
            }
        }
        if byElimination {
            // Unobservable: the cause only when nothing before it explained the failure.
            return causeFound ? outcome(.skipped) : outcome(.failed, event: event?.evaluate(in: &frame))
        }
        let assertion = Unmanaged.passUnretained(assertion)
        if !recordingEvidence {
            switch assertion._withUnsafeGuaranteedRef({ $0.truth(in: &frame) }) {
            case .yes: return outcome(.passed)
            case .no: return outcome(.failed, event: event?.evaluate(in: &frame))
            case .other: break
            }
        }
        let (value, evidence) =
            recordingEvidence
            ? assertion._withUnsafeGuaranteedRef { $0.evaluateRecording(in: &frame) }
            : (assertion._withUnsafeGuaranteedRef { $0.evaluate(in: &frame) }, 0..<0)
        switch value {
        case .bool(true): return outcome(.passed, evidence: evidence)
        case .bool(false):
            let event = event?.evaluate(in: &frame)
            return outcome(.failed, evidence: evidence, event: event)
        case .unknown(let unknown): return outcome(.unknown, evidence: evidence, unknown: unknown)
        case .error(let error): return outcome(.error, evidence: evidence, failure: error.reason)
        default: return outcome(.error, evidence: evidence, failure: "the assertion is not a bool")
        }
    }
}
