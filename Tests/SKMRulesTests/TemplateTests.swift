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
