import Foundation
import SKMCore
import SKMPrimitives
import SKMWire

/// An analysis written so that it can be merged with others (`skm analyze --merge`): its counts and tallies as they
/// are, and each group's example requests, which are diagnosed again when it is read.
///
/// Reading the parts of several nodes' or shards' logs and merging them in order gives exactly the analysis of the
/// logs read together, as ``AnalysisResult/merge(_:)`` does for the blocks of one log; only what needs every input
/// read first (each group against the state as it is now) is done again after the merge. Times are written as
/// seconds since 1970 in full, so nothing is rounded on the way.
extension AnalysisResult {
    package static let mergeableVersion = 1

    /// This analysis as JSON.
    package var mergeable: JSONValue {
        var triageObject: JSONObject = [
            "successCount": .int(triage.successCount), "failureCount": .int(triage.failureCount),
            "successes": .array(
                triage.successes.sorted { ($0.key.appkey, $0.key.keyId) < ($1.key.appkey, $1.key.keyId) }.map {
                    ["appkey": .string($0.key.appkey), "keyId": .string($0.key.keyId), "count": .int($0.value)]
                }),
            "dailySuccesses": .array(
                triage.dailySuccesses.sorted { $0.key < $1.key }.map {
                    [
                        "appkey": .string($0.key.appkey), "keyId": .string($0.key.keyId),
                        "operation": .string($0.key.operation), "day": .int($0.key.day), "count": .int($0.value),
                    ] as JSONValue
                }),
            "failuresPerMinute": .array(
                triage.failuresPerMinute.sorted { $0.key < $1.key }.flatMap { minute, counts in
                    counts.sorted { $0.key < $1.key }.map {
                        ["minute": .int(minute), "code": .int($0.key), "count": .int($0.value)] as JSONValue
                    }
                }),
        ]
        triageObject["groups"] = .array(triage.ranked.map(Self.group))
        return [
            "version": .int(Self.mergeableVersion),
            "inputs": .array(
                inputs.map {
                    [
                        "path": .string($0.path), "format": .string($0.format), "items": .int($0.items),
                        "problems": .int($0.problems),
                    ]
                }),
            "problems": .array(problems.map(Self.problem)), "problemCount": .int(problemCount),
            "damaged": .array(damaged.map(Self.problem)), "filteredOut": .int(filteredOut),
            "firstTime": Self.time(firstTime), "lastTime": Self.time(lastTime), "triage": .object(triageObject),
        ]
    }

    /// Reads an analysis written by ``mergeable``; its examples are diagnosed again by `diagnoser`.
    package init(mergeable value: JSONValue, diagnoser: Diagnoser) throws(MergeError) {
        self = try MergeReader(path: "").analysis(value, diagnoser: diagnoser)
    }

    static func time(_ date: Date?) -> JSONValue {
        date.map { .double($0.timeIntervalSince1970) } ?? .null
    }

    static func problem(_ problem: InputProblem) -> JSONValue {
        [
            "file": .string(problem.location.file), "unit": .string(problem.location.unit.rawValue),
            "number": .int(problem.location.number), "message": .string(problem.message),
            "damage": .bool(problem.damage),
        ]
    }

    static func group(_ group: Triage.Group) -> JSONValue {
        let fingerprint = group.fingerprint
        return [
            "fingerprint": [
                "rule": .optional(fingerprint.rule), "check": .optional(fingerprint.check),
                "code": .int(fingerprint.code), "verdict": .string(fingerprint.verdict.rawValue),
                "appkey": .string(fingerprint.appkey), "key": .string(fingerprint.key),
                "client": .string(fingerprint.client), "text": .array(fingerprint.text.map(JSONValue.string)),
            ],
            "count": .int(group.count), "firstSeen": time(group.firstSeen), "lastSeen": time(group.lastSeen),
            "requestIds": .array(group.requestIDs.map(JSONValue.string)),
            "examples": .array(group.examples.map { request($0.request) }),
            "simulation": group.simulation.map(tally) ?? .null, "alternatives": .array(group.alternatives.map(tally)),
        ]
    }

    static func request(_ request: CapturedRequest) -> JSONValue {
        let record = (try? JSONParser().parse(request.record.jsonLine)) ?? .null
        var gaps = JSONObject()
        for (gap, text) in request.gaps.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            gaps[gap.rawValue] = .string(text)
        }
        return [
            "record": record,
            // The record's own times and duration are rounded for the log; these are not.
            "time": time(request.record.time), "durationMs": .double(request.record.durationMs),
            "file": .string(request.location.file), "unit": .string(request.location.unit.rawValue),
            "number": .int(request.location.number), "clientAddressKnown": .bool(request.clientAddressKnown),
            "certificateKnown": .bool(request.certificateKnown), "serverTimeKnown": .bool(request.serverTimeKnown),
            "clientTime": time(request.clientTime), "clientAddressSource": .optional(request.clientAddressSource),
            "assumptions": .array(request.assumptions.map(JSONValue.string)),
            "contradictions": .array(request.contradictions.map(JSONValue.string)),
            "gaps": .object(gaps),
            "timeSpan": .double(request.timeSpan),
        ]
    }

    static func tally(_ tally: Triage.SimulationTally) -> JSONValue {
        [
            "change": change(tally.change), "description": .string(tally.description),
            "simulated": .int(tally.simulated), "passed": .int(tally.passed), "undecided": .int(tally.undecided),
            "stillFailing": .array(
                tally.stillFailing.sorted { $0.key < $1.key }.map {
                    ["code": .int($0.key.error.rawValue), "check": .string($0.key.check), "count": .int($0.value)]
                }),
        ]
    }

    static func change(_ change: StateChange) -> JSONValue {
        switch change {
        case .registerAddress(let store, let value):
            return ["kind": "registerAddress", "store": .int(store), "value": .string(value)]
        case .registerMAC(let store, let value):
            return ["kind": "registerMAC", "store": .int(store), "value": .string(value)]
        case .registerCertificate(let store, let sha256):
            return ["kind": "registerCertificate", "store": .int(store), "sha256": .string(sha256)]
        case .cancelEntryDeletion(let entry): return ["kind": "cancelEntryDeletion", "entry": .int(entry)]
        case .cancelKeyDeletion(let key): return ["kind": "cancelKeyDeletion", "key": .string(key)]
        case .cancelVersionDeletion(let key, let version):
            return ["kind": "cancelVersionDeletion", "key": .string(key), "version": .int(version)]
        case .useAppkey(let appkey): return ["kind": "useAppkey", "appkey": .string(appkey)]
        case .useKeyVersion(let version): return ["kind": "useKeyVersion", "version": .int(version)]
        }
    }
}

/// Why a mergeable analysis cannot be read; its subject is the member (`mergeable.triage.groups[0]`).
package typealias MergeError = CodedFailure<MergeErrorCode>

package enum MergeErrorCode: String, ErrorCode {
    /// A member is missing or of the wrong kind.
    case malformed
    /// Written by a version of SKM that writes another version of it.
    case unsupportedVersion
}

/// Reads a mergeable analysis member by member, naming the member a problem is in.
struct MergeReader {
    var path: String

    func fail(_ reason: String, code: MergeErrorCode = .malformed) -> MergeError {
        MergeError(code, subject: path.isEmpty ? "mergeable" : "mergeable.\(path)", reason)
    }

    /// A reader of one of this member's members.
    func at(_ member: String) -> MergeReader {
        MergeReader(path: path.isEmpty ? member : "\(path).\(member)")
    }

    func member(_ value: JSONValue, _ name: String) throws(MergeError) -> JSONValue {
        guard case .object(let object) = value else { throw fail("not an object") }
        guard let found = object[name] else { throw fail("no member \(name)") }
        return found
    }

    func int(_ value: JSONValue, _ name: String) throws(MergeError) -> Int {
        guard let number = try member(value, name).intValue else { throw fail("\(name) is not an integer") }
        return number
    }

    /// A count: from 0 to 2^50, so that any number of them adds up without overflowing.
    func count(_ value: JSONValue, _ name: String) throws(MergeError) -> Int {
        let number = try int(value, name)
        guard (0...(1 << 50)).contains(number) else { throw fail("\(name) is not a count (0 to 2^50)") }
        return number
    }

    func string(_ value: JSONValue, _ name: String) throws(MergeError) -> String {
        guard let text = try member(value, name).stringValue else { throw fail("\(name) is not a string") }
        return text
    }

    func optionalString(_ value: JSONValue, _ name: String) throws(MergeError) -> String? {
        switch try member(value, name) {
        case .null: return nil
        case .string(let text): return text
        default: throw fail("\(name) is not a string or null")
        }
    }

    func bool(_ value: JSONValue, _ name: String) throws(MergeError) -> Bool {
        guard let flag = try member(value, name).boolValue else { throw fail("\(name) is not true or false") }
        return flag
    }

    func double(_ value: JSONValue, _ name: String) throws(MergeError) -> Double {
        switch try member(value, name) {
        case .int(let number): return Double(number)
        case .double(let number): return number
        default: throw fail("\(name) is not a number")
        }
    }

    /// A time from 1970 to 9999, or `nil` for `null`.
    func time(_ value: JSONValue, _ name: String) throws(MergeError) -> Date? {
        if case .null = try member(value, name) { return nil }
        let seconds = try double(value, name)
        guard seconds.isFinite, (0...253_402_300_799).contains(seconds) else {
            throw fail("\(name) is not a time from 1970 to 9999")
        }
        return Date(timeIntervalSince1970: seconds)
    }

    func array(_ value: JSONValue, _ name: String) throws(MergeError) -> [JSONValue] {
        guard let items = try member(value, name).arrayValue else { throw fail("\(name) is not an array") }
        return items
    }

    func strings(_ value: JSONValue, _ name: String) throws(MergeError) -> [String] {
        var strings: [String] = []
        for item in try array(value, name) {
            guard let text = item.stringValue else { throw fail("\(name) holds a value that is not a string") }
            strings.append(text)
        }
        return strings
    }

    func analysis(_ value: JSONValue, diagnoser: Diagnoser) throws(MergeError) -> AnalysisResult {
        let version = try int(value, "version")
        guard version == AnalysisResult.mergeableVersion else {
            throw fail(
                "version \(version); this skm reads version \(AnalysisResult.mergeableVersion)",
                code: .unsupportedVersion)
        }
        var result = AnalysisResult()
        for (index, input) in try array(value, "inputs").enumerated() {
            let reader = at("inputs[\(index)]")
            var summary = InputSummary(
                path: try reader.string(input, "path"), format: try reader.string(input, "format"))
            summary.items = try reader.count(input, "items")
            summary.problems = try reader.count(input, "problems")
            result.inputs.append(summary)
        }
        for (index, problem) in try array(value, "problems").enumerated() {
            result.problems.append(try at("problems[\(index)]").problem(problem))
        }
        for (index, problem) in try array(value, "damaged").enumerated() {
            result.damaged.append(try at("damaged[\(index)]").problem(problem))
        }
        result.problemCount = try count(value, "problemCount")
        result.filteredOut = try count(value, "filteredOut")
        result.firstTime = try time(value, "firstTime")
        result.lastTime = try time(value, "lastTime")
        let triage = try member(value, "triage")
        result.triage = try at("triage").triage(triage, diagnoser: diagnoser)
        return result
    }

    func problem(_ value: JSONValue) throws(MergeError) -> InputProblem {
        guard let unit = SourceLocation.Unit(rawValue: try string(value, "unit")) else { throw fail("unknown unit") }
        return InputProblem(
            location: SourceLocation(file: try string(value, "file"), unit: unit, number: try int(value, "number")),
            message: try string(value, "message"), damage: try bool(value, "damage"))
    }

    func triage(_ value: JSONValue, diagnoser: Diagnoser) throws(MergeError) -> Triage {
        var successes: [Triage.KeyActivity: Int] = [:]
        for (index, item) in try array(value, "successes").enumerated() {
            let reader = at("successes[\(index)]")
            let key = Triage.KeyActivity(
                appkey: try reader.string(item, "appkey"), keyId: try reader.string(item, "keyId"))
            successes[key, default: 0] += try reader.count(item, "count")
        }
        // Absent from analyses written before it was counted.
        var daily: [Triage.DailyActivity: Int] = [:]
        let dailyItems = value["dailySuccesses"] == nil ? [] : try array(value, "dailySuccesses")
        for (index, item) in dailyItems.enumerated() {
            let reader = at("dailySuccesses[\(index)]")
            let day = try reader.int(item, "day")
            guard (0...(253_402_300_799 / 86_400)).contains(day) else { throw reader.fail("day is not a day") }
            let key = Triage.DailyActivity(
                appkey: try reader.string(item, "appkey"), keyId: try reader.string(item, "keyId"),
                operation: try reader.string(item, "operation"), day: day)
            daily[key, default: 0] += try reader.count(item, "count")
        }
        var perMinute: [Int: [Int: Int]] = [:]
        for (index, item) in try array(value, "failuresPerMinute").enumerated() {
            let reader = at("failuresPerMinute[\(index)]")
            let minute = try reader.int(item, "minute")
            guard (0...(253_402_300_799 / 60)).contains(minute) else { throw reader.fail("minute is not a minute") }
            perMinute[minute, default: [:]][try reader.int(item, "code"), default: 0] += try reader.count(item, "count")
        }
        var groups: [Triage.Group] = []
        for (index, item) in try array(value, "groups").enumerated() {
            groups.append(try at("groups[\(index)]").group(item, diagnoser: diagnoser))
        }
        return Triage(
            restoring: groups, successes: successes, dailySuccesses: daily,
            successCount: try count(value, "successCount"),
            failureCount: try count(value, "failureCount"), failuresPerMinute: perMinute)
    }

    func group(_ value: JSONValue, diagnoser: Diagnoser) throws(MergeError) -> Triage.Group {
        let printed = try member(value, "fingerprint")
        let reader = at("fingerprint")
        guard let verdict = Finding.Verdict(rawValue: try reader.string(printed, "verdict")) else {
            throw reader.fail("unknown verdict")
        }
        let fingerprint = Fingerprint(
            rule: try reader.optionalString(printed, "rule"), check: try reader.optionalString(printed, "check"),
            code: try reader.int(printed, "code"), verdict: verdict, appkey: try reader.string(printed, "appkey"),
            key: try reader.string(printed, "key"), client: try reader.string(printed, "client"),
            text: try reader.strings(printed, "text"))
        guard let firstSeen = try time(value, "firstSeen"), let lastSeen = try time(value, "lastSeen") else {
            throw fail("firstSeen and lastSeen are times")
        }
        var group = Triage.Group(fingerprint: fingerprint, firstSeen: firstSeen, lastSeen: lastSeen)
        group.count = try count(value, "count")
        group.requestIDs = try strings(value, "requestIds")
        let examples = try array(value, "examples")
        guard firstSeen <= lastSeen, group.count >= 1, !examples.isEmpty, examples.count <= group.count,
            examples.count <= Triage.examplesPerGroup, group.requestIDs.count <= group.count
        else { throw fail("the counts, times and examples of the group do not agree") }
        for (index, example) in examples.enumerated() {
            let request = try at("examples[\(index)]").request(example)
            // The verdict and the words are made again: a report is trusted for its counts, never for a verdict.
            let finding = diagnoser.diagnose(request)
            guard finding.fingerprint == fingerprint else {
                throw at("examples[\(index)]").fail(
                    "diagnosed with these rules and this state, the request is not of its group (another verdict, "
                        + "cause or words)")
            }
            group.examples.append(finding)
        }
        let simulation = try member(value, "simulation")
        if simulation != .null { group.simulation = try at("simulation").tally(simulation) }
        for (index, alternative) in try array(value, "alternatives").enumerated() {
            group.alternatives.append(try at("alternatives[\(index)]").tally(alternative))
        }
        guard ([group.simulation].compactMap { $0 } + group.alternatives).allSatisfy({ $0.simulated <= group.count })
        else { throw fail("more requests simulated than the group has") }
        return group
    }

    func request(_ value: JSONValue) throws(MergeError) -> CapturedRequest {
        var record: RequestRecord
        do {
            record = try RequestRecord(json: try member(value, "record"))
        } catch let error as MergeError {
            throw error
        } catch {
            throw fail("record: \(error)")
        }
        guard let time = try time(value, "time") else { throw fail("time is null") }
        record.time = time
        record.durationMs = try double(value, "durationMs")
        guard (0...86_400_000).contains(record.durationMs) else { throw fail("durationMs is not a duration") }
        guard let unit = SourceLocation.Unit(rawValue: try string(value, "unit")) else { throw fail("unknown unit") }
        var request = CapturedRequest(
            record: record,
            location: SourceLocation(file: try string(value, "file"), unit: unit, number: try int(value, "number")),
            clientAddressKnown: try bool(value, "clientAddressKnown"),
            certificateKnown: try bool(value, "certificateKnown"), serverTimeKnown: try bool(value, "serverTimeKnown"),
            clientTime: try self.time(value, "clientTime"),
            clientAddressSource: try optionalString(value, "clientAddressSource"))
        request.assumptions = try strings(value, "assumptions")
        request.contradictions = try strings(value, "contradictions")
        guard case .object(let gaps) = try member(value, "gaps") else { throw fail("gaps is not an object") }
        for member in gaps.members {
            guard let gap = CaptureGap(rawValue: member.key), let text = member.value.stringValue else {
                throw fail("gaps.\(member.key) is not a gap's text")
            }
            request.gaps[gap] = text
        }
        request.timeSpan = try double(value, "timeSpan")
        guard (0...60).contains(request.timeSpan) else { throw fail("timeSpan is not a span of seconds") }
        return request
    }

    func tally(_ value: JSONValue) throws(MergeError) -> Triage.SimulationTally {
        let printed = try member(value, "change")
        let kind = try string(printed, "kind")
        let change: StateChange
        switch kind {
        case "registerAddress":
            change = .registerAddress(store: try int(printed, "store"), value: try string(printed, "value"))
        case "registerMAC": change = .registerMAC(store: try int(printed, "store"), value: try string(printed, "value"))
        case "registerCertificate":
            change = .registerCertificate(store: try int(printed, "store"), sha256: try string(printed, "sha256"))
        case "cancelEntryDeletion": change = .cancelEntryDeletion(entry: try int(printed, "entry"))
        case "cancelKeyDeletion": change = .cancelKeyDeletion(key: try string(printed, "key"))
        case "cancelVersionDeletion":
            change = .cancelVersionDeletion(key: try string(printed, "key"), version: try int(printed, "version"))
        case "useAppkey": change = .useAppkey(try string(printed, "appkey"))
        case "useKeyVersion": change = .useKeyVersion(try int(printed, "version"))
        default: throw fail("change.kind '\(kind.prefix(40))' is not a change SKM simulates")
        }
        var tally = Triage.SimulationTally(change: change, description: try string(value, "description"))
        tally.simulated = try count(value, "simulated")
        tally.passed = try count(value, "passed")
        tally.undecided = try count(value, "undecided")
        var failing = 0
        for item in try array(value, "stillFailing") {
            guard let error = APIError(resultCode: try int(item, "code")) else { throw fail("stillFailing.code") }
            let number = try count(item, "count")
            failing += number
            tally.stillFailing[.init(error: error, check: try string(item, "check")), default: 0] += number
        }
        guard tally.passed + tally.undecided + failing == tally.simulated else {
            throw fail("its passed, undecided and still failing requests do not add up to those simulated")
        }
        return tally
    }
}

extension Triage.SimulationTally {
    init(change: StateChange, description: String) {
        self.change = change
        self.description = description
    }
}
