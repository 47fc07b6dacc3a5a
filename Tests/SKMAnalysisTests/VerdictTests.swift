import Foundation
import SKMAnalysis
import SKMCore
import SKMReport
import SKMRules
import SKMTestSupport
import Testing

/// What rendered text must never show: the marks a template hole leaves when it has nothing to show.
enum HoleScan {
    static let marks = [
        "{{", "}}", "unknown (", "error: ", "1970-01-01", "''", "\"\"", "()", "( )", " .", " ,", " ;", "  ", "(none)",
    ]

    /// The marks found in `text`, each with the text around it.
    static func defects(_ text: String?) -> [String] {
        guard let text else { return [] }
        return marks.compactMap { mark in
            guard let range = text.range(of: mark) else { return nil }
            let start = text.index(range.lowerBound, offsetBy: -30, limitedBy: text.startIndex) ?? text.startIndex
            let end = text.index(range.upperBound, offsetBy: 30, limitedBy: text.endIndex) ?? text.endIndex
            return "'\(mark)' in …\(text[start..<end])…"
        }
    }

    /// Every sentence a report says about its findings.
    static func prose(_ report: IncidentReport) -> [String] {
        var texts: [String] = []
        for group in report.groups {
            texts += [group.explanation, group.fix, group.note, group.checkTitle].compactMap { $0 }
            texts += group.hints.flatMap { [$0.explanation, $0.fix].compactMap { $0 } }
            texts += ([group.simulation] + group.alternatives).compactMap { $0?.summary }
            for finding in group.examples {
                texts += [finding.cause, finding.explanation, finding.fix, finding.note, finding.simulation]
                    .compactMap { $0 }
            }
        }
        return texts
    }
}

@Suite struct VerdictTests {
    /// No report of any fixture shows a hole that failed to render: an explanation needs every fact it names.
    @Test(arguments: FixtureExpectation.all)
    func noReportShowsAnEmptyOrUnknownHole(_ expected: FixtureExpectation) throws {
        let report = try Fixtures.report(
            expected.scenario, input: expected.input, clientIP: expected.clientIP, clientCert: expected.clientCert)
        for text in HoleScan.prose(report) {
            #expect(HoleScan.defects(text) == [], "\(text)")
        }
    }

    /// A state read through the API never confirms a cause the database would not, and never says mismatch: what
    /// it cannot show is unknown. Every scenario's failures are analysed with the database's state and with the
    /// state fetched through the API by each of its appkeys.
    @Test(arguments: IncidentScenario.all)
    func anAPIStateNeverConfirmsWhatTheDatabaseWouldNot(_ scenario: IncidentScenario) async throws {
        var seed: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in scenario.name.utf8 { seed = (seed ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        let workshop = try await Workshop(seed: seed)
        try await scenario.run(workshop)
        workshop.stateThroughAPI = nil
        let database = try await workshop.snapshot(scenario.name)
        let exported = Diagnoser(rules: Fixtures.rules, facts: FactBuilder(timeline: StateTimeline(database)))
        var compared = 0
        for appkey in try await workshop.engine.storage.appkeys() {
            let access = try await workshop.engine.createUserAccessKey(appkey: appkey.id, actor: "cli:support")
            workshop.stateThroughAPI = (appkey.id, access)
            let fetched = try await workshop.snapshot(scenario.name)
            let throughAPI = Diagnoser(rules: Fixtures.rules, facts: FactBuilder(timeline: StateTimeline(fetched)))
            for (index, record) in workshop.recorder.records.enumerated()
            where !record.response.isSuccessful {
                let captured = CapturedRequest(record: record, location: SourceLocation(file: "log", number: index + 1))
                let fromAPI = throughAPI.diagnose(captured)
                let fromDatabase = exported.diagnose(captured)
                compared += 1
                #expect(fromAPI.verdict != .mismatch, "\(record.requestId): \(fromAPI.note ?? "")")
                if fromAPI.verdict == .confirmed {
                    #expect(fromDatabase.verdict == .confirmed, "\(record.requestId)")
                    #expect(fromAPI.cause?.check.id == fromDatabase.cause?.check.id, "\(record.requestId)")
                    #expect(fromAPI.rule?.id == fromDatabase.rule?.id)
                }
                if fromAPI.verdict == .unexplained { #expect(!fromAPI.missing.isEmpty || fromAPI.note != nil) }
            }
            workshop.stateThroughAPI = nil
        }
        #expect(compared > 0)
    }

    /// A request that ran while the state changed may have been decided on either state: never confirmed, and the
    /// note says which change and what the arrival's state would mean. One that ended before the change is.
    @Test func aChangeWhileTheRequestRanLeavesTheCauseOpen() async throws {
        let workshop = try await Workshop(seed: 7)
        try await IncidentScenario.keyScheduledForDeletion.run(workshop)
        let snapshot = try await workshop.snapshot("race")
        let diagnoser = Diagnoser(rules: Fixtures.rules, facts: FactBuilder(timeline: StateTimeline(snapshot)))
        let records = workshop.recorder.records
        let lastFailure = try #require(records.lastIndex { !$0.response.isSuccessful })
        let cancelledAt = try #require(snapshot.events.last { $0.action == .keyCancelDeletion }?.time)
        var record = records[lastFailure]
        record.time = cancelledAt.addingTimeInterval(-1)
        record.durationMs = 5
        let before = diagnoser.diagnose(
            CapturedRequest(record: record, location: SourceLocation(file: "log", number: 1)))
        #expect(before.verdict == .confirmed, "\(before.note ?? "")")
        record.time = cancelledAt.addingTimeInterval(-0.002)
        let during = diagnoser.diagnose(
            CapturedRequest(record: record, location: SourceLocation(file: "log", number: 1)))
        #expect(during.verdict == .unexplained)
        #expect(during.cause == nil)
        #expect(during.note?.contains("The state changed while the request ran") == true, "\(during.note ?? "")")
        #expect(during.note?.contains(String(before.cause?.check.failure.dropFirst().prefix(15) ?? "?")) == true)
    }

    /// An address the key manager could not have read is not evidence: a log whose client.ip is not an IPv4 address
    /// (a space, brackets, leading zeros, IPv6) never confirms "the address is not registered".
    @Test(arguments: ["10.70.5.10 ", "[10.70.5.10]", "010.70.5.10", "10.70.5.10/8", "2001:db8::1", "10.70.5.10\u{0}"])
    func anAddressTheServerCouldNotHaveReadIsNotEvidence(_ written: String) async throws {
        let workshop = try await Workshop(seed: 21)
        try await IncidentScenario.clientBehindNAT.run(workshop)
        let snapshot = try await workshop.snapshot("address")
        let diagnoser = Diagnoser(rules: Fixtures.rules, facts: FactBuilder(timeline: StateTimeline(snapshot)))
        let failed = try #require(workshop.recorder.records.first { !$0.response.isSuccessful })
        let honest = diagnoser.diagnose(
            CapturedRequest(record: failed, location: SourceLocation(file: "log", number: 1)))
        #expect(honest.verdict == .confirmed, "\(honest.note ?? "")")
        var record = failed
        record.client.ip = written
        record.client.peer = written
        let finding = diagnoser.diagnose(
            CapturedRequest(record: record, location: SourceLocation(file: "log", number: 1)))
        #expect(finding.verdict != .confirmed, "\(written.debugDescription): \(finding.cause?.check.id ?? "-")")
    }

    /// The state-from-the-api incident's unexplained groups name what would settle them.
    @Test func unexplainedFindingsNameWhatWouldSettleThem() throws {
        let report = try Fixtures.report(.stateFromTheAPI, input: "requests.jsonl")
        let unexplained = report.groups.filter { $0.verdict == .unexplained }
        #expect(unexplained.count == 4)
        for group in unexplained {
            #expect(!group.missing.isEmpty, "\(group.note ?? "")")
            #expect(group.missing.allSatisfy { $0.settle.contains("skm snapshot export") })
            #expect(group.explanation == nil && group.fix == nil, "no cause's words for an undecided cause")
        }
        #expect(
            Set(unexplained.flatMap { $0.missing.map(\.fact) }) == ["key.exists", "store.ipv4s", "accessKey.exists"])
    }
}
