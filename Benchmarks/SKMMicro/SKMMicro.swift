import Benchmark
import Foundation
import SKMAnalysis
import SKMCore
import SKMRules
import SKMWire

/// The analyser's inner loops, each on a shipped incident: reading a request-log line, building a failed request's
/// facts, and what the rules do for one failed request (replay the decision procedure, evaluate the logged error's
/// rule with evidence, render the explanation and fix). Run from the package's root with `Benchmarks/micro.sh`.
let benchmarks: @Sendable () -> Void = {
    // SKM's root: the nearest folder up from here that holds Rules/ and Fixtures/.
    var root = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
    while !FileManager.default.fileExists(atPath: root.appendingPathComponent("Rules/definitions.yaml").path),
        root.path != "/"
    {
        root = root.deletingLastPathComponent()
    }
    let incident = root.appendingPathComponent("Fixtures/mixed-traffic")
    guard let rules = try? SKMFacts.loadRules([root.appendingPathComponent("Rules")]).get(),
        let log = try? String(contentsOf: incident.appendingPathComponent("requests.jsonl"), encoding: .utf8),
        let state = try? StateSnapshot.decode(Data(contentsOf: incident.appendingPathComponent("state.json")))
    else {
        fatalError("run inside SKM's folder: Rules/ and Fixtures/mixed-traffic are read from its root")
    }
    let lines = log.split(separator: "\n").map { Array($0.utf8) }
    var failures: [CapturedRequest] = []
    for (index, line) in lines.enumerated() {
        let item = line.withUnsafeBufferPointer {
            RequestLogReader.item($0, location: SourceLocation(file: "requests.jsonl", number: index + 1))
        }
        if case .request(let captured)? = item, !captured.record.response.isSuccessful { failures.append(captured) }
    }
    let builder = FactBuilder(timeline: StateTimeline(state))
    let facts = failures.map { builder.facts(for: $0) }
    let logged = failures.map(\.record.response.resultCode)
    let configuration = Benchmark.Configuration(
        metrics: [.wallClock, .throughput], maxDuration: .seconds(3))

    Benchmark("Read a request-log line", configuration: configuration) { benchmark in
        for index in benchmark.scaledIterations {
            let line = lines[index % lines.count]
            blackHole(
                line.withUnsafeBufferPointer {
                    RequestLogReader.item($0, location: SourceLocation(file: "-", number: 1))
                })
        }
    }

    Benchmark("Build a failed request's facts", configuration: configuration) { benchmark in
        for index in benchmark.scaledIterations {
            blackHole(builder.facts(for: failures[index % failures.count]))
        }
    }

    Benchmark("Explain a failed request with the rules", configuration: configuration) { benchmark in
        for index in benchmark.scaledIterations {
            let item = index % facts.count
            guard let rule = rules.rules.first(where: { $0.error.code == logged[item] }) else { continue }
            // One definition cache for the request, as the analyser keeps it.
            let cache = DefinitionCache()
            let prediction = rules.predict(facts: facts[item], logged: logged[item], cache: cache)
            let outcome = rules.evaluate(rule, facts: facts[item], cache: cache)
            if let cause = outcome.cause { blackHole(rules.describe(cause.check, facts: facts[item], cache: cache)) }
            blackHole(prediction)
        }
    }
}
