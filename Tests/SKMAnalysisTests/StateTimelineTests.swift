import Foundation
import SKMAnalysis
import SKMCore
import SKMReport
import SKMTestSupport
import Testing

@Suite struct StateTimelineTests {
    /// An appkey's key stores at a time are kept between requests; the kept answer is the one a fresh timeline gives,
    /// in any order of times, whether the appkey's events are in time order or (a clock that went back) not.
    @Test(arguments: [false, true]) func keptKeyStoresAreTheStateAtEachTime(clockWentBack: Bool) throws {
        var snapshot = try StateSnapshot.decode(
            Data(contentsOf: packageRoot.appendingPathComponent("Fixtures/mixed-traffic/state.json")))
        var other = try #require(snapshot.keyStores.first)
        other.id = 99
        other.name = "other"
        snapshot.keyStores.append(other)
        let stores = [snapshot.keyStores[0].id, other.id]
        let base = try #require(snapshot.events.map(\.time).max())
        // Two stores' changes, interleaved; with the clock going back, their times are out of sequence order.
        let offsets: [Double] = clockWentBack ? [10, 40, 20, 30, 60, 50, 15, 70] : [10, 15, 20, 30, 40, 50, 60, 70]
        var descriptions = ["", ""]
        for (index, offset) in offsets.enumerated() {
            let which = index % 2
            let next = "change \(index)"
            snapshot.events.append(
                AuditEvent(
                    sequence: (snapshot.events.map(\.sequence).max() ?? 0) + 1, time: base.addingTimeInterval(offset),
                    actor: "cli:test", action: .keyStoreUpdate, appkey: other.appkey, targetKind: .keyStore,
                    targetId: String(stores[which]), keyStoreId: stores[which],
                    changes: [.init(.description, before: descriptions[which], after: next)]))
            descriptions[which] = next
        }
        snapshot.keyStores[0].description = descriptions[0]
        snapshot.keyStores[snapshot.keyStores.count - 1].description = descriptions[1]
        let kept = StateTimeline(snapshot)
        var seed: UInt64 = 20_261_130
        for _ in 0..<200 {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let time = base.addingTimeInterval(Double(seed >> 33 % 80) + 0.5)
            let fresh = StateTimeline(snapshot).stores(ofAppkey: other.appkey, at: time).map(\.description)
            #expect(kept.stores(ofAppkey: other.appkey, at: time).map(\.description) == fresh, "at \(time)")
        }
    }

    @Test func entitiesAreRewoundToEachMoment() async throws {
        let workshop = try await Workshop(seed: 3)
        let (appkey, _) = try await workshop.appkey("timeline")
        let store = try await workshop.store(appkey, "s", ip4: true)
        try await workshop.allow(appkey, store, .ipv4, "10.0.0.0/8")
        let key = try await workshop.key(appkey, store, .symmetric, "k")
        let created = workshop.clock.now
        workshop.wait(3600)
        _ = try await workshop.engine.rotateKey(appkey: appkey, keyId: key.id, actor: "cli:a")
        let rotated = workshop.clock.now
        workshop.wait(3600)
        _ = try await workshop.engine.scheduleKeyDeletion(appkey: appkey, keyId: key.id, actor: "cli:b")
        let scheduled = workshop.clock.now
        workshop.wait(3600)
        _ = try await workshop.engine.cancelKeyDeletion(appkey: appkey, keyId: key.id, actor: "cli:c")
        _ = try await workshop.engine.scheduleVersionDeletion(appkey: appkey, keyId: key.id, version: 0, actor: "cli:d")
        workshop.wait(8 * day)
        _ = await workshop.engine.runDueWork()
        _ = try await workshop.engine.scheduleAuthDeletion(
            appkey: appkey, store: .id(store.id), kind: .ipv4, value: "10.0.0.0/8", actor: "cli:e")
        _ = try await workshop.engine.updateKeyStore(
            appkey: appkey, store: .id(store.id),
            settings: KeyStoreSettings(name: "renamed", ip4AuthUse: true, macAuthUse: true, certificateAuthUse: false),
            actor: "cli:f")
        let end = workshop.clock.now
        let timeline = StateTimeline(try await workshop.snapshot("timeline"))

        // A request stamped with the moment of a change found the state before it.
        #expect(timeline.key(key.id, at: created) == nil)
        #expect(timeline.key(key.id, at: created + 1)?.entity.latestVersion == 0)
        #expect(timeline.key(key.id, at: rotated)?.entity.latestVersion == 0)
        #expect(timeline.key(key.id, at: rotated + 1)?.entity.latestVersion == 1)
        #expect(timeline.key(key.id, at: scheduled)?.entity.status == .active)
        let pending = try #require(timeline.key(key.id, at: scheduled + 1))
        #expect(pending.entity.status == .pendingDeletion)
        #expect(pending.statusEvent?.actor == "cli:b")
        #expect(pending.entity.deletionAt != nil)
        let back = try #require(timeline.key(key.id, at: end + 1))
        #expect(back.entity.status == .active)
        #expect(back.entity.deletionAt == nil)
        #expect(back.statusEvent?.action == .keyCancelDeletion)

        let versionsBefore = timeline.versions(ofKey: key.id, at: rotated + 1)
        #expect(versionsBefore.map(\.entity.status) == [.inService, .inService])
        let versionsAfter = timeline.versions(ofKey: key.id, at: end + 1)
        #expect(versionsAfter.first?.entity.status == .deleted)
        #expect(versionsAfter.first?.statusEvent?.actor == "system:purge")

        #expect(timeline.entries(ofStore: store.id, at: scheduled).first?.entity.status == .inService)
        #expect(timeline.entries(ofStore: store.id, at: end + 1).first?.entity.status == .pendingDeletion)
        #expect(timeline.store(store.id, at: scheduled)?.entity.name == "s")
        #expect(timeline.store(store.id, at: scheduled)?.entity.macAuthUse == false)
        #expect(timeline.store(store.id, at: end + 1)?.entity.name == "renamed")
        #expect(timeline.store(store.id, at: end + 1)?.entity.macAuthUse == true)
        #expect(timeline.events(ofAppkey: appkey, upTo: scheduled + 1, limit: 2).last?.action == .keyScheduleDeletion)
    }
}

@Suite struct RedactionTests {
    @Test func credentialsAreMaskedEverywhereUnlessAsked() throws {
        let path = Fixtures.folder(.wrongAppkeyAfterDeploy).appendingPathComponent("requests.jsonl").path
        let snapshot = try Fixtures.snapshot(.wrongAppkeyAfterDeploy)
        let result = try Fixtures.analyze(.wrongAppkeyAfterDeploy, path: path)
        let appkey = try #require(snapshot.appkeys.first?.id)
        let accessKey = try #require(snapshot.userAccessKeys.first?.id)
        for redact in [true, false] {
            let report = IncidentReport(
                analysis: result, rules: Fixtures.rules, snapshot: snapshot,
                options: .init(toolVersion: "test", generatedAt: Date(), redact: redact))
            let json = String(decoding: JSONReportRenderer().render(report), as: UTF8.self)
            let text = TextReportRenderer(detailed: 10).render(report)
            for output in [json, text] {
                #expect(output.contains(appkey) == !redact)
                #expect(output.contains("St4gingBiLLing01") == !redact)
                #expect(!output.contains(accessKey) || !redact)
            }
            #expect(json.contains(Redactor.mask(appkey)) == redact)
        }
    }
}

@Suite struct APISnapshotTests {
    /// A snapshot read through the API has no versions: the analyser says what it lacks instead of guessing.
    @Test func versionsAreUnknownWhenTheStateCameFromTheAPI() throws {
        var snapshot = try Fixtures.snapshot(.rotationThenVersionDeleted)
        snapshot.source = .init(kind: "api", location: "https://skm.example")
        snapshot.keyVersions = []
        snapshot.events = []
        var result = AnalysisResult()
        let path = Fixtures.folder(.rotationThenVersionDeleted).appendingPathComponent("requests.jsonl").path
        try Analyzer(rules: Fixtures.rules, snapshot: snapshot).analyze(path, into: &result)
        let group = try #require(result.triage.ranked.first)
        #expect(group.verdict == .unexplained)
        let finding = try #require(group.examples.first)
        #expect(finding.missing.map(\.path) == ["version"])
        #expect(finding.missing.first?.settle.contains("skm snapshot export") == true)
    }
}
