import Foundation
import SKMAnalysis
import SKMCore
import SKMRules

extension IncidentReport {
    /// What to put in a report besides the analysis itself.
    public struct Options: Sendable {
        public var toolVersion: String
        public var generatedAt: Date
        /// Mask appkeys and User Access Key ids.
        public var redact: Bool
        /// How the analysis was filtered, for the record (`since 2026-09-21T00:00:00Z`, …).
        public var filters: [String]
        /// Groups listed in full; the rest are counted.
        public var maximumGroups: Int

        public init(
            toolVersion: String, generatedAt: Date, redact: Bool = true, filters: [String] = [],
            maximumGroups: Int = 200
        ) {
            self.toolVersion = toolVersion
            self.generatedAt = generatedAt
            self.redact = redact
            self.filters = filters
            self.maximumGroups = maximumGroups
        }
    }

    /// Builds the report of an analysis.
    public init(analysis: AnalysisResult, rules: RuleSet, snapshot: StateSnapshot, options: Options) {
        var redactor = Redactor(enabled: options.redact)
        for appkey in snapshot.appkeys { redactor.add(appkey.id) }
        for accessKey in snapshot.userAccessKeys { redactor.add(accessKey.id) }
        let triage = analysis.triage
        for group in triage.groups.values {
            redactor.add(group.fingerprint.appkey)
            for example in group.examples {
                redactor.add(example.request.record.appkey)
                redactor.add(example.request.record.userAccessKeyId)
            }
        }
        for activity in triage.successes.keys { redactor.add(activity.appkey) }

        tool = Tool(name: "skm", version: options.toolVersion)
        generatedAt = options.generatedAt
        ruleSet = RuleSetInfo(
            rules: rules.rules.count, checks: rules.rules.reduce(0) { $0 + $1.checks.count }, digest: rules.digest)
        state = StateInfo(
            source: snapshot.source.kind, location: snapshot.source.location.map { redactor.text($0) },
            generatedAt: snapshot.generatedAt, events: snapshot.events.count)
        filters = options.filters.map { redactor.text($0) }
        redacted = options.redact

        let ranked = triage.ranked
        var verdicts: [SKMAnalysis.Finding.Verdict: Int] = [:]
        var errorCounts: [Int: Int] = [:]
        for group in ranked {
            for (verdict, count) in group.verdicts { verdicts[verdict, default: 0] += count }
            errorCounts[group.fingerprint.code, default: 0] += group.count
        }
        summary = Summary(
            requests: triage.successCount + triage.failureCount, successes: triage.successCount,
            failures: triage.failureCount, confirmed: verdicts[.confirmed] ?? 0,
            mismatches: verdicts[.mismatch] ?? 0, unexplained: verdicts[.unexplained] ?? 0, groups: ranked.count,
            problems: analysis.problemCount, filteredOut: analysis.filteredOut, firstTime: analysis.firstTime,
            lastTime: analysis.lastTime)
        errors = errorCounts.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.map {
            ErrorCount(error: Self.errorInfo($0.key), count: $0.value)
        }
        timeline = Self.timeline(triage.failuresPerMinute)

        var causes: [String: Cause] = [:]
        var causeClients: [String: Set<String>] = [:]
        var causeKeys: [String: Set<String>] = [:]
        for group in ranked {
            let fingerprint = group.fingerprint
            let key = "\(fingerprint.rule)/\(fingerprint.check)"
            let example = group.examples.first
            var cause =
                causes[key]
                ?? Cause(
                    ruleId: fingerprint.rule, checkId: fingerprint.check,
                    title: example?.cause?.check.title ?? example?.rule?.title ?? "No documented cause",
                    error: APIError(resultCode: fingerprint.code).map { Self.errorInfo($0.resultCode) }, count: 0,
                    groups: 0, clients: 0, keys: 0)
            cause.count += group.count
            cause.groups += 1
            causes[key] = cause
            if causeClients[key, default: []].count < Triage.distinctLimit {
                causeClients[key, default: []].insert(fingerprint.client)
            }
            if causeKeys[key, default: []].count < Triage.distinctLimit {
                causeKeys[key, default: []].insert(fingerprint.key)
            }
        }
        self.causes = causes.map { key, cause in
            var cause = cause
            cause.clients = causeClients[key]?.count ?? 0
            cause.keys = causeKeys[key]?.filter { !$0.isEmpty }.count ?? 0
            return cause
        }.sorted { ($1.count, $0.ruleId, $0.checkId) < ($0.count, $1.ruleId, $1.checkId) }

        groups = ranked.prefix(options.maximumGroups).enumerated().map { index, group in
            Self.group(group, rank: index + 1, redactor: redactor)
        }

        var failuresByKey: [Triage.KeyActivity: Int] = [:]
        for group in ranked where !group.fingerprint.key.isEmpty {
            failuresByKey[
                Triage.KeyActivity(appkey: group.fingerprint.appkey, keyId: group.fingerprint.key), default: 0] +=
                group.count
        }
        let activeKeys = Set(failuresByKey.keys).union(triage.successes.keys)
        keys = activeKeys.map { activity in
            KeyActivity(
                appkey: redactor.credential(activity.appkey), keyId: activity.keyId,
                successes: triage.successes[activity] ?? 0, failures: failuresByKey[activity] ?? 0)
        }.sorted {
            ($1.failures, $1.successes, $0.keyId, $0.appkey) < ($0.failures, $0.successes, $1.keyId, $1.appkey)
        }

        inputs = analysis.inputs.map {
            Input(path: $0.path, format: $0.format, items: $0.items, problems: $0.problems)
        }
        problems = analysis.problems.map { Problem(location: $0.location.description, message: $0.message) }
    }

    /// One finding in report form, credentials of the state and of the request masked when `redact` is set.
    public static func finding(_ finding: SKMAnalysis.Finding, snapshot: StateSnapshot, redact: Bool) -> Finding {
        var redactor = Redactor(enabled: redact)
        for appkey in snapshot.appkeys { redactor.add(appkey.id) }
        for accessKey in snapshot.userAccessKeys { redactor.add(accessKey.id) }
        redactor.add(finding.request.record.appkey)
        redactor.add(finding.request.record.userAccessKeyId)
        return Self.finding(finding, redactor: redactor)
    }

    public static func errorInfo(_ code: Int) -> ErrorInfo {
        guard let error = APIError(resultCode: code) else {
            return ErrorInfo(code: code, message: "no SKM result", identifier: "NO_RESULT")
        }
        return ErrorInfo(code: code, message: error.resultMessage, identifier: error.identifier)
    }

    /// At most 60 buckets of a round size covering the failures.
    static func timeline(_ perMinute: [Int: [Int: Int]]) -> Timeline? {
        guard let first = perMinute.keys.min(), let last = perMinute.keys.max() else { return nil }
        let span = last - first + 1
        let sizes = [1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080]
        let size = sizes.first { span / $0 < 60 } ?? (span / 59 + 1)
        let start = first - first % size
        var buckets = [[Int: Int]](repeating: [:], count: (last - start) / size + 1)
        for (minute, counts) in perMinute {
            for (code, count) in counts { buckets[(minute - start) / size][code, default: 0] += count }
        }
        return Timeline(
            start: Date(timeIntervalSince1970: Double(start * 60)), bucketSeconds: size * 60, buckets: buckets)
    }

    static func group(_ group: Triage.Group, rank: Int, redactor: Redactor) -> Group {
        let fingerprint = group.fingerprint
        let example = group.examples.first
        return Group(
            id: fingerprint.identifier, rank: rank, count: group.count, firstSeen: group.firstSeen,
            lastSeen: group.lastSeen, verdict: group.verdict.rawValue,
            verdicts: Dictionary(uniqueKeysWithValues: group.verdicts.map { ($0.key.rawValue, $0.value) }),
            error: APIError(resultCode: fingerprint.code).map { errorInfo($0.resultCode) },
            resultCode: fingerprint.code, ruleId: example?.rule?.id, ruleTitle: example?.rule?.title,
            guide: example?.rule?.guide, checkId: example?.cause?.check.id, checkTitle: example?.cause?.check.title,
            appkey: redactor.credential(fingerprint.appkey), keyId: fingerprint.key, client: fingerprint.client,
            explanation: redactor.text(example?.explanation ?? example?.note),
            fix: redactor.text(example?.fix), event: example.flatMap { event($0.event, redactor: redactor) },
            requestIds: group.requestIDs, examples: group.examples.map { finding($0, redactor: redactor) })
    }

    static func finding(_ finding: SKMAnalysis.Finding, redactor: Redactor) -> Finding {
        let record = finding.request.record
        let checks = (finding.outcome?.checks ?? []).filter { $0.check.severity == .error }.map {
            check($0, redactor: redactor)
        }
        let warnings = (finding.outcome?.warnings ?? []).map { check($0, redactor: redactor) }
        var predicted: String?
        if let step = finding.prediction.failure {
            predicted = "\(step.rule.error.message) (\(step.rule.id) / \(step.check.id))"
        }
        let missing = finding.missing.map { Missing(fact: $0.path, settle: $0.settle) }
        var result = Finding(
            requestId: record.requestId, time: record.time, location: finding.request.location.description,
            method: record.method, path: redactor.text(record.path), operation: record.operation,
            client: finding.client, verdict: finding.verdict.rawValue, explanation: redactor.text(finding.explanation),
            fix: redactor.text(finding.fix), note: redactor.text(finding.note),
            event: event(finding.event, redactor: redactor), checks: checks, warnings: warnings, predicted: predicted,
            missing: missing, escalation: nil)
        if finding.verdict != .confirmed { result.escalation = escalation(result, record: record, redactor: redactor) }
        return result
    }

    static func check(_ outcome: CheckOutcome, redactor: Redactor) -> CheckResult {
        // An expression written twice in an assertion is read twice; show it once.
        var seen: Set<String> = []
        let evidence = outcome.evidence.filter { seen.insert($0.expression).inserted }
        return CheckResult(
            id: outcome.check.id, title: outcome.check.title, status: outcome.status.rawValue,
            severity: outcome.check.severity.rawValue, assertion: outcome.check.assertionText,
            evidence: evidence.map {
                Evidence(expression: $0.expression, value: redactor.text(Format.literal($0.value)))
            },
            missing: (outcome.unknown?.facts ?? []).map { Missing(fact: $0.path, settle: $0.settle) },
            failure: outcome.failure)
    }

    static func event(_ value: Value?, redactor: Redactor) -> Event? {
        guard case .object(let object)? = value else { return nil }
        var time: Date?
        if case .timestamp(let stamp)? = object["time"] {
            time = Date(timeIntervalSince1970: Double(stamp.seconds) + Double(stamp.nanos) / 1e9)
        }
        func text(_ name: String) -> String {
            if case .string(let value)? = object[name] { return redactor.text(value) }
            return ""
        }
        return Event(time: time, actor: text("actor"), action: text("action"), summary: text("summary"))
    }

    /// A plain-text summary of a finding the rules could not confirm, ready to paste into a support ticket.
    static func escalation(_ finding: Finding, record: RequestRecord, redactor: Redactor) -> String {
        var lines = [
            "SKM request \(finding.requestId) at \(Timestamp.rfc3339(finding.time)) failed with \(record.response.resultMessage) (resultCode \(record.response.resultCode), HTTP \(record.response.httpStatus)).",
            "Request: \(finding.method) \(finding.path)"
                + (finding.operation.map { " (operation \($0), API \(record.apiVersion ?? "?"))" } ?? ""),
            "Client: \(finding.client)" + (record.client.macHeader.map { ", MAC header \($0)" } ?? "")
                + (record.client.cert.present ? ", certificate \(record.client.cert.sha256?.prefix(16) ?? "?")" : ""),
            "Analysis: \(finding.verdict). \(finding.note ?? "")",
        ]
        if let predicted = finding.predicted { lines.append("Replaying the decision procedure gives: \(predicted).") }
        let decided = finding.checks.filter { $0.status != "skipped" }.map { "\($0.id)=\($0.status)" }
        if !decided.isEmpty { lines.append("Checks: \(decided.joined(separator: ", ")).") }
        if !finding.missing.isEmpty {
            lines.append(
                "Missing evidence: \(finding.missing.map { "\($0.fact) (\($0.settle))" }.joined(separator: "; ")).")
        }
        lines.append("Source: \(finding.location).")
        return lines.map { redactor.text($0) }.joined(separator: "\n")
    }
}
