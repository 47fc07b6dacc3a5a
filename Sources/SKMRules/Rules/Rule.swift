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
    public let tests: [RuleTest]

    init(
        id: String, title: String, error: ErrorReference, order: Int, appliesTo: Set<String>, guide: String?,
        severity: Severity, summary: String, references: [String], file: String, when: Program?, checks: [Check],
        tests: [RuleTest]
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
    public let title: String
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

    init(
        id: String, title: String, order: Int, severity: Severity, byElimination: Bool, when: Program?,
        assertion: Program, explanation: Template, fix: Template, event: Program?
    ) {
        self.id = id
        self.title = title
        self.order = order
        self.severity = severity
        self.byElimination = byElimination
        self.when = when
        self.assertion = assertion
        self.explanation = explanation
        self.fix = fix
        self.event = event
    }

    public var assertionText: String { assertion.source.text }
}

/// A test embedded in a rule file: facts, and which check should fail on them.
public struct RuleTest: Sendable {
    public enum Expectation: Sendable, Hashable {
        case fails(String)
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
