/// How much a rule or check matters.
public enum Severity: String, Sendable, Hashable, Codable {
    /// A cause of the failure.
    case error
    /// Worth saying, but not why the request failed (a certificate about to expire).
    case warning
}

/// A compiled rule: the documented error it explains and the ordered checks that find the cause.
public final class Rule: Sendable {
    public struct ErrorReference: Sendable, Hashable {
        public var message: String
        public var code: Int
    }

    public let id: String
    public let title: String
    public let error: ErrorReference
    /// Where the rule's checks sit in the engine's decision procedure; lower runs first.
    public let order: Int
    /// Operation names and categories (`data`, `management`, `confirm`, `token`, `unknown`, `any`).
    public let appliesTo: Set<String>
    /// The Solution Guide heading the rule answers, verbatim.
    public let guide: String?
    public let severity: Severity
    public let summary: String
    public let references: [String]
    public let file: String
    let when: Program?
    public let checks: [Check]
    /// Inferences shown beside a cause ("likely because …"); they never decide a verdict.
    public let hints: [Hint]
    public let tests: [RuleTest]

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
    public func applies(to tags: [String]) -> Bool {
        appliesTo.contains("any") || tags.contains { appliesTo.contains($0) }
    }
}

/// One check of a rule: an assertion that holds unless this is why the request failed.
public final class Check: Sendable {
    public let id: String
    /// What holds when the check passes ("The key was not deleted").
    public let title: String
    /// What failed when it does ("The key was deleted"): the name of the cause wherever a failure is shown.
    public let failure: String
    /// The decision-procedure position of this check (the rule's own unless the check says otherwise).
    public let order: Int
    public let severity: Severity
    /// A cause found by elimination: it cannot be observed, so it "fails" when every check before it passed and the
    /// logged error is this rule's. Never predicted on its own.
    public let byElimination: Bool
    let when: Program?
    let assertion: Program
    public let explanation: Template
    public let fix: Template
    let event: Program?
    /// The change of state (or of the request) the fix asks for, for fix simulation; `nil` when the fix is not one.
    public let remedy: RemedyTemplate?

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

    public var assertionText: String { assertion.source.text }
}

/// An inference about why a cause came about (a NAT, a proxy that drops a header, a skewed clock): shown beside the
/// cause as "likely because …" with its evidence when it holds, and never a cause or a verdict by itself.
public final class Hint: Sendable {
    public let id: String
    /// What the hint says when it holds ("The client reaches SKM through NAT").
    public let title: String
    /// The causes (check ids of the rule) it is about; empty for any cause of the rule.
    public let about: Set<String>
    let holds: Program
    /// The facts the inference rests on, by path.
    public let needs: [String]
    public let explanation: Template
    public let fix: Template?

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

    public var conditionText: String { holds.source.text }
}

/// What a hint said about one request.
public struct HintOutcome: Sendable {
    public let hint: Hint
    /// `true` when the inference holds; `false` or unknown otherwise.
    public let holds: Value
    public let evidence: [Evidence]
}

/// A check's remedy as its rule file declares it: a kind the domain knows, and an expression per argument.
public struct RemedyTemplate: Sendable {
    public let kind: String
    /// When the remedy applies; always when `nil`.
    let when: Program?
    let arguments: [(name: String, program: Program)]
}

/// A remedy evaluated on one request's facts: the kind and the value of each argument.
public struct Remedy: Sendable {
    public let kind: String
    public let arguments: [String: Value]

    public init(kind: String, arguments: [String: Value]) {
        self.kind = kind
        self.arguments = arguments
    }
}

/// A test embedded in a rule file: facts, and which check should fail on them.
public struct RuleTest: Sendable {
    public enum Expectation: Sendable, Hashable {
        /// The check fails first; `hint`, when given, holds beside it.
        case fails(String, hint: String? = nil)
        case warns(String)
        case unknown(String)
        case passes
        case notApplicable
    }

    public let name: String
    public let facts: Activation
    public let tags: [String]
    public let expectation: Expectation
    let line: Int
    let column: Int
}

/// What one check said about one request.
public struct CheckOutcome: Sendable {
    public enum Status: String, Sendable, Hashable {
        case passed, failed, unknown, skipped, error
    }

    public let check: Check
    public let status: Status
    /// The values of the sub-expressions the assertion read.
    public let evidence: [Evidence]
    /// What the capture lacked, when the status is unknown.
    public let unknown: Unknown?
    /// Why the assertion could not be evaluated, when the status is error.
    public let failure: String?
    /// The audit event the check names as the cause, when there is one.
    public let event: Value?
}

/// A rule's verdict on one request.
public struct RuleOutcome: Sendable {
    public let rule: Rule
    /// `true`, `false`, or unknown when the guard could not be decided.
    public let applicable: Value
    public let checks: [CheckOutcome]

    /// The first failing check that is a cause (not a warning).
    public var cause: CheckOutcome? {
        checks.first { $0.status == .failed && $0.check.severity == .error }
    }

    public var warnings: [CheckOutcome] {
        checks.filter { $0.status == .failed && $0.check.severity == .warning }
    }

    /// The first check that could not be decided, before any cause.
    public var firstUnknown: CheckOutcome? {
        for outcome in checks where outcome.check.severity == .error {
            if outcome.status == .failed { return nil }
            if outcome.status == .unknown { return outcome }
        }
        return nil
    }
}

/// What the decision procedure, replayed on the facts, says the server should have answered.
public struct Prediction: Sendable {
    public struct Step: Sendable {
        public let rule: Rule
        public let check: Check
        public let unknown: Unknown?
    }

    /// The first check that fails in decision order; `nil` when every check passes (the request should succeed).
    public let failure: Step?
    /// Whether the failure is only by elimination (the logged error's residual cause).
    public let byElimination: Bool
    /// Checks before the failure that could not be decided, in order: what would settle the prediction.
    public let unknownsBefore: [Step]
}
