import ArgumentParser
import Foundation
import SKMAnalysis
import SKMCore
import SKMPrimitives
import SKMReport

struct AnalyzeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyze",
        abstract: "Explain every failed request of captured logs, grouped for triage.",
        discussion: """
            Reads the server's request log (JSON Lines, .gz too, - for standard input), HAR captures, curl -v or \
            --trace-ascii transcripts, or the JSON access log of nginx or Envoy in front of the key manager \
            (docs/analysis.md maps their fields; what a capture cannot hold is unknown, never guessed), rebuilds the \
            key manager's state as it was at each request's time from the snapshot's audit events, and diagnoses each \
            failed request with the rules: the cause, the evidence, the fix and the event that caused it. Text is \
            UTF-8, or UTF-16 after its byte order mark (Windows PowerShell's > and Out-File write it); CR LF line \
            endings read as LF.

            Exit status: 0 no failed request, 1 failed requests found (and explained as far as the evidence goes), \
            2 a rule-set or input error (an input that cannot be read at all), 3 a usage error. A damaged line is \
            reported with its file and number and skipped; the rest is analysed and sets the status.
            """)

    @Argument(
        help: ArgumentHelp(
            "Request logs, HAR captures, curl transcripts or proxy access logs; - for standard input.",
            valueName: "log"))
    var logs: [String]

    @OptionGroup var analysis: AnalysisOptions

    @Option(name: .long, help: ArgumentHelp("Write the report as JSON to this file.", valueName: "file"))
    var json: String?

    @Flag(
        name: .long,
        help: ArgumentHelp(
            "Carry the analysis in the JSON report, so that --merge can combine it with others (its example requests "
                + "are not masked)."))
    var mergeable = false

    @Flag(
        name: .long,
        help: ArgumentHelp(
            "The arguments are JSON reports written with --mergeable (one per node or shard): combine them, in "
                + "order, into the report their logs would give analysed together. Give the state and rules they "
                + "were made with."))
    var merge = false

    @Option(name: .long, help: ArgumentHelp("Write the report as one self-contained HTML page.", valueName: "file"))
    var html: String?

    @Option(
        name: .long, help: ArgumentHelp("Write the report as XML (Schemas/incident-report.xsd).", valueName: "file"))
    var xml: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Write a short Markdown summary to paste into a ticket (the --top biggest groups).", valueName: "file"))
    var markdown: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Write JUnit XML (Schemas/junit.xsd): each group a failing test case, for CI.", valueName: "file"))
    var junit: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Write SARIF 2.1.0: the rules' checks as rules, each group a result at its log file and line.",
            valueName: "file"))
    var sarif: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Write report.html, report.xml, report.json and report.md into this directory.", valueName: "dir"))
    var out: String?

    @Flag(name: .customLong("validate"), help: "Check the XML report against its schema as it is written.")
    var validateXML = false

    @Option(name: .long, help: ArgumentHelp("Only requests at or after this time (RFC 3339).", valueName: "time"))
    var since: String?

    @Option(name: .long, help: ArgumentHelp("Only requests at or before this time (RFC 3339).", valueName: "time"))
    var until: String?

    @Option(name: .long, help: ArgumentHelp("Only requests of this appkey.", valueName: "appkey"))
    var appkey: String?

    @Option(name: .long, help: ArgumentHelp("Only requests about this key.", valueName: "key-id"))
    var key: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Only failures with this error: a code (--error=-1201; a negative number needs the =), an identifier (INVALID_KEY_VERSION) or a message.",
            valueName: "error"))
    var error: [String] = []

    @Option(
        name: .long,
        help: ArgumentHelp("Groups to describe in detail on the terminal and in the Markdown summary.", valueName: "n"))
    var top = 5

    @Option(name: .long, help: ArgumentHelp("Colour: auto, always or never.", valueName: "when"))
    var color = "auto"

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Threads that read and diagnose a request log (default: one per processor); the report is the same for any number.",
            valueName: "n"))
    var workers: Int?

    func validate() throws {
        guard !logs.isEmpty else { throw ValidationError("give at least one log or capture (- for standard input)") }
        if let workers, !(1...256).contains(workers) { throw ValidationError("--workers must be from 1 to 256") }
        guard top >= 0 else { throw ValidationError("--top must be 0 or more") }
        guard ["auto", "always", "never"].contains(color) else {
            throw ValidationError("--color must be auto, always or never")
        }
        if mergeable && json == nil && out == nil {
            throw ValidationError("--mergeable puts the analysis in the JSON report: add --json or --out")
        }
        if validateXML && xml == nil && out == nil {
            throw ValidationError("--validate checks the XML report: add --xml or --out")
        }
        _ = try filter()
        if merge {
            let filtering = [
                ("--since", since), ("--until", until), ("--appkey", appkey), ("--key", key),
                ("--error", error.first), ("--client-ip", analysis.clientIP), ("--client-cert", analysis.clientCert),
            ].filter { $0.1 != nil }.map(\.0)
            guard filtering.isEmpty else {
                throw ValidationError(
                    "--merge combines reports as they were made: \(filtering.joined(separator: ", ")) applies when "
                        + "a log is analysed")
            }
            guard !logs.contains("-") else { throw ValidationError("--merge reads report files, not standard input") }
        }
    }

    func filter() throws -> AnalysisFilter {
        var filter = AnalysisFilter(appkey: appkey, keyId: key)
        for (name, value) in [("--since", since), ("--until", until)] {
            guard let value else { continue }
            guard let date = Timestamp.parse(value) ?? Timestamp.parse(value + "T00:00:00Z") else {
                throw ValidationError("\(name) '\(value)' is not an RFC 3339 time (2026-09-21T14:00:00Z)")
            }
            if name == "--since" { filter.since = date } else { filter.until = date }
        }
        for text in error {
            let found =
                Int(text).flatMap { APIError(resultCode: $0) }
                ?? APIError.allCases.first { $0.identifier == text.uppercased() } ?? APIError(resultMessage: text)
            guard let found else {
                throw ValidationError("--error '\(text)' is not a catalogue error (see docs/errors.md)")
            }
            filter.errors.insert(found.resultCode)
        }
        return filter
    }

    func run() async throws {
        let (rules, snapshot) = try await analysis.loadRulesAndSnapshot()
        var analyzer = try analysis.analyzer(snapshot: snapshot, rules: rules, filter: try filter())
        if let workers { analyzer.workers = workers }
        let interactive = isatty(STDERR_FILENO) == 1
        let started = ContinuousClock.now
        var lastProgress = started
        var unreadable: [InputError] = []
        var filters = filterDescriptions()
        let result: AnalysisResult
        if merge {
            (result, filters) = try Self.merge(logs, analyzer: analyzer, rules: rules, snapshot: snapshot)
        } else {
            result = analyzer.analyze(
                logs,
                progress: { progress in
                    // Four times a second at most, on a terminal only.
                    guard interactive, ContinuousClock.now - lastProgress >= .milliseconds(250) else { return }
                    lastProgress = .now
                    FileHandle.standardError.write(Data(Self.progressLine(progress, since: started).utf8))
                },
                unreadable: { unreadable.append($0) })
        }
        if interactive, (ContinuousClock.now - started) > .milliseconds(500) {
            FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
        }
        for problem in unreadable { Terminal.error(problem.description) }
        for damage in result.damaged { Terminal.error(damage.description) }
        // Nothing could be read at all: there is no analysis to report.
        if result.inputs.isEmpty, !unreadable.isEmpty { throw CommandFailure(message: "", exitCode: 2) }

        let report = IncidentReport(
            analysis: result, rules: rules, snapshot: snapshot,
            options: .init(
                toolVersion: SKMCommand.configuration.version, generatedAt: Date(), redact: !analysis.noRedact,
                filters: filters, mergeable: mergeable))
        let useColor = color == "always" || (color == "auto" && isatty(STDOUT_FILENO) == 1)
        // Written unbuffered, so that the summary comes before the notes of files written (on standard error).
        FileHandle.standardOutput.write(Data(TextReportRenderer(color: useColor, detailed: top).render(report).utf8))
        var targets: (json: String?, html: String?, xml: String?, markdown: String?) = (json, html, xml, markdown)
        if let out {
            do {
                try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            } catch {
                throw CommandFailure.setup("\(out): cannot create: \(error.localizedDescription)")
            }
            let directory = URL(fileURLWithPath: out)
            targets.json = targets.json ?? directory.appendingPathComponent("report.json").path
            targets.html = targets.html ?? directory.appendingPathComponent("report.html").path
            targets.xml = targets.xml ?? directory.appendingPathComponent("report.xml").path
            targets.markdown = targets.markdown ?? directory.appendingPathComponent("report.md").path
        }
        if let path = targets.json { try write(JSONReportRenderer().render(report), to: path) }
        if let path = targets.html { try write(HTMLReportRenderer().render(report), to: path) }
        if let path = targets.xml {
            let document: [UInt8]
            do {
                document = try XMLReportRenderer().render(report)
            } catch {
                throw CommandFailure.setup("cannot write the XML report: \(error)")
            }
            if validateXML {
                let problems = XMLReportRenderer.validate(document)
                guard problems.isEmpty else {
                    throw CommandFailure.setup(
                        "the XML report does not validate against its schema: \(problems.prefix(5).joined(separator: "; "))"
                    )
                }
            }
            try write(document, to: path)
        }
        if let path = targets.markdown { try write(MarkdownReportRenderer(detailed: top).render(report), to: path) }
        if let path = junit {
            let document: [UInt8]
            do {
                document = try JUnitReportRenderer().render(report)
            } catch {
                throw CommandFailure.setup("cannot write the JUnit report: \(error)")
            }
            try write(document, to: path)
        }
        if let path = sarif { try write(SARIFReportRenderer(rules: rules).render(report), to: path) }
        // An input that could not be read at all makes the analysis incomplete: say so in the exit status. So does an
        // input of which not one line or entry could be read: it is not a capture SKM reads, whatever its name.
        for input in result.inputs where input.items > 0 && input.problems == input.items {
            Terminal.error(
                "\(input.path): "
                    + (input.format == "har"
                        ? "none of its \(input.items) entries is an SKM API call"
                        : input.format == "curl"
                            ? "none of its \(input.items) calls could be read"
                            : "none of its \(input.items) lines is a request-log or access-log record")
                    + ": is it a capture SKM reads? (the report lists the problems)")
        }
        let nothingRead = result.inputs.contains { $0.items > 0 && $0.problems == $0.items }
        if !unreadable.isEmpty || !result.damaged.isEmpty || nothingRead {
            throw CommandFailure(message: "", exitCode: 2)
        }
        if result.triage.failureCount > 0 { throw CommandFailure(message: "", exitCode: 1) }
    }

    /// A line that rewrites itself on a terminal: what was read of the input, how fast, and how long the rest will
    /// take, once reading has taken a second.
    static func progressLine(_ progress: AnalysisProgress, since start: ContinuousClock.Instant) -> String {
        let elapsed = ContinuousClock.now - start
        guard elapsed >= .seconds(1) else { return "" }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        func megabytes(_ bytes: Int) -> String { String(format: "%.0f MB", Double(bytes) / 1_048_576) }
        var line = "\r\(PrintableText.escaped(progress.path, uppercase: true)): \(grouped(progress.items)) lines"
        if let read = progress.bytesRead {
            let total = progress.totalBytes.map { " of " + megabytes($0) } ?? ""
            line += ", \(megabytes(read))\(total)"
        }
        line += ", \(grouped(Int(Double(progress.items) / seconds))) lines/s"
        if let read = progress.bytesRead, let total = progress.totalBytes, read > 0, total > read {
            line += ", about \(Int((seconds * Double(total - read) / Double(read)).rounded(.up))) s left"
        }
        return line + "\u{1B}[K"
    }

    func filterDescriptions() -> [String] {
        var parts: [String] = []
        if let since { parts.append("since \(since)") }
        if let until { parts.append("until \(until)") }
        if let appkey { parts.append("appkey \(appkey)") }
        if let key { parts.append("key \(key)") }
        for error in error { parts.append("error \(error)") }
        return parts
    }

    func write(_ bytes: [UInt8], to path: String) throws {
        do {
            try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw CommandFailure.setup("\(path): cannot write: \(error.localizedDescription)")
        }
        Terminal.note("Wrote \(path)")
    }
}
