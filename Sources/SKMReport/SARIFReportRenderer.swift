import Foundation
import SKMCore
import SKMPrimitives
import SKMRules

/// The report as SARIF 2.1.0 (`Schemas/sarif-schema-2.1.0.json`), for code-scanning dashboards and CI: the rule set's
/// checks are the tool's rules (`rule/check`, with the rule as a whole for findings no check decides); each triage
/// group is one result, located at its first request's log file and line (a HAR capture's entry is named in the
/// location's properties), with the group's other examples as related locations and the group's id as a
/// fingerprint, so the same problem is recognised from run to run. Unreadable input is a tool notification.
package struct SARIFReportRenderer: Sendable {
    package let rules: RuleSet

    package init(rules: RuleSet) {
        self.rules = rules
    }

    package func render(_ report: IncidentReport) -> [UInt8] {
        var bytes = JSONWriter(indented: true).bytes(value(report))
        bytes.append(0x0A)
        return bytes
    }

    /// The id of the reporting descriptor for results no rule explains.
    static let unexplainedId = "unexplained"

    package func value(_ report: IncidentReport) -> JSONValue {
        var descriptors: [JSONValue] = []
        var index: [String: Int] = [:]
        func add(_ id: String, _ descriptor: JSONObject) {
            index[id] = descriptors.count
            var descriptor = descriptor
            descriptor["id"] = .string(id)
            descriptors.append(.object(descriptor))
        }
        for rule in rules.rules {
            let error = "\(rule.error.message) (\(rule.error.code))"
            add(
                rule.id,
                [
                    "name": .string(rule.title), "shortDescription": ["text": .string(error)],
                    "fullDescription": ["text": .string(rule.summary)],
                    "help": ["text": .string(rule.guide.map { "Solution Guide: \($0)" } ?? rule.summary)],
                    "defaultConfiguration": ["level": "error"],
                    "properties": ["tags": .array([.string(error)]), "file": .string(rule.file)],
                ])
            for check in rule.checks {
                add(
                    "\(rule.id)/\(check.id)",
                    [
                        "name": .string(check.id), "shortDescription": ["text": .string(check.failure)],
                        "fullDescription": ["text": .string("\(error): \(check.failure). Holds when: \(check.title).")],
                        "defaultConfiguration": ["level": check.severity == .warning ? "warning" : "error"],
                        "properties": ["tags": .array([.string(error)]), "file": .string(rule.file)],
                    ])
            }
        }
        add(
            Self.unexplainedId,
            [
                "name": "unexplained", "shortDescription": ["text": "No documented cause can be decided"],
                "fullDescription": [
                    "text":
                        "A failed request whose cause the inputs cannot decide, or for which no rule explains the answer."
                ],
                "defaultConfiguration": ["level": "warning"],
            ])

        var artifacts: [JSONValue] = []
        var artifactIndex: [String: Int] = [:]
        for input in report.inputs where artifactIndex[input.path] == nil {
            artifactIndex[input.path] = artifacts.count
            artifacts.append(
                [
                    "location": ["uri": .string(Self.uri(input.path))],
                    "properties": ["format": .string(input.format), "items": .int(input.items)],
                ])
        }

        func location(_ finding: IncidentReport.Finding) -> JSONValue {
            var artifact: JSONObject = ["uri": .string(Self.uri(finding.source.file))]
            if let index = artifactIndex[finding.source.file] { artifact["index"] = .int(index) }
            var physical: JSONObject = ["artifactLocation": .object(artifact)]
            var location: JSONObject = [:]
            if finding.source.unit == .line {
                physical["region"] = ["startLine": .int(finding.source.number)]
            } else {
                location["properties"] = ["entry": .int(finding.source.number)]
            }
            location["physicalLocation"] = .object(physical)
            location["message"] = ["text": .string("request \(TerminalText.shown(finding.requestId))")]
            return .object(location)
        }

        var results: [JSONValue] = []
        for group in report.groups {
            let ruleId =
                group.ruleId.map { rule in group.checkId.map { "\(rule)/\($0)" } ?? rule } ?? Self.unexplainedId
            let descriptor = index[ruleId] != nil ? ruleId : Self.unexplainedId
            var result: JSONObject = [
                "ruleId": .string(descriptor), "ruleIndex": .int(index[descriptor] ?? 0),
                "level": group.verdict == .unexplained ? "warning" : "error", "kind": "fail",
                "message": ["text": .string(Self.message(group))],
            ]
            if let first = group.examples.first { result["locations"] = .array([location(first)]) }
            let others = group.examples.dropFirst()
            if !others.isEmpty {
                result["relatedLocations"] = .array(
                    others.enumerated().map { offset, finding in
                        guard case .object(var object) = location(finding) else { return .null }
                        object["id"] = .int(offset + 1)
                        return .object(object)
                    })
            }
            result["partialFingerprints"] = ["skmGroup/v1": .string(group.id)]
            result["properties"] = [
                "verdict": .string(group.verdict.rawValue), "count": .int(group.count),
                "firstSeen": .string(Timestamp.rfc3339(group.firstSeen)),
                "lastSeen": .string(Timestamp.rfc3339(group.lastSeen)), "appkey": .string(group.appkey),
                "keyId": .string(group.keyId), "client": .string(group.client),
                "resultCode": .int(group.resultCode),
                "requestIds": .array(group.requestIds.prefix(100).map(JSONValue.string)),
            ]
            results.append(.object(result))
        }

        var invocation: JSONObject = ["executionSuccessful": .bool(true)]
        if !report.problems.isEmpty {
            invocation["toolExecutionNotifications"] = .array(
                report.problems.map { problem in
                    ["level": "warning", "message": ["text": .string("\(problem.location): \(problem.message)")]]
                })
        }
        let run: JSONObject = [
            "tool": [
                "driver": [
                    "name": .string(report.tool.name), "version": .string(report.tool.version),
                    "rules": .array(descriptors),
                    "properties": [
                        "ruleSetDigest": .string(report.ruleSet.digest), "redacted": .bool(report.redacted),
                    ],
                ]
            ],
            "invocations": .array([.object(invocation)]),
            "artifacts": .array(artifacts),
            "results": .array(results),
            "properties": [
                "requests": .int(report.summary.requests), "successes": .int(report.summary.successes),
                "failures": .int(report.summary.failures),
                "state": .string(
                    "\(report.state.source) snapshot\(report.state.location.map { " of \($0)" } ?? ""), taken "
                        + Timestamp.rfc3339(report.state.generatedAt)),
            ],
        ]
        return [
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0",
            "runs": .array([.object(run)]),
        ]
    }

    /// The group in one message: how many requests, the error, the verdict, the cause and the fix.
    static func message(_ group: IncidentReport.Group) -> String {
        var text =
            "\(group.count) × \(group.errorWithCode), "
            + "\(group.verdict.rawValue): \(group.causeWords)."
        if let explanation = group.explanation { text += " " + explanation }
        if let note = group.note { text += " Not confirmed: " + note }
        for missing in group.missing { text += " To settle it: \(missing.fact): \(missing.settle)" }
        if let fix = group.fix { text += " Fix: " + fix }
        if let simulation = group.simulation { text += " Simulated: " + simulation.summary }
        return TerminalText.shown(text)
    }

    /// A file path as a URI reference: relative paths stay relative, absolute ones become `file://` URIs, and every
    /// character a URI cannot hold is percent-encoded.
    static func uri(_ path: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: ":;")
        let encoded = path.addingPercentEncoding(withAllowedCharacters: allowed) ?? "unknown"
        return path.hasPrefix("/") ? "file://" + encoded : encoded
    }
}
