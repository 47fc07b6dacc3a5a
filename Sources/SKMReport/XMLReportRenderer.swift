import CLibXML2
import Foundation
import SKMCore
import SKMPrimitives

/// The report as XML, written through libxml2's text writer and described by `Schemas/incident-report.xsd`
/// (``IncidentReportSchema``).
///
/// libxml2 escapes markup; characters XML 1.0 cannot carry at all (control characters a hostile log may hold) are
/// replaced with U+FFFD before they reach it, and the document counts them in `<sanitization>`, so it stays
/// well-formed and says what was changed.
package struct XMLReportRenderer: Sendable {
    package init() {}

    package func render(_ report: IncidentReport) throws(ReportError) -> [UInt8] {
        try XMLWriter.document { $0.write(report) }
    }

    /// Problems found validating `document` against the report's XML Schema; empty when it is valid.
    package static func validate(_ document: [UInt8], schema: String = IncidentReportSchema.xsd) -> [String] {
        final class Sink {
            var messages: [String] = []
        }
        let sink = Sink()
        let context = Unmanaged.passUnretained(sink).toOpaque()
        let collect: xmlStructuredErrorFunc = { userData, error in
            guard let userData, let error else { return }
            let sink = Unmanaged<Sink>.fromOpaque(userData).takeUnretainedValue()
            let message =
                error.pointee.message.map { String(cString: $0) }?
                .trimmingCharacters(in: .whitespacesAndNewlines) ?? "unknown error"
            sink.messages.append("line \(error.pointee.line): \(message)")
        }
        let schemaBytes = Array(schema.utf8)
        guard
            let parserContext = schemaBytes.withUnsafeBufferPointer({ pointer in
                pointer.withMemoryRebound(to: CChar.self) { xmlSchemaNewMemParserCtxt($0.baseAddress, Int32($0.count)) }
            })
        else { return ["the schema could not be read"] }
        defer { xmlSchemaFreeParserCtxt(parserContext) }
        xmlSchemaSetParserStructuredErrors(parserContext, collect, context)
        guard let parsed = xmlSchemaParse(parserContext) else { return ["the schema is invalid"] + sink.messages }
        defer { xmlSchemaFree(parsed) }
        guard let validation = xmlSchemaNewValidCtxt(parsed) else { return ["cannot validate"] }
        defer { xmlSchemaFreeValidCtxt(validation) }
        xmlSchemaSetValidStructuredErrors(validation, collect, context)
        let options = Int32(XML_PARSE_NONET.rawValue)
        guard
            let doc = document.withUnsafeBufferPointer({ pointer in
                pointer.withMemoryRebound(to: CChar.self) {
                    xmlReadMemory($0.baseAddress, Int32($0.count), "report.xml", "UTF-8", options)
                }
            })
        else { return ["not well-formed XML"] + sink.messages }
        defer { xmlFreeDoc(doc) }
        let result = xmlSchemaValidateDoc(validation, doc)
        withExtendedLifetime(sink) {}
        if result != 0 && sink.messages.isEmpty { return ["invalid (libxml2 code \(result))"] }
        return sink.messages
    }
}

/// Walks the model into libxml2's writer.
extension XMLWriter {
    func time(_ date: Date?) -> String? { date.map(Timestamp.rfc3339) }

    mutating func write(_ report: IncidentReport) {
        start(
            "incidentReport",
            [
                ("schemaVersion", "1"), ("generatedAt", time(report.generatedAt)),
                ("redacted", report.redacted ? "true" : "false"),
            ])
        element("tool", [("name", report.tool.name), ("version", report.tool.version)])
        element(
            "ruleSet",
            [
                ("rules", String(report.ruleSet.rules)), ("checks", String(report.ruleSet.checks)),
                ("digest", report.ruleSet.digest),
            ])
        element(
            "state",
            [
                ("source", report.state.source), ("location", report.state.location),
                ("generatedAt", time(report.state.generatedAt)), ("events", String(report.state.events)),
            ])
        start("filters")
        for filter in report.filters { element("filter", text: filter) }
        end()
        let summary = report.summary
        element(
            "summary",
            [
                ("requests", String(summary.requests)), ("successes", String(summary.successes)),
                ("failures", String(summary.failures)), ("confirmed", String(summary.confirmed)),
                ("mismatches", String(summary.mismatches)), ("unexplained", String(summary.unexplained)),
                ("groups", String(summary.groups)), ("problems", String(summary.problems)),
                ("filteredOut", String(summary.filteredOut)), ("firstTime", time(summary.firstTime)),
                ("lastTime", time(summary.lastTime)),
            ])
        start("errors")
        for entry in report.errors {
            element("error", errorAttributes(entry.error) + [("count", String(entry.count))])
        }
        end()
        if let timeline = report.timeline {
            start("timeline", [("start", time(timeline.start)), ("bucketSeconds", String(timeline.bucketSeconds))])
            for (index, bucket) in timeline.buckets.enumerated() {
                start("bucket", [("index", String(index))])
                for (code, count) in bucket.sorted(by: { $0.key > $1.key }) {
                    element("count", [("code", String(code)), ("failures", String(count))])
                }
                end()
            }
            end()
        }
        start("causes")
        for cause in report.causes {
            element(
                "cause",
                [
                    ("rule", cause.ruleId), ("check", cause.checkId), ("title", cause.title),
                    ("code", cause.error.map { String($0.code) }), ("message", cause.error?.message),
                    ("count", String(cause.count)), ("groups", String(cause.groups)),
                    ("clients", String(cause.clients)), ("keys", String(cause.keys)),
                ])
        }
        end()
        start("groups")
        for group in report.groups { write(group) }
        end()
        start("keys")
        for key in report.keys {
            element(
                "key",
                [
                    ("appkey", key.appkey), ("keyId", key.keyId), ("successes", String(key.successes)),
                    ("failures", String(key.failures)),
                ])
        }
        end()
        start("inputs")
        for input in report.inputs {
            element(
                "input",
                [
                    ("path", input.path), ("format", input.format), ("items", String(input.items)),
                    ("problems", String(input.problems)),
                ])
        }
        end()
        start("problems")
        for problem in report.problems { element("problem", [("location", problem.location)], text: problem.message) }
        end()
        // Written last, once every string has been cleaned.
        element("sanitization", [("replacedCharacters", String(replaced))])
        end()
    }

    func errorAttributes(_ error: IncidentReport.ErrorInfo) -> [(String, String?)] {
        [("code", String(error.code)), ("message", error.message), ("identifier", error.identifier)]
    }

    mutating func write(_ group: IncidentReport.Group) {
        start(
            "group",
            [
                ("id", group.id), ("rank", String(group.rank)), ("count", String(group.count)),
                ("firstSeen", time(group.firstSeen)), ("lastSeen", time(group.lastSeen)),
                ("verdict", group.verdict.rawValue),
                ("resultCode", String(group.resultCode)), ("rule", group.ruleId), ("check", group.checkId),
            ])
        if let error = group.error { element("error", errorAttributes(error)) }
        optional("ruleTitle", group.ruleTitle)
        optional("guide", group.guide)
        optional("checkTitle", group.checkTitle)
        element("appkey", text: group.appkey)
        element("keyId", text: group.keyId)
        element("client", text: group.client)
        optional("explanation", group.explanation)
        optional("fix", group.fix)
        for hint in group.hints { write(hint) }
        optional("note", group.note)
        for missing in group.missing { element("missing", [("fact", missing.fact), ("settle", missing.settle)]) }
        if let simulation = group.simulation { write(simulation, alternative: false) }
        for alternative in group.alternatives { write(alternative, alternative: true) }
        if let event = group.event { write(event) }
        optional("now", group.now)
        optional("dayBefore", group.dayBefore)
        start("requestIds")
        for id in group.requestIds { element("requestId", text: id) }
        end()
        start("examples")
        for finding in group.examples { write(finding) }
        end()
        end()
    }

    mutating func write(_ hint: IncidentReport.Hint) {
        start("hint", [("id", hint.id)])
        element("title", text: hint.title)
        element("explanation", text: hint.explanation)
        optional("fix", hint.fix)
        for evidence in hint.evidence {
            element("evidence", [("expression", evidence.expression)], text: evidence.value)
        }
        end()
    }

    mutating func write(_ simulation: IncidentReport.Simulation, alternative: Bool) {
        start(
            alternative ? "alternative" : "simulation",
            [
                ("simulated", String(simulation.simulated)), ("passed", String(simulation.passed)),
                ("undecided", String(simulation.undecided)),
            ])
        element("change", text: simulation.change)
        for failure in simulation.stillFailing {
            element(
                "stillFailing", errorAttributes(failure.error) + [("count", String(failure.count))], text: failure.check
            )
        }
        element("summary", text: simulation.summary)
        end()
    }

    mutating func write(_ event: IncidentReport.Event) {
        start("event", [("time", time(event.time)), ("actor", event.actor), ("action", event.action)])
        element("summary", text: event.summary)
        end()
    }

    mutating func write(_ finding: IncidentReport.Finding) {
        start(
            "finding",
            [
                ("requestId", finding.requestId), ("time", time(finding.time)), ("location", finding.location),
                ("method", finding.method), ("operation", finding.operation), ("client", finding.client),
                ("verdict", finding.verdict.rawValue),
            ])
        element("path", text: finding.path)
        optional("cause", finding.cause)
        optional("explanation", finding.explanation)
        optional("fix", finding.fix)
        for hint in finding.hints { write(hint) }
        optional("note", finding.note)
        if let event = finding.event { write(event) }
        optional("simulation", finding.simulation)
        optional("predicted", finding.predicted)
        start("checks")
        for check in finding.checks { write(check, warning: false) }
        for check in finding.warnings { write(check, warning: true) }
        end()
        for missing in finding.missing { element("missing", [("fact", missing.fact), ("settle", missing.settle)]) }
        optional("escalation", finding.escalation)
        end()
    }

    mutating func write(_ check: IncidentReport.CheckResult, warning: Bool) {
        start("check", [("id", check.id), ("status", check.status.rawValue), ("severity", check.severity.rawValue)])
        element("title", text: check.title)
        element("failureTitle", text: check.failureTitle)
        element("assertion", text: check.assertion)
        for evidence in check.evidence {
            element("evidence", [("expression", evidence.expression)], text: evidence.value)
        }
        for missing in check.missing { element("missing", [("fact", missing.fact), ("settle", missing.settle)]) }
        optional("failure", check.failure)
        end()
    }
}
