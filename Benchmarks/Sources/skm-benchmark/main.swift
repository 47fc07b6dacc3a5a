import Foundation
import SKMAnalysis
import SKMRules

/// Benchmarks of the rule engine and inputs for the analyser's.
///
///     skm-benchmark rules [rules directory, default Rules] [rounds, default 20000]
///         ONLY=RULE-ID: that rule's failed request alone
///     skm-benchmark generate-log TEMPLATE.jsonl LINES FAILURE-PERCENT OUT.jsonl
///     skm-benchmark data-call [encrypt|decrypt] [calls, default 200000]
///
/// `rules`: the per-request cost of the compiled rule set. For one failed request per rule (the facts of the rule's first "fails" test, already built), the work the
/// analyser does per failed request: replay the whole decision procedure (every check of every applicable rule),
/// evaluate the logged error's rule with evidence, and render the cause's explanation and fix. Prints the median
/// and the 90th and 99th percentiles over every timed request, and the median per rule.
///
/// `generate-log`: a request log of LINES lines made from a template log (a fixture's), successes and failures
/// drawn from the template's in the proportion asked, with fresh request ids and times moving forward.

var arguments = CommandLine.arguments.dropFirst()
if arguments.first == "data-call" {
    try await dataCallBenchmark(Array(arguments.dropFirst()))
    exit(0)
}
if arguments.first == "generate-log" {
    generateLog(Array(arguments.dropFirst()))
    exit(0)
}
if arguments.first == "rules" { arguments = arguments.dropFirst() }
let directory = URL(fileURLWithPath: arguments.first ?? "Rules")
let rounds = arguments.dropFirst().first.flatMap(Int.init) ?? 20_000

let rules: RuleSet
switch SKMFacts.loadRules([directory]) {
case .success(let loaded): rules = loaded
case .failure(let diagnostics):
    FileHandle.standardError.write(Data("\(diagnostics)\n".utf8))
    exit(2)
}

struct Case {
    let rule: Rule
    let facts: Activation
}

var cases: [Case] = []
for rule in rules.rules {
    guard let test = rule.tests.first(where: { if case .fails = $0.expectation { true } else { false } }) else {
        continue
    }
    if let only = ProcessInfo.processInfo.environment["ONLY"], only != rule.id { continue }
    cases.append(Case(rule: rule, facts: test.facts))
}
if cases.isEmpty {
    let only = ProcessInfo.processInfo.environment["ONLY"].map { " named ONLY=\($0)" } ?? ""
    FileHandle.standardError.write(Data("skm-benchmark: no rule\(only) has a test of a failed request\n".utf8))
    exit(2)
}

/// Everything the analyser asks of the rules for one failed request.
@inline(never)
func explain(_ item: Case) -> Int {
    // One definition cache for the request, as the analyser keeps it: a definition the steps share runs once.
    let cache = DefinitionCache()
    let prediction = rules.predict(facts: item.facts, logged: item.rule.error.code, cache: cache)
    let outcome = rules.evaluate(item.rule, facts: item.facts, cache: cache)
    var produced = prediction.unknownsBefore.count + outcome.checks.count
    if let cause = outcome.cause {
        let (explanation, fix) = rules.describe(cause.check, facts: item.facts, cache: cache)
        produced += explanation.text.utf8.count + fix.text.utf8.count + cause.evidence.count
    }
    return produced
}

/// The three parts of ``explain(_:)`` timed apart: the decision procedure, the logged error's rule with evidence,
/// and the rendering of the explanation and fix.
func phases(_ item: Case, _ clock: ContinuousClock) -> (Double, Double, Double) {
    func micro(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1e6 + Double(duration.components.attoseconds) / 1e12
    }
    let start = clock.now
    let cache = DefinitionCache()
    let prediction = rules.predict(facts: item.facts, logged: item.rule.error.code, cache: cache)
    let predicted = clock.now
    let outcome = rules.evaluate(item.rule, facts: item.facts, cache: cache)
    let evaluated = clock.now
    var length = prediction.unknownsBefore.count
    if let cause = outcome.cause {
        length += rules.describe(cause.check, facts: item.facts, cache: cache).explanation.text.utf8.count
    }
    let described = clock.now
    sink &+= length
    return (micro(predicted - start), micro(evaluated - predicted), micro(described - evaluated))
}

func percentile(_ sorted: [Double], _ fraction: Double) -> Double {
    sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))]
}

nonisolated(unsafe) var sink = 0
let warmUpRounds = 500
for _ in 0..<warmUpRounds { for item in cases { sink &+= explain(item) } }
if rounds < 1 {
    // The warm-up alone: what a count of a run with rounds, less this one, leaves to the rounds.
    print("rule set: \(cases.count) failed requests × 0 rounds (after \(warmUpRounds) warm-up rounds): nothing timed")
    exit(0)
}

let clock = ContinuousClock()
var all: [Double] = []
all.reserveCapacity(rounds * cases.count)
var perRule = [[Double]](repeating: [], count: cases.count)
for _ in 0..<rounds {
    for (index, item) in cases.enumerated() {
        let start = clock.now
        sink &+= explain(item)
        let elapsed = clock.now - start
        let microseconds =
            Double(elapsed.components.seconds) * 1e6 + Double(elapsed.components.attoseconds) / 1e12
        all.append(microseconds)
        perRule[index].append(microseconds)
    }
}
all.sort()
var split: ([Double], [Double], [Double]) = ([], [], [])
for _ in 0..<max(1, rounds / 4) {
    for item in cases {
        let (a, b, c) = phases(item, clock)
        split.0.append(a)
        split.1.append(b)
        split.2.append(c)
    }
}
let checks = rules.rules.reduce(0) { $0 + $1.checks.count }
print(
    "rule set: \(rules.rules.count) rules, \(checks) checks; \(cases.count) failed requests × \(rounds) rounds"
        + " (after \(warmUpRounds) warm-up rounds)")
for (index, item) in cases.enumerated() {
    let sorted = perRule[index].sorted()
    let name = item.rule.id.padding(toLength: 34, withPad: " ", startingAt: 0)
    print("  \(name) median \(String(format: "%6.2f", percentile(sorted, 0.5))) µs")
}
print(
    String(
        format: "per failed request: median %.2f µs, p90 %.2f µs, p99 %.2f µs", percentile(all, 0.5),
        percentile(all, 0.9), percentile(all, 0.99)))
print(
    String(
        format:
            "  of which: decision procedure %.2f µs, the logged error's rule with evidence %.2f µs, explanation %.2f µs",
        percentile(split.0.sorted(), 0.5), percentile(split.1.sorted(), 0.5), percentile(split.2.sorted(), 0.5)))
if sink == 42 { print("") }
