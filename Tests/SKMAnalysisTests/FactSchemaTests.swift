import Foundation
import SKMAnalysis
import SKMCore
import SKMPrimitives
import SKMRules
import SKMTestSupport
import SKMWire
import Testing

/// The fact schema and the code that builds facts cannot drift apart: a name the builder writes that the schema
/// lacks, or a declared field the builder never writes, fails here.
@Suite struct FactSchemaTests {
    /// Requests that give a value to what the shipped incidents leave out: an entry pending deletion after its last
    /// use, a Date header, a requested key version, management calls naming an entry and a User Access Key, a
    /// password with a control character, a CSV registration, a secret in the id header, and a request the HTTP
    /// parser refused.
    static func rarities() async throws -> (StateSnapshot, [RequestRecord]) {
        let workshop = try await Workshop(seed: 5)
        let (appkey, access) = try await workshop.appkey("coverage")
        let store = try await workshop.store(appkey, "s", ip4: true)
        try await workshop.allow(appkey, store, .ipv4, "10.1.0.0/24")
        try await workshop.allow(appkey, store, .ipv4, "10.2.0.0/24")
        let key = try await workshop.key(appkey, store, .symmetric, "k")
        let client = ClientIdentity.at("10.2.0.5")
        await workshop.encrypt(appkey, key.id, "x", from: client)
        _ = try await workshop.engine.flushUsage()
        workshop.wait(60)
        _ = try await workshop.engine.scheduleAuthDeletion(
            appkey: appkey, store: .id(store.id), kind: .ipv4, value: "10.2.0.0/24", actor: "cli:ops")
        await workshop.encrypt(appkey, key.id, "x", from: client)
        let json = [("Content-Type", "application/json")]
        let uak = [
            ("X-TC-AUTHENTICATION-ID", access.accessKey.id), ("X-TC-AUTHENTICATION-SECRET", access.secret),
        ]
        await workshop.send(
            HTTPCall(
                "PUT", Workshop.path(appkey, "auths/ipv4s/delete"), headers: uak + json,
                body: HTTPCall.json([("keyStoreName", "s"), ("value", "10.1.0.0/24")])), from: client)
        await workshop.send(
            HTTPCall("PUT", Workshop.path(appkey, "user-access-keys/NOSUCHKEY0000000000A/revoke"), headers: uak),
            from: client)
        await workshop.send(
            HTTPCall(
                "GET", Workshop.path(appkey, "symmetric-keys/\(key.id)/symmetric-key"), query: ["keyVersion": "3"],
                headers: [("Date", Timestamp.httpDate(workshop.clock.now))]), from: client)
        await workshop.send(
            HTTPCall(
                "POST", Workshop.path(appkey, "auths/certificates"), headers: uak + json,
                body: HTTPCall.json([
                    ("keyStoreName", "s"), ("name", "c"), ("password", "a\u{1}b"), ("lifeTime", 30),
                ])), from: client)
        await workshop.send(
            HTTPCall(
                "POST", Workshop.path(appkey, "auths/import"), headers: uak + json,
                body: HTTPCall.json([("keyStoreName", "s"), ("csv", "value\r\n10.3.0.0/24\r\n10.3.0.1/24\r\n")])),
            from: client)
        await workshop.send(
            HTTPCall(
                "GET", Workshop.path(appkey, "keystores"),
                headers: [("X-TC-AUTHENTICATION-ID", access.secret), ("X-TC-AUTHENTICATION-SECRET", "x")]),
            from: client)
        var records = workshop.recorder.records
        // What the server writes for a request its HTTP parser refused.
        var refused = try #require(records.last)
        refused.httpProblem = "malformed-http"
        records.append(refused)
        return (try await workshop.snapshot("coverage"), records)
    }

    /// Which fields of which object types hold a value somewhere in `value`.
    static func collect(_ value: Value, into written: inout [String: Set<String>]) {
        switch value {
        case .object(let object):
            for (index, field) in object.type.fields.enumerated() {
                guard let inner = object.fields[index] else { continue }
                if case .unknown = inner {} else { written[object.type.name, default: []].insert(field.name) }
                collect(inner, into: &written)
            }
        case .list(let items):
            for item in items { collect(item, into: &written) }
        case .map(let map):
            for entry in map.entries { collect(entry.value, into: &written) }
        default:
            break
        }
    }

    @Test func theBuilderWritesExactlyTheDeclaredFields() async throws {
        var corpora: [(name: String, snapshot: StateSnapshot, records: [RequestRecord])] = []
        for scenario in IncidentScenario.all {
            let workshop = try await Workshop(seed: 11)
            try await scenario.run(workshop)
            corpora.append((scenario.name, try await workshop.snapshot(scenario.name), workshop.recorder.records))
        }
        let (snapshot, records) = try await Self.rarities()
        corpora.append(("rarities", snapshot, records))
        var written: [String: Set<String>] = [:]
        for corpus in corpora {
            let builder = FactBuilder(timeline: StateTimeline(corpus.snapshot))
            for (index, record) in corpus.records.enumerated() {
                let captured = CapturedRequest(
                    record: record, location: SourceLocation(file: corpus.name, number: index + 1))
                let facts = builder.facts(for: captured)
                for value in facts.values + Array(facts.named.values) { Self.collect(value, into: &written) }
            }
        }
        #expect(UndeclaredFields.noted.isEmpty, "the builder writes fields the schema lacks: \(UndeclaredFields.noted)")
        for (name, type) in SKMFacts.schema.objects.sorted(by: { $0.key < $1.key }) {
            let never = type.fields.map(\.name).filter { !(written[name]?.contains($0) ?? false) }
            #expect(never.isEmpty, "\(name) declares \(never) but no shipped incident's facts give them a value")
        }
    }
}
