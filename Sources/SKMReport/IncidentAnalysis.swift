import Foundation
import SKMAnalysis
import SKMCore
import SKMPrimitives
import SKMRules

/// SKM's analyser for other Swift programs: the public API of the library product `SKM`. Rule files and the key
/// manager's state in; captured requests (request logs, HAR) in; the incident report out, in every format
/// `skm analyze` writes.
///
/// Everything else in SKM's modules is `package`: free to change between releases. This is the part that is not.
///
/// ```swift
/// import SKMReport
///
/// let analysis = try IncidentAnalysis(rules: [URL(fileURLWithPath: "Rules")], state: Data(contentsOf: stateFile))
/// let report = analysis.run(["requests.jsonl"])
/// print(report.text())
/// ```
public struct IncidentAnalysis: Sendable {
    let rules: RuleSet
    let snapshot: StateSnapshot
    /// Mask appkeys and User Access Key ids in reports (the default).
    public var redact = true

    /// Loads the rule files (folders or files) and a state snapshot (`skm snapshot export` or `snapshot fetch`).
    public init(rules: [URL], state: Data) throws(IncidentAnalysisError) {
        switch SKMFacts.loadRules(rules) {
        case .success(let loaded): self.rules = loaded
        case .failure(let diagnostics): throw IncidentAnalysisError(.rules, diagnostics.description)
        }
        do {
            snapshot = try StateSnapshot.decode(state)
        } catch {
            throw IncidentAnalysisError(.state, "not a state snapshot: \(error)")
        }
    }

    /// Analyses the inputs in order (`-` is standard input). An input that cannot be read is named in the report's
    /// account of its inputs and skipped, as `skm analyze` does.
    public func run(_ inputs: [String], generatedAt: Date = Date()) -> IncidentAnalysisReport {
        let result = Analyzer(rules: rules, snapshot: snapshot).analyze(inputs)
        let options = IncidentReport.Options(toolVersion: "library", generatedAt: generatedAt, redact: redact)
        return IncidentAnalysisReport(
            report: IncidentReport(analysis: result, rules: rules, snapshot: snapshot, options: options))
    }
}

/// An incident report: its counts, and its renderings.
public struct IncidentAnalysisReport: Sendable {
    let report: IncidentReport

    /// Failed requests diagnosed.
    public var failures: Int { report.summary.failures }
    /// Failed requests whose cause every input confirms.
    public var confirmed: Int { report.summary.confirmed }
    /// Failed requests whose logged error is not the one the state and the request call for.
    public var mismatches: Int { report.summary.mismatches }
    /// Failed requests the inputs cannot decide.
    public var unexplained: Int { report.summary.unexplained }
    /// Triage groups (one cause in one place).
    public var groups: Int { report.summary.groups }

    /// The terminal report, without colour.
    public func text() -> String { TextReportRenderer(color: false).render(report) }
    /// The JSON report (`Schemas/incident-report.schema.json`).
    public func json() -> String { String(decoding: JSONReportRenderer().render(report), as: UTF8.self) }
    /// The self-contained HTML report.
    public func html() -> String { String(decoding: HTMLReportRenderer().render(report), as: UTF8.self) }
    /// The XML report (valid against `Schemas/incident-report.xsd`).
    public func xml() throws(IncidentAnalysisError) -> String {
        do throws(ReportError) {
            return String(decoding: try XMLReportRenderer().render(report), as: UTF8.self)
        } catch {
            throw IncidentAnalysisError(.report, error.reason)
        }
    }
}

/// Why an analysis could not be set up or its report written.
public struct IncidentAnalysisError: CodedError, Sendable {
    public enum Code: String, Hashable, Sendable, CustomStringConvertible {
        /// The rule files do not load (the reason lists their diagnostics).
        case rules
        /// The state is not a snapshot SKM reads.
        case state
        /// The report could not be written.
        case report

        public var description: String { rawValue }
    }

    public var code: Code
    public var reason: String
    public var file: String
    public var line: UInt

    init(_ code: Code, _ reason: String, file: String = #fileID, line: UInt = #line) {
        (self.code, self.reason, self.file, self.line) = (code, reason, file, line)
    }

    public var description: String { reason }

    // A public type cannot take a package protocol's witnesses: the shared equality on the code, spelled out.
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }
}
