import Foundation
import SKMAnalysis
import SKMCore
import SKMRules
import SKMTestSupport
import Testing

@Suite struct TemplateTests {
    func template(_ text: String) throws -> Template {
        try Template.compile(
            Source(name: "t", text: text), schema: SKMFacts.schema, definitions: ShippedRules.load().definitions
        ).get()
    }

    func facts(_ key: [String: Value]) -> Activation {
        Activation(
            schema: SKMFacts.schema,
            values: ["key": .object(ObjectValue(type: SKMFacts.key, values: key)), "events": .list([])])
    }

    @Test func aFieldWithoutAValueIsAProblemNotAnEmptyString() throws {
        let rendered = try template("Key {{key.id}} is {{statusNames[key.status]}}.").render(
            facts(["exists": .bool(true), "status": .string("PENDING_DELETION")]))
        #expect(rendered.problems == [.absent(hole: "key.id", field: "key.id")])
        let whole = try template("Key {{key.id}} is {{statusNames[key.status]}}.").render(
            facts(["exists": .bool(true), "id": .string("k1"), "status": .string("PENDING_DELETION")]))
        #expect(whole.problems == [])
        #expect(whole.text == "Key k1 is Pending Deletion.")
    }

    /// The rendering is written in one go at its length: every text and hole lands in order, whatever their
    /// characters and lengths (a short value is held inline, a long one on the heap), and a hole with a problem adds
    /// nothing.
    @Test func aRenderingHoldsEveryPartInOrder() throws {
        for id in ["k", "clé-ü", "a-key-id-well-over-fifteen-bytes-é-\u{1F511}", "e\u{301}"] {
            let rendered = try template("Clé {{key.id}} — «{{key.id + '!'}}» {{[1, 2]}} {{size(key.id)}}✓").render(
                facts(["exists": .bool(true), "id": .string(id)]))
            #expect(rendered.problems == [])
            #expect(rendered.text == "Clé \(id) — «\(id)!» 1, 2 \(id.unicodeScalars.count)✓")
            #expect(Array(rendered.text.utf8) == Array("Clé \(id) — «\(id)!» 1, 2 \(id.unicodeScalars.count)✓".utf8))
        }
        let partial = try template("{{key.id}}é{{key.status}}").render(
            facts(["exists": .bool(true), "status": .string("ACTIVE")]))
        #expect(partial.text == "éACTIVE")
        #expect(partial.problems == [.absent(hole: "key.id", field: "key.id")])
        #expect(try template("").render(facts([:])).text == "")
        #expect(try template("{{key.id}}").render(facts(["id": .string("only")])).text == "only")
    }

    @Test func anUnknownFactIsAProblemThatNamesIt() throws {
        let values: [String: Value] = [
            "key": .unknown(Unknown(path: "key.exists", settle: "analyse with skm snapshot export"))
        ]
        let rendered = try template("Key {{key.id}}.").render(Activation(schema: SKMFacts.schema, values: values))
        #expect(rendered.problems.first?.facts.map(\.path) == ["key.exists"])
    }

    @Test func onlyAConditionalMayRenderAsNothing() throws {
        let conditional = try template("Deleted{{has(key.deletionAt) ? ' at ' + string(key.deletionAt) : ''}}.")
            .render(facts(["exists": .bool(true), "id": .string("k1")]))
        #expect(conditional.problems == [])
        #expect(conditional.text == "Deleted.")
        let list = try template("Registered: {{['a', 'b'].filter(x, x == 'c').join(', ')}}.").render(facts([:]))
        #expect(list.problems == [.empty(hole: "['a', 'b'].filter(x, x == 'c').join(', ')")])
    }

    /// One definition cache serves ordinary evaluation and strict rendering of the same request: a definition that
    /// read a field without a value keeps a value for each reading, whatever the order they are asked in, and one
    /// that uses it inherits that; one that read none serves both.
    @Test func aDefinitionThatReadAnAbsentFieldKeepsAValueForEachReading() throws {
        var definitions = Definitions()
        try definitions.add(name: "header", source: Source(text: "request.client.macHeader"), schema: Schemas.schema)
            .get()
        try definitions.add(name: "labelled", source: Source(text: "'mac:' + header"), schema: Schemas.schema).get()
        try definitions.add(name: "address", source: Source(text: "request.client.ip"), schema: Schemas.schema).get()
        func program(_ text: String) throws -> Program {
            try Compiler.compile(Source(text: text), schema: Schemas.schema, definitions: definitions).get()
        }
        let header = try program("header")
        let labelled = try program("labelled")
        let address = try program("address")
        let facts = Schemas.activation(mac: nil)
        func isAbsent(_ value: Value) -> Bool {
            if case .error(let error) = value { return error.absentField == "request.client.macHeader" }
            return false
        }
        // Every order of the four evaluations of the two definitions, each on a cache of its own.
        let steps: [(Program, Bool)] = [(header, false), (header, true), (labelled, false), (labelled, true)]
        func orders(_ items: [Int]) -> [[Int]] {
            items.count <= 1
                ? [items]
                : items.indices.flatMap { i in
                    orders(items.enumerated().filter { $0.offset != i }.map(\.element)).map { [items[i]] + $0 }
                }
        }
        for order in orders([0, 1, 2, 3]) {
            let cache = DefinitionCache()
            for index in order {
                let (program, strict) = steps[index]
                let value =
                    strict ? program.evaluateStrictly(facts, cache: cache) : program.evaluate(facts, cache: cache)
                if strict {
                    #expect(isAbsent(value), "order \(order), step \(index)")
                } else {
                    #expect(value.stringValue == (program === header ? "" : "mac:"), "order \(order), step \(index)")
                }
            }
        }
        let cache = DefinitionCache()
        #expect(address.evaluate(facts, cache: cache).stringValue == "10.0.0.1")
        #expect(address.evaluateStrictly(facts, cache: cache).stringValue == "10.0.0.1")
        #expect(
            labelled.evaluate(Schemas.activation(mac: .string("aa")), cache: DefinitionCache()).stringValue == "mac:aa")
    }

    /// A definition cache first used by a definition compiled before later ones were added, then by the later ones,
    /// in both readings, keeps every value: more definitions than it was first made for, and more values than one
    /// per definition.
    @Test func aDefinitionCacheGrowsWithTheDefinitionsItMeets() throws {
        var definitions = Definitions()
        // Each reads the absent header, so each keeps a value for each reading; each adds its own number.
        for index in 0..<40 {
            let text = index == 0 ? "request.client.macHeader + '0'" : "d\(index - 1) + '.\(index)'"
            try definitions.add(name: "d\(index)", source: Source(text: text), schema: Schemas.schema).get()
        }
        func program(_ text: String) throws -> Program {
            try Compiler.compile(Source(text: text), schema: Schemas.schema, definitions: definitions).get()
        }
        func expected(_ index: Int) -> String { (0...index).map { $0 == 0 ? "0" : ".\($0)" }.joined() }
        let facts = Schemas.activation(mac: nil)
        let cache = DefinitionCache()
        // The first definitions alone (compiled when there were few), then every one, ordinary then strict.
        for index in [0, 1, 2, 39, 20, 5] {
            #expect(try program("d\(index)").evaluate(facts, cache: cache).stringValue == expected(index))
        }
        for index in [3, 39, 0, 17] {
            let strict = try program("d\(index)").evaluateStrictly(facts, cache: cache)
            guard case .error(let error) = strict else {
                Issue.record("d\(index) read strictly: \(strict)")
                continue
            }
            #expect(error.absentField == "request.client.macHeader")
        }
        for index in 0..<40 {
            #expect(try program("d\(index)").evaluate(facts, cache: cache).stringValue == expected(index))
        }
        // Every definition's own program, compiled when it was the last, on a fresh cache in the other order.
        let fresh = DefinitionCache()
        for index in (0..<40).reversed() {
            #expect(definitions.items[index].program.evaluate(facts, cache: fresh).stringValue == expected(index))
            #expect(definitions.items[index].program.evaluateStrictly(facts, cache: fresh).isError)
        }
    }

    /// The loader renders the words of every check a test makes fail, on the test's facts, and refuses a hole
    /// that would show nothing, at the test's line.
    @Test func theLoaderRefusesAHoleATestLeavesEmpty() throws {
        let text =
            goodRule + """

                tests:
                  - name: no header
                    base: mac-call
                    set: {request.client.macHeader: !absent, store.name: !absent }
                    expect: {fails: header-present}
                """
        let withHole = text.replacingOccurrences(
            of: "explain: \"no header\"", with: "explain: \"no header for key store {{store.name}}\"")
        let directory = try RuleDirectory(["a.yaml": withHole])
        let shipped = packageRoot.appendingPathComponent("Rules/fixtures/mac-call.yaml")
        try FileManager.default.copyItem(
            at: shipped, to: directory.url.appendingPathComponent("fixtures/mac-call.yaml"))
        #expect(
            directory.diagnostics() == [
                """
                Rules/a.yaml:14:5: error: on the facts of test 'no header', the explanation of 'header-present' {{store.name}} reads store.name, which has no value
                  - name: no header
                    ^
                """
            ])
    }
}
