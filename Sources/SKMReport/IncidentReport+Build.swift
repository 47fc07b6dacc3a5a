import Foundation
import SKMAnalysis
import SKMCore
import SKMPrimitives
import SKMRules
import SKMWire

extension IncidentReport {
    /// What to put in a report besides the analysis itself.
    package struct Options: Sendable {
        package var toolVersion: String
        package var generatedAt: Date
        /// Mask appkeys and User Access Key ids.
        package var redact: Bool
        /// How the analysis was filtered, for the record (`since 2026-09-21T00:00:00Z`, …).
        package var filters: [String]
        /// Groups listed in full; the rest are counted.
        package var maximumGroups: Int
        /// Carry the analysis itself (``IncidentReport/mergeable``), for `skm analyze --merge`.
        package var mergeable: Bool

        package init(
            toolVersion: String, generatedAt: Date, redact: Bool = true, filters: [String] = [],
            maximumGroups: Int = 200, mergeable: Bool = false
        ) {
            self.toolVersion = toolVersion
            self.generatedAt = generatedAt
            self.redact = redact
            self.filters = filters
            self.maximumGroups = maximumGroups
            self.mergeable = mergeable
        }
    }

    /// Builds the report of an analysis.
    package init(analysis: AnalysisResult, rules: RuleSet, snapshot: StateSnapshot, options: Options) {
        var redactor = Redactor(enabled: options.redact)
        for appkey in snapshot.appkeys { redactor.add(appkey.id) }
        for accessKey in snapshot.userAccessKeys { redactor.add(accessKey.id) }
        let triage = analysis.triage
        let successes = triage.successes
        let dailySuccesses = triage.dailySuccesses
        for group in triage.groups.values {
            redactor.add(group.fingerprint.appkey)
            for example in group.examples {
                redactor.add(example.request.record.appkey)
                redactor.add(example.request.record.userAccessKeyId)
            }
        }
        for activity in successes.keys { redactor.add(activity.appkey) }

        tool = Tool(name: "skm", version: options.toolVersion)
        generatedAt = options.generatedAt
        ruleSet = RuleSetInfo(
            rules: rules.rules.count, checks: rules.rules.reduce(0) { $0 + $1.checks.count }, digest: rules.digest)
        state = StateInfo(
            source: snapshot.source.kind, location: snapshot.source.location.map { redactor.text($0) },
            generatedAt: snapshot.generatedAt, events: snapshot.events.count)
        filters = options.filters.map { redactor.text($0) }
        redacted = options.redact
        if options.mergeable, case .object(var carried) = analysis.mergeable {
            // The state it was made against, by content: the merge must be given that state.
            carried["stateDigest"] = .string(snapshot.digest)
            mergeable = .object(carried)
        } else {
            mergeable = nil
        }

        let ranked = triage.ranked
        var verdicts: [SKMAnalysis.Finding.Verdict: Int] = [:]
        var errorCounts: [Int: Int] = [:]
        for group in ranked {
            verdicts[group.verdict, default: 0] += group.count
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
            let example = group.examples.first
            let ruleID = fingerprint.rule ?? "UNEXPLAINED"
            // A group without a cause is named by what its verdict says, never by a guess.
            let (checkID, title): (String, String)
            if let check = fingerprint.check {
                (checkID, title) = (check, example?.cause?.check.failure ?? check)
            } else if group.verdict == .mismatch {
                (checkID, title) = ("mismatch", "mismatch: the inputs point to another error than the one answered")
            } else if example?.undecided != nil || example?.missing.isEmpty == false {
                (checkID, title) = ("undecided", "undecided: the inputs cannot tell which check failed")
            } else {
                (checkID, title) = ("no-documented-cause", "no documented cause fits")
            }
            let key = "\(ruleID)/\(checkID)"
            if causes[key] == nil {
                causes[key] = Cause(
                    ruleId: ruleID, checkId: checkID, title: title,
                    error: APIError(resultCode: fingerprint.code).map { Self.errorInfo($0.resultCode) }, count: 0,
                    groups: 0, clients: 0, keys: 0)
            }
            // Changed where it lies: a copy taken out would copy its list of groups for every group added to it.
            causes[key]!.count += group.count
            causes[key]!.groups += 1
            causes[key]!.groupIds.append(fingerprint.identifier)
            if causeClients[key, default: []].count < Triage.distinctLimit {
                // A client the inputs do not show is not one more client.
                if fingerprint.client != "unknown" { causeClients[key, default: []].insert(fingerprint.client) }
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
            var built = Self.group(group, rank: index + 1, redactor: redactor)
            built.dayBefore = Self.dayBefore(group, daily: dailySuccesses)
            return built
        }

        var failuresByKey: [Triage.KeyActivity: Int] = [:]
        for group in ranked where !group.fingerprint.key.isEmpty {
            failuresByKey[
                Triage.KeyActivity(appkey: group.fingerprint.appkey, keyId: group.fingerprint.key), default: 0] +=
                group.count
        }
        let activeKeys = Set(failuresByKey.keys).union(successes.keys)
        keys = activeKeys.map { activity in
            KeyActivity(
                appkey: redactor.credential(activity.appkey), keyId: activity.keyId,
                successes: successes[activity] ?? 0, failures: failuresByKey[activity] ?? 0)
        }.sorted {
            ($1.failures, $1.successes, $0.keyId, $0.appkey) < ($0.failures, $0.successes, $1.keyId, $1.appkey)
        }

        inputs = analysis.inputs.map {
            Input(path: $0.path, format: $0.format, items: $0.items, problems: $0.problems)
        }
        problems = analysis.problems.map { Problem(location: $0.location.description, message: $0.message) }
    }

    /// One finding in report form, credentials of the state and of the request masked when `redact` is set.
    package static func finding(_ finding: SKMAnalysis.Finding, snapshot: StateSnapshot, redact: Bool) -> Finding {
        var redactor = Redactor(enabled: redact)
        for appkey in snapshot.appkeys { redactor.add(appkey.id) }
        for accessKey in snapshot.userAccessKeys { redactor.add(accessKey.id) }
        redactor.add(finding.request.record.appkey)
        redactor.add(finding.request.record.userAccessKeyId)
        return Self.finding(finding, redactor: redactor)
    }

    package static func errorInfo(_ code: Int) -> ErrorInfo {
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
            lastSeen: group.lastSeen, verdict: group.verdict,
            error: APIError(resultCode: fingerprint.code).map { errorInfo($0.resultCode) },
            resultCode: fingerprint.code,
            unknownResult: APIError(resultCode: fingerprint.code) == nil
                ? example.map { String($0.request.record.response.resultMessage.prefix(80)) } : nil,
            ruleId: example?.rule?.id, ruleTitle: example?.rule?.title,
            guide: example?.rule?.guide, checkId: example?.cause?.check.id, checkTitle: example?.cause?.check.failure,
            appkey: redactor.credential(fingerprint.appkey), keyId: fingerprint.key, client: fingerprint.client,
            explanation: redactor.text(example?.explanation), fix: redactor.text(example?.fix),
            hints: (example?.hints ?? []).map { hint($0, redactor: redactor) }, note: redactor.text(example?.note),
            missing: (example?.missing ?? []).map { Missing(fact: $0.path, settle: $0.settle) },
            simulation: group.simulation.map { simulation($0, of: group.count, redactor: redactor) },
            alternatives: group.alternatives.map {
                simulation($0, of: group.count, redactor: redactor, alternative: true)
            },
            event: example.flatMap { event($0.event, redactor: redactor) },
            now: group.now.map { now($0, request: group.examples.last?.request.record.requestId, redactor: redactor) },
            undecided: example?.undecided != nil,
            requestIds: group.requestIDs, examples: group.examples.map { finding($0, redactor: redactor) })
    }

    /// "In the inputs, this key had 12,400 successful decrypt calls on 2026-09-20 (UTC), the day before the group's
    /// first failure": for a group of calls with a key, when the inputs hold successful data calls with it that day.
    static func dayBefore(_ group: Triage.Group, daily: [Triage.DailyActivity: Int]) -> String? {
        let fingerprint = group.fingerprint
        guard !fingerprint.key.isEmpty else { return nil }
        let day = Triage.DailyActivity.day(of: group.firstSeen) - 1
        var counts: [(operation: String, count: Int)] = []
        for (activity, count) in daily
        where activity.day == day && activity.keyId == fingerprint.key && activity.appkey == fingerprint.appkey
            && APIOperation(rawValue: activity.operation)?.category == .data
        {
            counts.append((activity.operation, count))
        }
        guard !counts.isEmpty else { return nil }
        counts.sort { ($1.count, $0.operation) < ($0.count, $1.operation) }
        let total = counts.reduce(0) { $0 + $1.count }
        let date = Timestamp.rfc3339(Date(timeIntervalSince1970: Double(day) * 86_400)).prefix(10)
        let calls = counts.count == 1 ? "\(counts[0].operation) call" : "call"
        var sentence =
            "In the inputs, this key had \(grouped(total)) successful \(calls)\(total == 1 ? "" : "s") on \(date) (UTC), "
            + "the day before the group's first failure"
        if counts.count > 1 {
            sentence += ": " + counts.map { "\($0.operation) \(grouped($0.count))" }.joined(separator: ", ")
        }
        return sentence + "."
    }

    /// "Against the state of T (the snapshot), request R of this group would succeed: … changed since."
    static func now(_ now: StateNow, request: String?, redactor: Redactor) -> String {
        // Replayed on the group's last kept request: the others share its cause, not every detail of it.
        var sentence =
            "Against the state of \(Timestamp.rfc3339(now.time)) (the snapshot), "
            + (request.map { "request \($0) of this group" } ?? "this group's request") + " would succeed"
        if let event = now.since {
            sentence += ": since the group's last request, \(event.summary) (\(Timestamp.rfc3339(event.time)))"
        } else {
            sentence += ": the state changed since the group's last request"
        }
        return redactor.text(sentence + ".")
    }

    static func hint(_ hint: HintFinding, redactor: Redactor) -> Hint {
        var seen: Set<String> = []
        return Hint(
            id: hint.hint.id, title: hint.hint.title, explanation: redactor.text(hint.explanation),
            fix: redactor.text(hint.fix),
            evidence: hint.evidence.filter { seen.insert($0.expression).inserted }.map {
                Evidence(expression: $0.expression, value: redactor.text(Format.literal($0.value)))
            })
    }

    /// A group's simulated fix, with its outcome in one sentence.
    static func simulation(
        _ tally: Triage.SimulationTally, of count: Int, redactor: Redactor, alternative: Bool = false
    ) -> Simulation {
        let failing = tally.stillFailing.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.map {
            Simulation.StillFailing(error: errorInfo($0.key.error.resultCode), check: $0.key.check, count: $0.value)
        }
        let change = redactor.text(tally.description)
        let subject = change.prefix(1).uppercased() + change.dropFirst()
        let requests = tally.simulated == 1 ? "this request" : "these \(grouped(tally.simulated)) requests"
        var sentence: String
        if tally.passed == tally.simulated {
            sentence = "\(subject) makes \(tally.simulated == 1 ? "this request" : "all \(requests.dropFirst(6))") pass"
        } else if tally.passed == 0 {
            sentence = "\(subject) would not make any of \(requests) pass"
        } else {
            sentence = "\(subject) makes \(grouped(tally.passed)) of \(requests) pass"
        }
        var rest: [String] = []
        for failure in failing {
            rest.append(
                "\(grouped(failure.count)) would still fail with \(failure.error.message) (\(Diagnoser.lowercasedFirst(failure.check)))"
            )
        }
        if tally.undecided > 0 { rest.append("for \(grouped(tally.undecided)) the inputs cannot decide") }
        if !rest.isEmpty { sentence += "; " + rest.joined(separator: "; ") }
        sentence += "."
        if alternative {
            sentence = "Or, since any one factor suffices (OR mode): " + Diagnoser.lowercasedFirst(sentence)
        }
        return Simulation(
            change: change, simulated: tally.simulated, passed: tally.passed, undecided: tally.undecided,
            stillFailing: failing, summary: sentence)
    }

    static func finding(_ finding: SKMAnalysis.Finding, redactor: Redactor) -> Finding {
        let record = finding.request.record
        // The checks after the one that decided were evaluated for the evidence, but the server never reached them.
        let decided = (finding.cause ?? finding.undecided)?.check
        var reached = true
        // A rule that does not apply to the request (its guard is false) has no check that counts.
        let applies =
            finding.outcome.map { outcome -> Bool in
                if case .bool(false) = outcome.applicable { return false }
                return true
            } ?? false
        let checks = (finding.outcome?.checks ?? []).filter { $0.check.severity == .error }.map { outcome in
            var result = check(outcome, redactor: redactor)
            if !applies {
                result.status = .skipped
                result.missing = []
            } else if !reached {
                result.status = .notReached
                result.missing = []
            }
            if outcome.check === decided { reached = false }
            return result
        }
        let warnings = (finding.outcome?.warnings ?? []).map { check($0, redactor: redactor) }
        // What the replay says: a failure only when every check before it could be decided.
        var predicted: String?
        if let first = finding.prediction.unknownsBefore.first {
            predicted =
                "undecided: it cannot get past \"\(first.check.title)\" (\(first.rule.id) / \(first.check.id)), which the "
                + "inputs cannot decide"
        } else if let step = finding.prediction.failure {
            predicted = "\(step.rule.error.message): \(step.check.failure) (\(step.rule.id) / \(step.check.id))"
        } else {
            predicted = "success: no check fails"
        }
        let missing = finding.missing.map { Missing(fact: $0.path, settle: $0.settle) }
        var simulated: String?
        if let simulation = finding.simulation {
            let change = redactor.text(simulation.description)
            switch simulation.result {
            case .passes: simulated = "\(change): passes"
            case .undecided: simulated = "\(change): the inputs cannot decide"
            case .fails(let error, let check):
                simulated = "\(change): still fails with \(error.resultMessage) (\(Diagnoser.lowercasedFirst(check)))"
            }
        }
        var result = Finding(
            requestId: record.requestId, time: record.time, location: finding.request.location.description,
            source: finding.request.location, method: record.method, path: redactor.text(record.path),
            operation: record.operation,
            client: finding.client + (finding.request.clientAddressSource.map { " (from \($0))" } ?? ""),
            verdict: finding.verdict, cause: finding.cause?.check.failure,
            explanation: redactor.text(finding.explanation), fix: redactor.text(finding.fix),
            hints: finding.hints.map { hint($0, redactor: redactor) }, note: redactor.text(finding.note),
            event: event(finding.event, redactor: redactor), simulation: simulated, checks: checks,
            warnings: warnings, predicted: predicted, missing: missing, escalation: nil)
        if finding.verdict != .confirmed {
            result.escalation = escalation(
                result, record: record, assumptions: finding.request.assumptions, redactor: redactor)
        }
        return result
    }

    static func check(_ outcome: CheckOutcome, redactor: Redactor) -> CheckResult {
        // An expression written twice in an assertion is read twice; show it once.
        var seen: Set<String> = []
        let evidence = outcome.evidence.filter { seen.insert($0.expression).inserted }
        return CheckResult(
            id: outcome.check.id, title: outcome.check.title, failureTitle: outcome.check.failure,
            status: IncidentReport.CheckStatus(outcome.status),
            severity: outcome.check.severity, assertion: outcome.check.assertionText,
            evidence: evidence.map {
                Evidence(expression: $0.expression, value: redactor.text(Format.literal($0.value)))
            },
            missing: (outcome.unknown?.facts ?? []).map { Missing(fact: $0.path, settle: $0.settle) },
            failure: outcome.failure)
    }

    static func event(_ event: AuditEvent?, redactor: Redactor) -> Event? {
        event.map {
            Event(
                time: $0.time, actor: redactor.text($0.actor), action: $0.action.rawValue,
                summary: redactor.text($0.summary))
        }
    }

    /// A plain-text summary of a finding the rules could not confirm, ready to paste into a support ticket.
    static func escalation(
        _ finding: Finding, record: RequestRecord, assumptions: [String] = [], redactor: Redactor
    ) -> String {
        var lines = [
            "SKM request \(finding.requestId) at \(Timestamp.rfc3339(finding.time)) failed with \(record.response.resultMessage) (\(APIError(resultCode: record.response.resultCode) == nil ? "" : "resultCode \(record.response.resultCode), ")HTTP \(record.response.httpStatus)).",
            "Request: \(finding.method) \(finding.path)"
                + (finding.operation.map { " (operation \($0), API \(record.apiVersion ?? "?"))" } ?? ""),
            "Client: \(finding.client)" + (record.client.macHeader.map { ", MAC header \($0)" } ?? "")
                + (record.client.cert.present ? ", certificate \(record.client.cert.sha256?.prefix(16) ?? "?")" : ""),
            "Analysis: \(finding.verdict). \(finding.note ?? "")",
        ]
        if !assumptions.isEmpty {
            lines.append("Asserted on the command line: \(assumptions.joined(separator: ", ")).")
        }
        if let predicted = finding.predicted { lines.append("Replaying the decision procedure: \(predicted).") }
        let decided = finding.checks.filter { $0.status != .skipped }.map { "\($0.id)=\($0.status.rawValue)" }
        if !decided.isEmpty { lines.append("Checks: \(decided.joined(separator: ", ")).") }
        if !finding.missing.isEmpty {
            lines.append(
                "Missing evidence: \(finding.missing.map { "\($0.fact) (\($0.settle))" }.joined(separator: "; ")).")
        }
        lines.append("Source: \(finding.location).")
        // One line per item: a line break inside a value (a hostile path) is shown, never taken as a new line.
        return lines.map { PrintableText.escaped(redactor.text($0)) }.joined(separator: "\n")
    }
}
