import Foundation
import SKMPrimitives

/// What the HTML templates (`Resources/*.mustache`) show, built from the report model.
///
/// Every string here is final text: numbers grouped, times formatted, and untrusted text (anything from a capture)
/// passed through ``shown(_:)``, which makes control characters and invisible formatting visible. The template engine
/// HTML-escapes every value it inserts. Optional parts are arrays of zero or one element: a template looks a name up
/// the chain of enclosing objects when the nearest lacks it, so a missing value must still be present, as empty.
struct HTMLReportPage {
    let policy: String
    let generator: String
    let title: String
    let style: String
    let script: String
    let facts: String
    let footer: String
    let numbers: [Number]
    let noFailures: Bool
    let headline: [Headline]
    let inputNotes: [String]
    let filters: [String]
    let failed: Bool
    let timeline: [TimelineChart]
    let groupChart: [GroupChart]
    let groups: [Group]
    let moreGroups: [String]
    let keys: [Keys]
    let inputs: [Input]
    let problems: [Problem]
    let stateSource: String
    let stateLocation: [String]
    let events: String
    let digest: String
    /// On the triage page: the bar with the filters and downloads (zero or one).
    var triage: [TriageBar] = []

    struct Number {
        let value: String
        let label: String
        let bad: Bool
    }

    struct Headline {
        let share: Int
        let count: String
        let error: String
        let title: String
        let onlyExplanation: [String]
        let causes: [Cause]
    }

    struct Cause {
        let count: String
        let error: String
        let title: String
        let ruleId: String
        let checkId: String
        let reach: String
        let fixText: String
        let detailsId: [String]
    }

    struct TimelineChart {
        let bucket: String
        let maximum: Int
        let bars: [Bar]
        let start: String
        let end: String
        let legend: [Legend]
    }

    struct Bar {
        let x: String
        let y: String
        let width: String
        let height: String
        let color: String
        let label: String
    }

    struct Legend {
        let color: String
        let label: String
    }

    struct GroupChart {
        let height: Int
        let rows: [Row]
    }

    struct Row {
        let groupId: String
        let textY: String
        let barY: String
        let width: String
        let countX: String
        let short: String
        let label: String
        let color: String
        let count: String
    }

    struct Group {
        let id: String
        let rank: Int
        let count: String
        let error: String
        let code: [Int]
        let verdict: String
        let causeWords: String
        let keyId: [String]
        let appkey: [String]
        let client: String
        let firstSeen: String
        let lastSeen: String
        let rule: [Rule]
        let explanation: [String]
        let hints: [Hint]
        let note: [String]
        let settle: Bool
        let missing: [Missing]
        let now: [String]
        let dayBefore: [String]
        let fix: [String]
        let simulation: [Simulation]
        let fixAlone: [String]
        let alternatives: [Simulation]
        let event: [Event]
        let guide: [String]
        let examples: [Example]
        let requestIds: [RequestIds]
    }

    struct Rule {
        let id: String
        let check: [String]
    }

    struct Hint {
        let explanation: String
        let fix: [String]
        let title: String
        let evidence: [Evidence]
    }

    struct Evidence {
        let first: Bool
        let expression: String
        let value: String
    }

    struct Missing {
        let first: Bool
        let fact: String
        let settle: String
    }

    struct Simulation {
        let change: String
        let summary: String
        let segments: [Segment]
    }

    struct Segment {
        let x: String
        let width: String
        let color: String
        let label: String
    }

    struct Event {
        let time: String
        let summary: String
    }

    struct Example {
        let first: Bool
        let anchor: String
        let requestId: String
        let time: String
        let method: String
        let path: String
        let operation: [String]
        let client: String
        let location: String
        let note: [String]
        let simulation: [String]
        let table: Bool
        let checks: [Check]
        let predicted: [String]
        let settle: Bool
        let missing: [Missing]
        let escalation: [Escalation]
    }

    struct Check {
        let id: String
        let title: String
        let status: String
        let shownStatus: String
        let evidence: [Evidence]
        let missing: [Missing]
        let failure: [String]
    }

    struct Escalation {
        let lines: [Line]
    }

    struct Line {
        let first: Bool
        let text: String
    }

    struct RequestIds {
        let shown: String
        let count: String
        let ids: [String]
    }

    struct Keys {
        let rows: [KeyRow]
    }

    struct KeyRow {
        let keyId: String
        let appkey: String
        let failures: String
        let successes: String
    }

    struct Input {
        let path: String
        let format: String
        let items: String
        let problems: String
    }

    struct Problem {
        let first: Bool
        let last: Bool
        let location: String
        let message: String
    }
}

/// Untrusted text made visible: control characters, bidirectional overrides and invisible formatting become codes,
/// and a value longer than a report shows is cut with a count of the rest.
func shown(_ text: String) -> String { TerminalText.shown(text) }

func shown(_ text: String?) -> [String] { text.map { [shown($0)] } ?? [] }
