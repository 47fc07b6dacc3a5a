import Foundation
import SKMRules
import SKMWire

/// Diagnoses failed requests, each distinct situation once.
///
/// The failures of an incident share a handful of situations: the same call from the same client against the same
/// state, thousands of times. A diagnosis is a function of the request's facts, and those are a function of what
/// the request recorded and of the state at its time; the state at a time is the same between two moments at which
/// anything of the parts of the state its facts read changed (``StateTimeline/place(of:in:)``: the request's key,
/// key store, appkey and User Access Keys; the whole appkey when a rule reads its audit history). So a diagnosis
/// made on the state at a request's arrival is kept under the request as recorded (without its id, time and
/// duration) and those places, and given again to a later request with the same.
///
/// Two things are never shared. A diagnosis that read a per-request fact (the request's time or id: a certificate
/// compared with the server's clock) is the request's alone, so it is not kept. And what happened while a request
/// ran is looked at for each request (``Diagnoser/settle(_:of:)``).
///
/// Not shared between threads: one per reader. Memory is bounded: past ``capacity`` situations the kept
/// diagnoses are dropped and the next ones kept afresh (requests come in time order, so old situations rarely
/// return).
package final class SituationMemo {
    package static let capacity = 1024

    package let diagnoser: Diagnoser
    /// Whether diagnoses are shared at all, and whether each shared one is checked against one made afresh, every
    /// difference recorded in ``disagreements`` (for tests).
    package let sharing: Analyzer.Sharing
    package private(set) var disagreements: [String] = []

    /// The disagreements recorded since the last call.
    package func takeDisagreements() -> [String] {
        defer { disagreements = [] }
        return disagreements
    }
    /// Requests diagnosed from a kept diagnosis, afresh, and afresh because a rule read a per-request fact.
    package private(set) var hits = 0
    package private(set) var misses = 0
    package private(set) var perRequest = 0

    package init(_ diagnoser: Diagnoser, sharing: Analyzer.Sharing = .on) {
        self.diagnoser = diagnoser
        self.sharing = sharing
    }

    /// What a diagnosis on the state at a request's arrival depends on.
    struct Situation: Hashable {
        /// The record without what differs from request to request (its id, time and duration).
        var record: RequestRecord
        var clientAddressKnown: Bool
        var certificateKnown: Bool
        var serverTimeKnown: Bool
        var clientTimeKnown: Bool
        var clientAddressSource: String?
        var assumptions: [String]
        var contradictions: [String]
        var gaps: [CaptureGap: String]
        /// Where the request's time falls in the history of each part of the state its facts read.
        var places: [Int]

        init(_ request: CapturedRequest, places: [Int]) {
            record = request.record
            record.requestId = ""
            record.time = Date(timeIntervalSince1970: 0)
            record.durationMs = 0
            record.clientDate = record.clientDate.map { _ in Date(timeIntervalSince1970: 0) }
            clientAddressKnown = request.clientAddressKnown
            certificateKnown = request.certificateKnown
            serverTimeKnown = request.serverTimeKnown
            clientTimeKnown = request.clientTime != nil
            clientAddressSource = request.clientAddressSource
            assumptions = request.assumptions
            contradictions = request.contradictions
            gaps = request.gaps
            self.places = places
        }
    }

    /// A situation named by the shape of the log line the request was read from (``LineShapes``): requests of one
    /// shape differ only in their time, id and duration, so the shape stands for the rest of the situation.
    struct ShapeSituation: Hashable {
        var shape: Int
        var places: [Int]
    }

    /// A kept diagnosis. One that read the audit history (a fact of the whole appkey) holds only where the whole
    /// history is at the same place.
    ///
    /// A class: a kept diagnosis is looked up for every failed request, and copying it would copy its finding.
    final class Kept {
        let arrival: Diagnoser.Arrival
        let wholePlaces: [Int]?
        /// The triage group of the finding when no change raced the request.
        let fingerprint: Fingerprint

        init(arrival: Diagnoser.Arrival, wholePlaces: [Int]?, fingerprint: Fingerprint) {
            self.arrival = arrival
            self.wholePlaces = wholePlaces
            self.fingerprint = fingerprint
        }
    }

    private var kept: [Situation: Kept] = [:]
    private var keptByShape: [ShapeSituation: Kept] = [:]
    /// The parts of the state the facts of each shape's requests read (``FactBuilder/scopes(readFor:)``).
    private var scopesByShape: [Int: [StateTimeline.Scope]?] = [:]

    package func diagnose(_ request: CapturedRequest) -> Finding {
        guard sharing != .off else { return diagnoser.diagnose(request) }
        var shaped: ShapeSituation?
        let places: [Int]
        if let shape = request.shape {
            let scopes: [StateTimeline.Scope]?
            if let known = scopesByShape[shape] {
                scopes = known
            } else {
                scopes = diagnoser.facts.scopes(readFor: request)
                scopesByShape[shape] = .some(scopes)
            }
            places = self.places(request, scopes: scopes)
            let situation = ShapeSituation(shape: shape, places: places)
            if let found = keptByShape[situation], holds(found, for: request) { return hit(found, request) }
            shaped = situation
        } else {
            places = self.places(request, scopes: diagnoser.facts.scopes(readFor: request))
        }
        let situation = Situation(request, places: places)
        if let found = kept[situation], holds(found, for: request) {
            if let shaped { keptByShape[shaped] = found }
            return hit(found, request)
        }
        let reads = ReadLog()
        let arrival = diagnoser.onArrival(request, reads: reads)
        if reads.readPerRequest {
            perRequest += 1
        } else {
            misses += 1
            if kept.count >= Self.capacity {
                kept.removeAll(keepingCapacity: true)
                keptByShape.removeAll(keepingCapacity: true)
                scopesByShape.removeAll(keepingCapacity: true)
            }
            let found = Kept(
                arrival: arrival, wholePlaces: reads.readDeferred ? wholePlaces(request) : nil,
                fingerprint: arrival.finding.fingerprint)
            kept[situation] = found
            if let shaped { keptByShape[shaped] = found }
        }
        return diagnoser.settle(arrival, of: request)
    }

    private func holds(_ found: Kept, for request: CapturedRequest) -> Bool {
        found.wholePlaces.map { $0 == wholePlaces(request) } ?? true
    }

    private func hit(_ found: Kept, _ request: CapturedRequest) -> Finding {
        hits += 1
        var finding = diagnoser.settle(found.arrival, of: request)
        if finding.verdict == found.arrival.finding.verdict, finding.note == found.arrival.finding.note {
            finding.sharedFingerprint = found.fingerprint
        }
        if sharing == .verifying { verify(finding, of: request) }
        return finding
    }

    /// Where the request's time falls in the history of each of `scopes`, or of the whole appkeys when `nil`.
    private func places(_ request: CapturedRequest, scopes: [StateTimeline.Scope]?) -> [Int] {
        guard let scopes else { return wholePlaces(request) }
        var places: [Int] = []
        places.reserveCapacity(scopes.count * 2)
        for scope in scopes {
            let place = diagnoser.facts.timeline.place(of: request.record.time, in: scope)
            places.append(place.before)
            places.append(place.atOrBefore)
        }
        return places
    }

    /// Where the request's time falls in the whole history of each appkey its facts read.
    private func wholePlaces(_ request: CapturedRequest) -> [Int] {
        var places: [Int] = []
        for appkey in diagnoser.facts.appkeys(readFor: request.record) {
            let place = diagnoser.facts.timeline.place(of: request.record.time, inAppkey: appkey)
            places.append(place.before)
            places.append(place.atOrBefore)
        }
        return places
    }

    private func verify(_ shared: Finding, of request: CapturedRequest) {
        let fresh = diagnoser.diagnose(request)
        let (mine, theirs) = (Self.signature(shared), Self.signature(fresh))
        if mine != theirs {
            disagreements.append("\(request.location): shared \(mine) but afresh \(theirs)")
        }
        if let fingerprint = shared.sharedFingerprint, fingerprint != fresh.fingerprint {
            disagreements.append(
                "\(request.location): shared the triage group \(fingerprint), afresh \(fresh.fingerprint)")
        }
    }

    /// Everything a report shows of a finding.
    static func signature(_ finding: Finding) -> String {
        func evidence(_ check: CheckOutcome?) -> String {
            (check?.evidence ?? []).map { "\($0.expression)=\($0.value)" }.joined(separator: ",")
        }
        let parts: [String] = [
            "\(finding.fingerprint)", finding.missing.map { "\($0.path):\($0.settle)" }.joined(separator: ";"),
            "\(finding.event?.sequence ?? -1)", "\(finding.simulation.map { "\($0)" } ?? "-")",
            finding.alternatives.map { "\($0)" }.joined(separator: ";"),
            finding.hints.map { "\($0.hint.id):\($0.evidence.map { "\($0.expression)=\($0.value)" })" }.joined(
                separator: ";"),
            evidence(finding.cause), evidence(finding.undecided), finding.cause?.check.id ?? "-",
            finding.undecided?.check.id ?? "-",
            (finding.outcome?.checks ?? []).map { "\($0.check.id):\($0.status):\(evidence($0))" }.joined(
                separator: ";"),
            finding.prediction.failure.map { "\($0.rule.id)/\($0.check.id)" } ?? "-",
        ]
        return parts.joined(separator: " | ")
    }
}
