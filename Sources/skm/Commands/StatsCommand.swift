import ArgumentParser
import Foundation
import SKMAnalysis
import SKMCore
import SKMPrimitives

struct StatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Calls per appkey, key and day, by operation and result, from request logs or the database.",
        discussion: """
            Counted from the request log skm serve writes (every call is a line): the logs of several nodes add \
            up, and any period can be counted again from a copy of the logs. Give each node's log (plain or .gz); \
            without one, the log next to the database is read. Days are UTC.

            --stored reads instead the counts every skm serve keeps in the database (what GET …/stats answers): \
            written once a minute by each node, with no log needed; calls with a key id the server did not find \
            are counted without the key there, and requests that named no existing appkey are not counted.
            """)

    @OptionGroup var installation: InstallationOptions
    @OptionGroup var output: OutputOptions

    @Argument(help: ArgumentHelp("Request logs (default: requests.jsonl next to the database).", valueName: "log"))
    var logs: [String] = []

    @Option(help: ArgumentHelp("Only this appkey.", valueName: "appkey"))
    var appkey: String?

    @Option(help: ArgumentHelp("Only this key.", valueName: "key-id"))
    var key: String?

    @Option(help: ArgumentHelp("From this UTC day on (YYYY-MM-DD).", valueName: "day"))
    var from: String?

    @Option(help: ArgumentHelp("Up to this UTC day, included (YYYY-MM-DD).", valueName: "day"))
    var to: String?

    @Flag(help: "Read the counts the servers keep in the database, not request logs.")
    var stored = false

    func validate() throws {
        for (name, day) in [("--from", from), ("--to", to)] {
            if let day, day.utf8.count != 10 || Timestamp.parse(day + "T00:00:00Z") == nil {
                throw ValidationError("\(name) takes a day as YYYY-MM-DD, not '\(day)'")
            }
        }
    }

    func validateLogs() throws {
        if stored && !logs.isEmpty { throw ValidationError("--stored reads the database: give no log with it") }
    }

    func run() async throws {
        try validateLogs()
        if stored {
            let engine = try await installation.openEngine()
            var statistics = UsageStatistics()
            var appkeys = appkey.map { [$0] } ?? []
            if appkey == nil { appkeys = try await engine.storage.appkeys().map(\.id) }
            for id in appkeys {
                for (cell, count) in try await engine.callCounts(
                    appkey: id, from: from ?? "0000-01-01", through: to ?? "9999-12-31")
                {
                    statistics.add(cell, count: count)
                }
            }
            try show(statistics, problems: 0)
            return
        }
        let paths = logs.isEmpty ? [installation.localDirectory.appendingPathComponent("requests.jsonl").path] : logs
        var statistics = UsageStatistics()
        var problems = 0
        for path in paths {
            do {
                try RequestLogReader().read(path) { item in
                    if case .problem(let problem) = item {
                        problems += 1
                        if problems <= 20 { Terminal.note("\(problem.location): \(problem.message)") }
                        return
                    }
                    statistics.add(item)
                }
            } catch {
                throw CommandFailure.setup("\(path): \(error.reason)")
            }
        }
        if problems > 20 { Terminal.note("\(problems - 20) more lines could not be read") }
        try show(statistics, problems: problems)
    }

    func show(_ statistics: UsageStatistics, problems: Int) throws {
        let cells = statistics.cells.filter { entry in
            let cell = entry.cell
            return (appkey == nil || cell.appkey == appkey) && (key == nil || cell.keyId == key)
                && (from.map { cell.day >= $0 } ?? true) && (to.map { cell.day <= $0 } ?? true)
        }
        if output.json {
            printJSON([
                "cells": .array(
                    cells.map { entry in
                        [
                            "day": .string(entry.cell.day), "appkey": .string(entry.cell.appkey),
                            "keyId": entry.cell.keyId.map(JSONValue.string) ?? .null,
                            "operation": .string(entry.cell.operation), "result": .string(entry.cell.result),
                            "calls": .int(entry.count),
                        ] as JSONValue
                    }),
                "unreadableLines": .int(problems), "callsWithoutAppkey": .int(statistics.uncounted),
            ])
            return
        }
        var table = Table("DAY", "APPKEY", "KEY", "OPERATION", "RESULT", "CALLS")
        for entry in cells {
            table.add(
                entry.cell.day, entry.cell.appkey, entry.cell.keyId ?? "—", entry.cell.operation, entry.cell.result,
                String(entry.count))
        }
        table.print()
        let total = cells.reduce(0) { $0 + $1.count }
        let failed = cells.filter { $0.cell.result != "success" }.reduce(0) { $0 + $1.count }
        print(
            "\n\(total) calls, \(failed) failed\(statistics.uncounted == 1 ? "; 1 named no appkey and is not counted" : statistics.uncounted > 1 ? "; \(statistics.uncounted) named no appkey and are not counted" : "")."
                + (stored ? " (Each server writes its counts once a minute and when it stops.)" : "")
        )
    }
}
