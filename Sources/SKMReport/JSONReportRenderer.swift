import Foundation
import SKMCore
import SKMPrimitives

/// The report as JSON: the model, field for field, with RFC 3339 times.
package struct JSONReportRenderer: Sendable {
    package static let schema = "skm-incident-report/2"

    package init() {}

    package func render(_ report: IncidentReport) -> [UInt8] {
        var bytes = JSONWriter(indented: true).bytes(value(report))
        bytes.append(0x0A)
        return bytes
    }

    package func value(_ report: IncidentReport) -> JSONValue {
        var object: JSONObject = [
            "schema": .string(Self.schema),
            "tool": ["name": .string(report.tool.name), "version": .string(report.tool.version)],
            "generatedAt": time(report.generatedAt),
            "ruleSet": [
                "rules": .int(report.ruleSet.rules), "checks": .int(report.ruleSet.checks),
                "digest": .string(report.ruleSet.digest),
            ],
            "state": [
                "source": .string(report.state.source), "location": .optional(report.state.location),
                "generatedAt": time(report.state.generatedAt), "events": .int(report.state.events),
            ],
            "filters": .array(report.filters.map(JSONValue.string)),
            "redacted": .bool(report.redacted),
        ]
        let summary = report.summary
        object["summary"] = [
            "requests": .int(summary.requests), "successes": .int(summary.successes),
            "failures": .int(summary.failures),
            "confirmed": .int(summary.confirmed), "mismatches": .int(summary.mismatches),
            "unexplained": .int(summary.unexplained), "groups": .int(summary.groups),
            "problems": .int(summary.problems), "filteredOut": .int(summary.filteredOut),
            "firstTime": summary.firstTime.map(time) ?? .null, "lastTime": summary.lastTime.map(time) ?? .null,
        ]
        object["errors"] = .array(
            report.errors.map { ["error": error($0.error), "count": .int($0.count)] })
        if let timeline = report.timeline {
            object["timeline"] = [
                "start": time(timeline.start), "bucketSeconds": .int(timeline.bucketSeconds),
                "buckets": .array(
                    timeline.buckets.map { counts in
                        .array(
                            counts.sorted { $0.key > $1.key }.map { ["code": .int($0.key), "count": .int($0.value)] })
                    }),
            ]
        }
        object["causes"] = .array(
            report.causes.map {
                [
                    "rule": .string($0.ruleId), "check": .string($0.checkId), "title": .string($0.title),
                    "error": $0.error.map(error) ?? .null, "count": .int($0.count), "groups": .int($0.groups),
                    "clients": .int($0.clients), "keys": .int($0.keys),
                ]
            })
        object["groups"] = .array(report.groups.map(group))
        object["keys"] = .array(
            report.keys.map {
                [
                    "appkey": .string($0.appkey), "keyId": .string($0.keyId), "successes": .int($0.successes),
                    "failures": .int($0.failures),
                ]
            })
        object["inputs"] = .array(
            report.inputs.map {
                [
                    "path": .string($0.path), "format": .string($0.format), "items": .int($0.items),
                    "problems": .int($0.problems),
                ]
            })
        object["problems"] = .array(
            report.problems.map { ["location": .string($0.location), "message": .string($0.message)] })
        if let mergeable = report.mergeable { object["mergeable"] = mergeable }
        return .object(object)
    }

    func time(_ date: Date) -> JSONValue { .string(Timestamp.rfc3339(date)) }

    func object(_ pairs: [(String, JSONValue)]) -> JSONValue {
        var object = JSONObject()
        for (key, value) in pairs { object[key] = value }
        return .object(object)
    }

    func error(_ error: IncidentReport.ErrorInfo) -> JSONValue {
        ["code": .int(error.code), "message": .string(error.message), "identifier": .string(error.identifier)]
    }

    func group(_ group: IncidentReport.Group) -> JSONValue {
        [
            "id": .string(group.id), "rank": .int(group.rank), "count": .int(group.count),
            "firstSeen": time(group.firstSeen), "lastSeen": time(group.lastSeen),
            "verdict": .string(group.verdict.rawValue),
            "error": group.error.map(error) ?? .null, "resultCode": .int(group.resultCode),
            "rule": .optional(group.ruleId), "ruleTitle": .optional(group.ruleTitle), "guide": .optional(group.guide),
            "check": .optional(group.checkId), "checkTitle": .optional(group.checkTitle),
            "appkey": .string(group.appkey), "keyId": .string(group.keyId), "client": .string(group.client),
            "explanation": .optional(group.explanation), "fix": .optional(group.fix),
            "hints": .array(group.hints.map(hint)), "note": .optional(group.note),
            "missing": .array(group.missing.map(missing)), "simulation": group.simulation.map(simulation) ?? .null,
            "alternatives": .array(group.alternatives.map(simulation)), "event": group.event.map(event) ?? .null,
            "now": .optional(group.now), "dayBefore": .optional(group.dayBefore),
            "requestIds": .array(group.requestIds.map(JSONValue.string)),
            "examples": .array(group.examples.map(finding)),
        ]
    }

    func hint(_ hint: IncidentReport.Hint) -> JSONValue {
        [
            "id": .string(hint.id), "title": .string(hint.title), "explanation": .string(hint.explanation),
            "fix": .optional(hint.fix),
            "evidence": .array(
                hint.evidence.map { ["expression": .string($0.expression), "value": .string($0.value)] }),
        ]
    }

    func simulation(_ simulation: IncidentReport.Simulation) -> JSONValue {
        [
            "change": .string(simulation.change), "simulated": .int(simulation.simulated),
            "passed": .int(simulation.passed), "undecided": .int(simulation.undecided),
            "stillFailing": .array(
                simulation.stillFailing.map {
                    ["error": error($0.error), "check": .string($0.check), "count": .int($0.count)]
                }
            ),
            "summary": .string(simulation.summary),
        ]
    }

    func event(_ event: IncidentReport.Event) -> JSONValue {
        [
            "time": time(event.time), "actor": .string(event.actor), "action": .string(event.action),
            "summary": .string(event.summary),
        ]
    }

    package func finding(_ finding: IncidentReport.Finding) -> JSONValue {
        [
            "requestId": .string(finding.requestId), "time": time(finding.time), "location": .string(finding.location),
            "method": .string(finding.method), "path": .string(finding.path),
            "operation": .optional(finding.operation), "client": .string(finding.client),
            "verdict": .string(finding.verdict.rawValue), "cause": .optional(finding.cause),
            "explanation": .optional(finding.explanation), "fix": .optional(finding.fix),
            "hints": .array(finding.hints.map(hint)), "note": .optional(finding.note),
            "event": finding.event.map(event) ?? .null, "simulation": .optional(finding.simulation),
            "checks": .array(finding.checks.map(check)),
            "warnings": .array(finding.warnings.map(check)), "predicted": .optional(finding.predicted),
            "missing": .array(finding.missing.map(missing)), "escalation": .optional(finding.escalation),
        ]
    }

    func check(_ check: IncidentReport.CheckResult) -> JSONValue {
        [
            "id": .string(check.id), "title": .string(check.title), "failureTitle": .string(check.failureTitle),
            "status": .string(check.status.rawValue),
            "severity": .string(check.severity.rawValue), "assertion": .string(check.assertion),
            "evidence": .array(
                check.evidence.map { ["expression": .string($0.expression), "value": .string($0.value)] }),
            "missing": .array(check.missing.map(missing)), "failure": .optional(check.failure),
        ]
    }

    func missing(_ missing: IncidentReport.Missing) -> JSONValue {
        ["fact": .string(missing.fact), "settle": .string(missing.settle)]
    }
}
