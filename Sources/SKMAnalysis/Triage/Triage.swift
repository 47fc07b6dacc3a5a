import Foundation
import SKMCore

/// Findings grouped by fingerprint, with what support staff triage by: how many, since when, how sure, and what
/// the fix would do.
///
/// Memory grows with the number of groups and keys, never with the number of requests: each group keeps its counts
/// and its first few findings in full. Two triages merge, so logs can be analysed in parts (per node, per file) and
/// combined.
package struct Triage: Sendable {
    /// Findings kept in full per group, and request ids listed per group.
    package static let examplesPerGroup = 3
    package static let requestIDsPerGroup = 20
    /// Distinct clients and keys remembered per cause before only counting.
    package static let distinctLimit = 10_000

    /// What a simulated fix did across a group's requests.
    package struct SimulationTally: Sendable, Hashable {
        package var change: StateChange
        package var description: String
        package var simulated = 0
        package var passed = 0
        package var undecided = 0
        /// Requests that would still fail, by error and the check that would stop them.
        package var stillFailing: [Failure: Int] = [:]

        package struct Failure: Sendable, Hashable, Comparable {
            package var error: APIError
            package var check: String

            package static func < (lhs: Failure, rhs: Failure) -> Bool {
                (lhs.error.rawValue, lhs.check) < (rhs.error.rawValue, rhs.check)
            }
        }

        init(_ simulation: Simulation) {
            change = simulation.change
            description = simulation.description
        }

        mutating func add(_ simulation: Simulation) {
            simulated += 1
            switch simulation.result {
            case .passes: passed += 1
            case .undecided: undecided += 1
            case .fails(let error, let check): stillFailing[Failure(error: error, check: check), default: 0] += 1
            }
        }

        mutating func merge(_ other: SimulationTally) {
            simulated += other.simulated
            passed += other.passed
            undecided += other.undecided
            for (failure, count) in other.stillFailing { stillFailing[failure, default: 0] += count }
        }
    }

    package struct Group: Sendable {
        package var fingerprint: Fingerprint
        package var count = 0
        package var firstSeen: Date
        package var lastSeen: Date
        /// The first findings of the group, in full; every finding of a group renders the same explanation.
        package var examples: [Finding] = []
        package var requestIDs: [String] = []
        /// The fix simulated on every request of the group, and in OR mode each alternative factor's.
        package var simulation: SimulationTally?
        package var alternatives: [SimulationTally] = []
        /// Against the state as it is now, the group's requests would succeed: what changed since.
        package var now: StateNow?

        package var verdict: Finding.Verdict { fingerprint.verdict }
    }

    /// Successful requests per key: the context that tells an outage from a stray failure.
    package struct KeyActivity: Sendable, Hashable {
        package var appkey: String
        package var keyId: String

        package init(appkey: String, keyId: String) {
            self.appkey = appkey
            self.keyId = keyId
        }
    }

    /// Successful calls per key, operation and UTC day: what a key did before it failed.
    package struct DailyActivity: Sendable, Hashable, Comparable {
        package var appkey: String
        package var keyId: String
        package var operation: String
        /// Days since 1970-01-01 (UTC).
        package var day: Int

        package init(appkey: String, keyId: String, operation: String, day: Int) {
            (self.appkey, self.keyId, self.operation, self.day) = (appkey, keyId, operation, day)
        }

        /// The UTC day of a time, in days since 1970.
        package static func day(of time: Date) -> Int {
            Int((time.timeIntervalSince1970 / 86_400).rounded(.down))
        }

        package static func < (lhs: DailyActivity, rhs: DailyActivity) -> Bool {
            (lhs.appkey, lhs.keyId, lhs.operation, lhs.day) < (rhs.appkey, rhs.keyId, rhs.operation, rhs.day)
        }
    }

    /// One key's successes: in all, and per operation and UTC day. Kept together so that a success line hashes its
    /// key once.
    struct KeyUse: Sendable {
        struct DayOperation: Sendable, Hashable {
            var operation: String
            var day: Int
        }

        var total = 0
        var daily: [DayOperation: Int] = [:]

        mutating func add(_ day: DayOperation?) {
            total += 1
            if let day { daily[day, default: 0] += 1 }
        }

        mutating func merge(_ other: KeyUse) {
            total += other.total
            daily.merge(other.daily, uniquingKeysWith: +)
        }
    }

    package private(set) var groups: [Fingerprint: Group] = [:]
    private var uses: [KeyActivity: KeyUse] = [:]
    /// Successful requests per key.
    package var successes: [KeyActivity: Int] { uses.compactMapValues { $0.total > 0 ? $0.total : nil } }
    /// Successful requests per key, operation and UTC day.
    package var dailySuccesses: [DailyActivity: Int] {
        var daily: [DailyActivity: Int] = [:]
        for (key, use) in uses {
            for (day, count) in use.daily {
                daily[DailyActivity(appkey: key.appkey, keyId: key.keyId, operation: day.operation, day: day.day)] =
                    count
            }
        }
        return daily
    }
    package private(set) var successCount = 0
    package private(set) var failureCount = 0
    /// Failures per minute (minutes since 1970) and result code: the timeline reports chart.
    package private(set) var failuresPerMinute: [Int: [Int: Int]] = [:]

    package init() {}

    package mutating func add(_ finding: Finding) {
        failureCount += 1
        let fingerprint = finding.sharedFingerprint ?? finding.fingerprint
        let time = finding.request.record.time
        // The group is changed where it is kept, not copied out and back: its lists would be copied each time.
        groups[fingerprint, default: Group(fingerprint: fingerprint, firstSeen: time, lastSeen: time)].add(finding)
        let minute = Int((time.timeIntervalSince1970 / 60).rounded(.down))
        failuresPerMinute[minute, default: [:]][finding.request.record.response.resultCode, default: 0] += 1
    }
}

extension Triage.Group {
    /// Counts `finding` in the group, changing the group in place.
    mutating func add(_ finding: Finding) {
        let time = finding.request.record.time
        count += 1
        firstSeen = min(firstSeen, time)
        lastSeen = max(lastSeen, time)
        if examples.count < Triage.examplesPerGroup { examples.append(finding) }
        if requestIDs.count < Triage.requestIDsPerGroup { requestIDs.append(finding.request.record.requestId) }
        if let result = finding.simulation {
            if simulation == nil { simulation = Triage.SimulationTally(result) }
            simulation?.add(result)
        }
        for alternative in finding.alternatives {
            if let index = alternatives.firstIndex(where: { $0.change == alternative.change }) {
                alternatives[index].add(alternative)
            } else {
                var tally = Triage.SimulationTally(alternative)
                tally.add(alternative)
                alternatives.append(tally)
            }
        }
    }
}

extension Triage {

    /// Replays each group's last example against the state now (``Diagnoser/stateNow(of:lastSeen:)``).
    package mutating func annotateStateNow(with diagnoser: Diagnoser) {
        for (fingerprint, group) in groups {
            guard let example = group.examples.last else { continue }
            groups[fingerprint]?.now = diagnoser.stateNow(of: example.request, lastSeen: group.lastSeen)
        }
    }

    package mutating func addSuccess(_ observation: SuccessObservation) {
        successCount += 1
        guard let keyId = observation.keyId else { return }
        var day: KeyUse.DayOperation?
        if let time = observation.time, let operation = observation.operation {
            day = KeyUse.DayOperation(operation: operation, day: DailyActivity.day(of: time))
        }
        // One lookup of the key per success line.
        let key = KeyActivity(appkey: observation.appkey ?? "", keyId: keyId)
        uses[key, default: KeyUse()].add(day)
    }

    /// Adds another triage's groups and counts to this one, as if its requests had been added after this one's:
    /// the triage of a log read in parts and merged in order is the triage of the whole log.
    package mutating func merge(_ other: Triage) {
        successCount += other.successCount
        failureCount += other.failureCount
        for (key, use) in other.uses { uses[key, default: KeyUse()].merge(use) }
        for (minute, counts) in other.failuresPerMinute {
            for (code, count) in counts { failuresPerMinute[minute, default: [:]][code, default: 0] += count }
        }
        for (fingerprint, theirs) in other.groups {
            guard var mine = groups[fingerprint] else {
                groups[fingerprint] = theirs
                continue
            }
            mine.count += theirs.count
            mine.firstSeen = min(mine.firstSeen, theirs.firstSeen)
            mine.lastSeen = max(mine.lastSeen, theirs.lastSeen)
            mine.examples = Array((mine.examples + theirs.examples).prefix(Self.examplesPerGroup))
            mine.requestIDs = Array((mine.requestIDs + theirs.requestIDs).prefix(Self.requestIDsPerGroup))
            if let simulation = theirs.simulation {
                if mine.simulation == nil {
                    mine.simulation = simulation
                } else {
                    mine.simulation?.merge(simulation)
                }
            }
            for alternative in theirs.alternatives {
                if let index = mine.alternatives.firstIndex(where: { $0.change == alternative.change }) {
                    mine.alternatives[index].merge(alternative)
                } else {
                    mine.alternatives.append(alternative)
                }
            }
            groups[fingerprint] = mine
        }
    }

    /// Groups by impact: most findings first, then the earliest.
    package var ranked: [Group] {
        groups.values.sorted {
            ($1.count, $0.firstSeen, $0.fingerprint) < ($0.count, $1.firstSeen, $1.fingerprint)
        }
    }
}

extension Triage {
    /// A triage as a mergeable analysis wrote it.
    init(
        restoring groups: [Group], successes: [KeyActivity: Int], dailySuccesses: [DailyActivity: Int],
        successCount: Int, failureCount: Int, failuresPerMinute: [Int: [Int: Int]]
    ) {
        self.init()
        self.groups = Dictionary(groups.map { ($0.fingerprint, $0) }, uniquingKeysWith: { first, _ in first })
        for (key, count) in successes { uses[key, default: KeyUse()].total += count }
        for (activity, count) in dailySuccesses {
            let key = KeyActivity(appkey: activity.appkey, keyId: activity.keyId)
            uses[key, default: KeyUse()].daily[
                KeyUse.DayOperation(operation: activity.operation, day: activity.day), default: 0] += count
        }
        self.successCount = successCount
        self.failureCount = failureCount
        self.failuresPerMinute = failuresPerMinute
    }
}
