import Foundation
import SKMAnalysis
import SKMCore
import SKMTestSupport
import SKMWire
import Testing

/// A simulated fix is a promise about the engine: making the change and sending the same request again must give
/// what the simulation said. Each case sends failing requests, diagnoses them, then makes the change in the engine
/// and sends the request again.
@Suite struct SimulationTests {
    /// An installation, the failing requests sent into it, and what the analyser made of them.
    final class Bench: @unchecked Sendable {
        let workshop: Workshop
        let appkey: String
        var sent: [(call: HTTPCall, client: ClientIdentity, record: RequestRecord)] = []

        init() async throws {
            workshop = try await Workshop(seed: 41)
            appkey = try await workshop.appkey("simulated").appkey
        }

        func send(_ call: HTTPCall, from client: ClientIdentity) async -> RequestRecord {
            let record = await workshop.send(call, from: client).record
            sent.append((call, client, record))
            return record
        }

        func encrypt(_ key: ManagedKey, from client: ClientIdentity, appkey: String? = nil) async -> RequestRecord {
            await send(
                HTTPCall(
                    "POST", Workshop.path(appkey ?? self.appkey, "symmetric-keys/\(key.id)/encrypt"),
                    headers: workshop.headers(client), body: HTTPCall.json([("plaintext", "x")])), from: client)
        }

        func diagnose(_ record: RequestRecord) async throws -> Finding {
            let snapshot = try await workshop.snapshot("simulation")
            return Diagnoser(rules: Fixtures.rules, facts: FactBuilder(timeline: StateTimeline(snapshot))).diagnose(
                CapturedRequest(record: record, location: SourceLocation(file: "bench", number: 1)))
        }

        /// Makes `change` in the engine.
        func make(_ change: StateChange) async throws {
            let engine = workshop.engine
            switch change {
            case .registerAddress(let store, let value):
                _ = try await engine.addAuthEntry(
                    appkey: appkey, store: .id(store), kind: .ipv4, value: value, actor: "t")
            case .registerMAC(let store, let value):
                _ = try await engine.addAuthEntry(
                    appkey: appkey, store: .id(store), kind: .mac, value: value, actor: "t")
            case .cancelEntryDeletion(let id):
                let entry = try #require(try await engine.storage.authEntry(id: id))
                _ = try await engine.cancelAuthDeletion(
                    appkey: appkey, store: .id(entry.keyStoreId), kind: entry.kind, value: entry.value, actor: "t")
            case .cancelKeyDeletion(let key):
                _ = try await engine.cancelKeyDeletion(appkey: appkey, keyId: key, actor: "t")
            case .cancelVersionDeletion(let key, let version):
                _ = try await engine.cancelVersionDeletion(appkey: appkey, keyId: key, version: version, actor: "t")
            case .registerCertificate, .useAppkey, .useKeyVersion:
                break
            }
        }

        /// The request of `record` sent again, with the change to the request a simulation made, if it made one.
        func resend(_ record: RequestRecord, _ change: StateChange) async throws -> RequestRecord {
            let original = try #require(sent.first { $0.record.requestId == record.requestId })
            var call = original.call
            switch change {
            case .useAppkey(let appkey):
                call.path = call.path.replacingOccurrences(of: record.appkey ?? "", with: appkey)
            case .useKeyVersion(let version): call.query["keyVersion"] = String(version)
            default: break
            }
            return await workshop.send(call, from: original.client).record
        }

        /// Diagnoses `record`, makes each simulated change in turn in the engine, sends the request again, and
        /// checks that the answer is the one simulated.
        func verify(_ record: RequestRecord, expecting: [Simulation.Result]) async throws {
            let finding = try await diagnose(record)
            let simulations = ([finding.simulation].compactMap { $0 } + finding.alternatives)
            #expect(simulations.map(\.result) == expecting, "\(simulations.map(\.description))")
            for simulation in simulations.prefix(1) {
                try await make(simulation.change)
                let again = try await resend(record, simulation.change)
                switch simulation.result {
                case .passes: #expect(again.response.isSuccessful, "\(simulation.description): \(again.response)")
                case .fails(let error, _): #expect(again.response.resultCode == error.resultCode)
                case .undecided: Issue.record("an undecided simulation on facts that are all known")
                }
            }
        }
    }

    @Test func registeringTheAddressInAndModeLeavesTheMACFailing() async throws {
        let bench = try await Bench()
        let store = try await bench.workshop.store(bench.appkey, "and", ip4: true, mac: true, mode: .and)
        try await bench.workshop.allow(bench.appkey, store, .ipv4, "10.1.0.0/24")
        try await bench.workshop.allow(bench.appkey, store, .mac, "02:00:00:00:00:01")
        let key = try await bench.workshop.key(bench.appkey, store, .symmetric, "k")
        let record = await bench.encrypt(key, from: .at("10.2.0.5", mac: "02:00:00:00:00:09"))
        #expect(record.response.resultCode == APIError.ipv4AuthFailure.resultCode)
        try await bench.verify(
            record, expecting: [.fails(.macAuthFailure, check: "The MAC address is not registered in the key store")])
    }

    @Test func inORModeEitherRegistrationSuffices() async throws {
        let bench = try await Bench()
        var records: [RequestRecord] = []
        for name in ["by-address", "by-mac"] {
            let store = try await bench.workshop.store(bench.appkey, name, ip4: true, mac: true, mode: .or)
            try await bench.workshop.allow(bench.appkey, store, .ipv4, "10.1.0.0/24")
            try await bench.workshop.allow(bench.appkey, store, .mac, "02:00:00:00:00:01")
            let key = try await bench.workshop.key(bench.appkey, store, .symmetric, name)
            records.append(await bench.encrypt(key, from: .at("10.2.0.5", mac: "02:00:00:00:00:09")))
            // The next store is made after the request ended, not while it ran.
            bench.workshop.tick()
        }
        // The first store gets the address registered (the simulation's first change).
        try await bench.verify(records[0], expecting: [.passes, .passes])
        // The second gets the MAC address: the alternative.
        let finding = try await bench.diagnose(records[1])
        let alternative = try #require(finding.alternatives.first)
        guard case .registerMAC = alternative.change else {
            Issue.record("the alternative is \(alternative.description)")
            return
        }
        try await bench.make(alternative.change)
        #expect(try await bench.resend(records[1], alternative.change).response.isSuccessful)
    }

    @Test func cancellingDeletionsLetsRequestsThrough() async throws {
        let bench = try await Bench()
        let store = try await bench.workshop.store(bench.appkey, "s", ip4: true)
        try await bench.workshop.allow(bench.appkey, store, .ipv4, "10.1.0.0/24")
        try await bench.workshop.allow(bench.appkey, store, .ipv4, "10.9.0.7")
        let key = try await bench.workshop.key(bench.appkey, store, .symmetric, "k")
        let client = ClientIdentity.at("10.1.0.5")
        let blob = try #require(await bench.workshop.encrypt(bench.appkey, key.id, "v0", from: client))
        _ = try await bench.workshop.engine.rotateKey(appkey: bench.appkey, keyId: key.id, actor: "t")
        _ = try await bench.workshop.engine.scheduleVersionDeletion(
            appkey: bench.appkey, keyId: key.id, version: 0, actor: "t")
        let version = await bench.send(
            HTTPCall(
                "POST", Workshop.path(bench.appkey, "symmetric-keys/\(key.id)/decrypt"),
                headers: bench.workshop.headers(client), body: HTTPCall.json([("ciphertext", .string(blob))])),
            from: client)
        #expect(version.response.resultCode == APIError.invalidKeyVersionStatus.resultCode)
        try await bench.verify(version, expecting: [.passes])

        _ = try await bench.workshop.engine.scheduleAuthDeletion(
            appkey: bench.appkey, store: .id(store.id), kind: .ipv4, value: "10.9.0.7", actor: "t")
        let entry = await bench.encrypt(key, from: .at("10.9.0.7"))
        #expect(entry.response.resultCode == APIError.ipv4AuthFailure.resultCode)
        try await bench.verify(entry, expecting: [.passes])

        _ = try await bench.workshop.engine.scheduleKeyDeletion(appkey: bench.appkey, keyId: key.id, actor: "t")
        let pending = await bench.encrypt(key, from: client)
        #expect(pending.response.resultCode == APIError.invalidKeyID.resultCode)
        try await bench.verify(pending, expecting: [.passes])
    }

    @Test func changesToTheRequestAreSimulatedToo() async throws {
        let bench = try await Bench()
        let store = try await bench.workshop.store(bench.appkey, "s", ip4: true)
        try await bench.workshop.allow(bench.appkey, store, .ipv4, "10.1.0.0/24")
        let key = try await bench.workshop.key(bench.appkey, store, .symmetric, "k")
        let client = ClientIdentity.at("10.1.0.5")
        let staging = await bench.encrypt(key, from: client, appkey: "St4gingAppKey001")
        #expect(staging.response.resultCode == APIError.invalidAppkey.resultCode)
        try await bench.verify(staging, expecting: [.passes])
        let version = await bench.send(
            HTTPCall(
                "GET", Workshop.path(bench.appkey, "symmetric-keys/\(key.id)/symmetric-key"),
                query: ["keyVersion": "9"],
                headers: bench.workshop.headers(client)), from: client)
        #expect(version.response.resultCode == APIError.invalidKeyVersion.resultCode)
        try await bench.verify(version, expecting: [.passes])
    }
}
