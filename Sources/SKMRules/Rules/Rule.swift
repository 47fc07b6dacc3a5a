/// How much a rule or check matters.
package enum Severity: String, Sendable, Hashable, Codable {
    /// A cause of the failure.
    case error
    /// Worth saying, but not why the request failed (a certificate about to expire).
    case warning
}

/// A compiled rule: the documented error it explains and the ordered checks that find the cause.
package final class Rule: Sendable {
    package struct ErrorReference: Sendable, Hashable {
        package var message: String
        package var code: Int
    }

    package let id: String
    package let title: String
    package let error: ErrorReference
    /// Where the rule's checks sit in the engine's decision procedure; lower runs first.
    package let order: Int
    /// Operation names and categories (`data`, `management`, `confirm`, `token`, `unknown`, `any`).
    package let appliesTo: Set<String>
    /// Whether `appliesTo` holds `any`.
    private let appliesToAny: Bool
    /// `appliesTo`, for ``applies(to:)`` to look up.
    private let appliesToTable: NameTable<Bool>
    /// The Solution Guide heading the rule answers, verbatim.
    package let guide: String?
    package let severity: Severity
    package let summary: String
    package let references: [String]
    package let file: String
    package let when: Program?
    package let checks: [Check]
    /// Inferences shown beside a cause ("likely because …"); they never decide a verdict.
    package let hints: [Hint]
    package let tests: [RuleTest]

    init(
        id: String, title: String, error: ErrorReference, order: Int, appliesTo: Set<String>, guide: String?,
        severity: Severity, summary: String, references: [String], file: String, when: Program?, checks: [Check],
        hints: [Hint] = [], tests: [RuleTest]
    ) {
        self.id = id
        self.title = title
        self.error = error
        self.order = order
        self.appliesTo = appliesTo
        appliesToAny = appliesTo.contains("any")
        appliesToTable = NameTable(Dictionary(uniqueKeysWithValues: appliesTo.map { ($0, true) }))
        self.guide = guide
        self.severity = severity
        self.summary = summary
        self.references = references
        self.file = file
        self.when = when
        self.checks = checks
        self.hints = hints
        self.tests = tests
    }

    /// Whether the rule is about a request described by `tags`.
    package func applies(to tags: [String]) -> Bool {
        appliesToAny || tags.contains { appliesToTable[$0] != nil }
    }
}

/// One check of a rule: an assertion that holds unless this is why the request failed.
package final class Check: Sendable {
    package let id: String
    /// What holds when the check passes ("The key was not deleted").
    package let title: String
    /// What failed when it does ("The key was deleted"): the name of the cause wherever a failure is shown.
    package let failure: String
    /// The decision-procedure position of this check (the rule's own unless the check says otherwise).
    package let order: Int
    package let severity: Severity
    /// A cause found by elimination: it cannot be observed, so it "fails" when every check before it passed and the
    /// logged error is this rule's. Never predicted on its own.
    package let byElimination: Bool
    package let when: Program?
    package let assertion: Program
    package let explanation: Template
    package let fix: Template
    let event: Program?
    /// The change of state (or of the request) the fix asks for, for fix simulation; `nil` when the fix is not one.
    package let remedy: RemedyTemplate?

    init(
        id: String, title: String, failure: String, order: Int, severity: Severity, byElimination: Bool,
        when: Program?, assertion: Program, explanation: Template, fix: Template, event: Program?,
        remedy: RemedyTemplate? = nil
    ) {
        self.id = id
        self.title = title
        self.failure = failure
        self.order = order
        self.severity = severity
        self.byElimination = byElimination
        self.when = when
        self.assertion = assertion
        self.explanation = explanation
        self.fix = fix
        self.event = event
        self.remedy = remedy
    }

    package var assertionText: String { assertion.source.text }
}

/// An inference about why a cause came about (a NAT, a proxy that drops a header, a skewed clock): shown beside the
/// cause as "likely because …" with its evidence when it holds, and never a cause or a verdict by itself.
package final class Hint: Sendable {
    package let id: String
    /// What the hint says when it holds ("The client reaches SKM through NAT").
    package let title: String
    /// The causes (check ids of the rule) it is about; empty for any cause of the rule.
    package let about: Set<String>
    let holds: Program
    /// The facts the inference rests on, by path.
    package let needs: [String]
    package let explanation: Template
    package let fix: Template?

    init(
        id: String, title: String, about: Set<String>, holds: Program, needs: [String], explanation: Template,
        fix: Template?
    ) {
        self.id = id
        self.title = title
        self.about = about
        self.holds = holds
        self.needs = needs
        self.explanation = explanation
        self.fix = fix
    }

    package var conditionText: String { holds.source.text }
}

/// What a hint said about one request.
package struct HintOutcome: Sendable {
    package let hint: Hint
    /// `true` when the inference holds; `false` or unknown otherwise.
    package let holds: Value
    package let evidence: [Evidence]
}

/// A check's remedy as its rule file declares it: a kind the domain knows, and an expression per argument.
package struct RemedyTemplate: Sendable {
    package let kind: String
    /// When the remedy applies; always when `nil`.
    let when: Program?
    let arguments: [(name: String, program: Program)]
}

/// A remedy evaluated on one request's facts: the kind and the value of each argument.
package struct Remedy: Sendable {
    package let kind: String
    package let arguments: [String: Value]

    package init(kind: String, arguments: [String: Value]) {
        self.kind = kind
        self.arguments = arguments
    }
}

/// A test embedded in a rule file: facts, and which check should fail on them.
package struct RuleTest: Sendable {
    package enum Expectation: Sendable, Hashable {
        /// The check fails first; `hint`, when given, holds beside it.
        case fails(String, hint: String? = nil)
        case warns(String)
        case unknown(String)
        case passes
        case notApplicable
    }

    package let name: String
    package let facts: Activation
    package let tags: [String]
    package let expectation: Expectation
    let line: Int
    let column: Int
}

/// What one check said about one request.
package struct CheckOutcome: Sendable {
    package enum Status: String, Sendable, Hashable {
        case passed, failed, unknown, skipped, error
    }

    package let check: Check
    package let status: Status
    /// The values of the sub-expressions the assertion read.
    package var evidence: ArraySlice<Evidence> { shared[evidenceRange] }
    /// The evidence of every check of the rule evaluation (empty when this one recorded none): one list, where a
    /// list each would make and free one per check.
    private var shared: [Evidence] = []
    /// Where this check's evidence is in ``shared``.
    private let evidenceRange: Range<Int>
    /// What few outcomes have (an unknown, a failure, an event), in one box: an evaluation makes and destroys an
    /// outcome for every check of the rule, and most have none of them.
    private let details: Details?

    /// What the capture lacked, when the status is unknown.
    package var unknown: Unknown? { details?.unknown }
    /// Why the assertion could not be evaluated, when the status is error.
    package var failure: String? { details?.failure }
    /// The audit event the check names as the cause, when there is one.
    package var event: Value? { details?.event }

    private final class Details: Sendable {
        let unknown: Unknown?
        let failure: String?
        let event: Value?

        init(unknown: Unknown?, failure: String?, event: Value?) {
            (self.unknown, self.failure, self.event) = (unknown, failure, event)
        }
    }

    /// An outcome whose evidence, at `evidence` in the list its rule evaluation records, is given later
    /// (``share(_:)``): once every check has recorded, since the list grows until then.
    init(
        check: Check, status: Status, evidence: Range<Int>, unknown: Unknown?, failure: String?, event: Value?
    ) {
        self.check = check
        self.status = status
        // An empty range at 0, so that it slices the empty list an outcome without evidence keeps.
        evidenceRange = evidence.isEmpty ? 0..<0 : evidence
        details =
            unknown == nil && failure == nil && event == nil
            ? nil : Details(unknown: unknown, failure: failure, event: event)
    }

    /// Gives the outcome the list its rule evaluation recorded, once it is complete.
    mutating func share(_ evidence: [Evidence]) {
        if !evidenceRange.isEmpty { shared = evidence }
    }
}

/// A rule's verdict on one request.
package struct RuleOutcome: Sendable {
    package let rule: Rule
    /// `true`, `false`, or unknown when the guard could not be decided.
    package let applicable: Value
    package let checks: [CheckOutcome]

    /// The first failing check that is a cause (not a warning).
    package var cause: CheckOutcome? {
        // By index: a closure over the elements would copy each outcome it looks at.
        for index in checks.indices where checks[index].status == .failed && checks[index].check.severity == .error {
            return checks[index]
        }
        return nil
    }

    package var warnings: [CheckOutcome] {
        checks.filter { $0.status == .failed && $0.check.severity == .warning }
    }

    /// The first check that could not be decided, before any cause.
    package var firstUnknown: CheckOutcome? {
        for outcome in checks where outcome.check.severity == .error {
            if outcome.status == .failed { return nil }
            if outcome.status == .unknown { return outcome }
        }
        return nil
    }
}

/// What the decision procedure, replayed on the facts, says the server should have answered.
package struct Prediction: Sendable {
    package struct Step: Sendable {
        package let rule: Rule
        package let check: Check
        package let unknown: Unknown?
    }

    /// The first check that fails in decision order; `nil` when every check passes (the request should succeed).
    package let failure: Step?
    /// Whether the failure is only by elimination (the logged error's residual cause).
    package let byElimination: Bool
    /// Checks before the failure that could not be decided, in order: what would settle the prediction.
    package let unknownsBefore: [Step]
}
