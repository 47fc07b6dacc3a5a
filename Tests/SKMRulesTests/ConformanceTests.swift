import Foundation
import SKMRules
import Testing

/// One case of the CEL conformance suite (see Conformance/cel/README.md).
struct ConformanceCase: Sendable, CustomTestStringConvertible {
    let file: String
    let section: String
    let name: String
    let expression: String
    let bindings: [String: TypedValue]
    let expectation: Expectation
    let disableCheck: Bool
    let typeEnvironment: [String: String]
    let features: Set<String>

    enum Expectation: Sendable {
        case value(TypedValue)
        case error(String)
    }

    var testDescription: String { "\(file)/\(section)/\(name)" }

    /// Checked, and without anything the strict core leaves out.
    var isStrictCore: Bool {
        !disableCheck
            && features.isDisjoint(with: ["uint", "bytes", "dyn", "dyn_cast", "timestamp", "duration", "unbound"])
    }

    /// Uses a type the language deliberately leaves out.
    var usesLeftOutTypes: Bool { !features.isDisjoint(with: ["uint", "bytes", "dyn", "dyn_cast"]) }

    var isTimeCase: Bool { !features.isDisjoint(with: ["timestamp", "duration"]) && !usesLeftOutTypes }
}

/// A conformance value: `{"int": "5"}`, `{"list": [...]}`, …
indirect enum TypedValue: Sendable {
    case int(Int64), uint(String), double(Double), string(String), bool(Bool), null, bytes(String)
    case list([TypedValue]), map([(TypedValue, TypedValue)]), timestamp(String), duration(String)

    init(json: Any) throws {
        struct Malformed: Error {}
        guard let object = json as? [String: Any], let (kind, payload) = object.first else { throw Malformed() }
        switch kind {
        case "int": self = .int(Int64(payload as! String)!)
        case "uint": self = .uint(payload as! String)
        case "double":
            if let text = payload as? String {
                self = .double(text == "NaN" ? .nan : text == "Infinity" ? .infinity : -.infinity)
            } else {
                self = .double((payload as! NSNumber).doubleValue)
            }
        case "string": self = .string(payload as! String)
        case "bool": self = .bool(payload as! Bool)
        case "null": self = .null
        case "bytes": self = .bytes(payload as! String)
        case "list": self = .list(try (payload as! [Any]).map(TypedValue.init(json:)))
        case "map":
            self = .map(try (payload as! [[Any]]).map { (try TypedValue(json: $0[0]), try TypedValue(json: $0[1])) })
        case "timestamp": self = .timestamp(payload as! String)
        case "duration": self = .duration(payload as! String)
        default: throw Malformed()
        }
    }

    /// The runtime value, or `nil` for the left-out types.
    var value: Value? {
        switch self {
        case .int(let number): return .int(number)
        case .double(let number): return .double(number)
        case .string(let text): return .string(text)
        case .bool(let flag): return .bool(flag)
        case .null: return .null
        case .uint, .bytes: return nil
        case .list(let items):
            var values: [Value] = []
            for item in items {
                guard let value = item.value else { return nil }
                values.append(value)
            }
            return .list(values)
        case .map(let pairs):
            var values: [(Value, Value)] = []
            for (key, value) in pairs {
                guard let k = key.value, let v = value.value else { return nil }
                values.append((k, v))
            }
            return (try? MapValue(values)).map(Value.map)
        case .timestamp(let text): return CELTime(rfc3339: text).map(Value.timestamp)
        case .duration(let text): return CELDuration(text: text).map(Value.duration)
        }
    }
}

/// Whether two values are the same, the way conformance compares them: same type, maps unordered, NaN equals NaN.
func conformanceEqual(_ a: Value, _ b: Value) -> Bool {
    switch (a, b) {
    case (.null, .null): return true
    case (.bool(let x), .bool(let y)): return x == y
    case (.int(let x), .int(let y)): return x == y
    case (.double(let x), .double(let y)): return x == y || (x.isNaN && y.isNaN)
    case (.string(let x), .string(let y)): return x.unicodeScalars.elementsEqual(y.unicodeScalars)
    case (.timestamp(let x), .timestamp(let y)): return x == y
    case (.duration(let x), .duration(let y)): return x == y
    case (.list(let x), .list(let y)): return x.count == y.count && zip(x, y).allSatisfy(conformanceEqual)
    case (.map(let x), .map(let y)):
        return x.count == y.count
            && x.entries.allSatisfy { entry in
                y.value(for: entry.key).map { conformanceEqual(entry.value, $0) } ?? false
            }
    default: return false
    }
}

enum ConformanceOutcome: Equatable {
    case passed
    case refused(String)
    case failed(String)
}

/// Runs one case: compile (checked unless disabled), evaluate, compare.
func run(_ test: ConformanceCase) -> ConformanceOutcome {
    var variables: [FactSchema.Variable] = []
    for (name, typeText) in test.typeEnvironment.sorted(by: { $0.key < $1.key }) {
        switch CELType.parse(typeText) {
        case .success(let type): variables.append(.init(name, type))
        case .failure(let error): return .refused(error.reason)
        }
    }
    let schema = FactSchema(variables: variables)
    var values: [String: Value] = [:]
    for (name, typed) in test.bindings {
        guard let value = typed.value else { return .refused("unsupported: binding of a left-out type") }
        values[name] = value
    }
    let program: Program
    switch Compiler.compile(Source(name: test.name, text: test.expression), schema: schema, checked: !test.disableCheck)
    {
    case .success(let compiled): program = compiled
    case .failure(let diagnostics):
        let message = diagnostics.items.map(\.message).joined(separator: "; ")
        return message.contains("unsupported") ? .refused(message) : .failed("did not compile: \(message)")
    }
    let result = program.evaluate(Activation(schema: schema, values: values))
    switch test.expectation {
    case .error:
        if case .error = result { return .passed }
        return .failed("expected an error, got \(Format.literal(result))")
    case .value(let typed):
        guard let expected = typed.value else { return .refused("unsupported: expected value of a left-out type") }
        if conformanceEqual(result, expected) { return .passed }
        return .failed("expected \(Format.literal(expected)), got \(Format.literal(result))")
    }
}

enum ConformanceSuite {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "Conformance/cel")
    static let files = [
        "basic", "comparisons", "conversions", "fields", "fp_math", "integer_math", "lists", "logic", "macros", "parse",
        "plumbing", "string", "timestamps",
    ]

    static func load(_ file: String) throws -> [ConformanceCase] {
        let data = try Data(contentsOf: directory.appendingPathComponent("\(file).json"))
        let items = try JSONSerialization.jsonObject(with: data) as! [[String: Any]]
        return try items.map { item in
            let expect = item["expect"] as! [String: Any]
            let expectation: ConformanceCase.Expectation
            if let value = expect["value"] {
                expectation = .value(try TypedValue(json: value))
            } else {
                expectation = .error(String(describing: expect["error"] ?? ""))
            }
            return ConformanceCase(
                file: file, section: item["section"] as! String, name: item["name"] as! String,
                expression: item["expr"] as! String,
                bindings: try (item["bindings"] as! [String: Any]).mapValues(TypedValue.init(json:)),
                expectation: expectation, disableCheck: item["disableCheck"] as! Bool,
                typeEnvironment: item["typeEnv"] as! [String: String], features: Set(item["features"] as! [String]))
        }
    }
}

@Suite struct ConformanceTests {
    @Test(arguments: ConformanceSuite.files)
    func conformanceFile(_ file: String) throws {
        let cases = try ConformanceSuite.load(file)
        var passed = 0
        var refused = 0
        var strictPassed = 0
        var strictTotal = 0
        var timePassed = 0
        var timeTotal = 0
        for test in cases {
            let outcome = run(test)
            if test.isStrictCore { strictTotal += 1 }
            if test.isTimeCase { timeTotal += 1 }
            switch outcome {
            case .passed:
                passed += 1
                if test.isStrictCore { strictPassed += 1 }
                if test.isTimeCase { timePassed += 1 }
            case .refused(let why):
                refused += 1
                // Refusing is right only for what the language leaves out.
                #expect(test.usesLeftOutTypes, "\(test.testDescription) refused: \(why)")
            case .failed(let why):
                Issue.record("\(test.testDescription) `\(test.expression.prefix(120))`: \(why)")
            }
        }
        print(
            "conformance \(file): \(passed)/\(cases.count) passed, \(refused) refused as unsupported; strict core \(strictPassed)/\(strictTotal); timestamp/duration \(timePassed)/\(timeTotal)"
        )
        #expect(strictPassed == strictTotal)
        #expect(timePassed == timeTotal)
    }

    @Test func suiteHas832CasesAnd514InTheStrictCore() throws {
        let all = try ConformanceSuite.files.flatMap { try ConformanceSuite.load($0) }
        #expect(all.count == 832)
        #expect(all.filter(\.isStrictCore).count == 514)
    }
}
