import Foundation
import SKMAnalysis
import SKMCore
import SKMTestSupport
import Testing
import Yams

/// The JSON form of a YAML document, for validating rule files against `Schemas/rule.schema.json`. Scalars take the
/// type YAML's core schema resolves; the fact tags (`!absent`, `!unknown`) stay text.
private func json(_ node: Node) -> JSONValue {
    switch node {
    case .scalar(let scalar):
        switch Resolver.default.resolveTag(of: node).rawValue {
        case "tag:yaml.org,2002:int": return Int(scalar.string).map(JSONValue.int) ?? .string(scalar.string)
        case "tag:yaml.org,2002:bool": return .bool(Bool.construct(from: scalar) ?? false)
        case "tag:yaml.org,2002:null": return .null
        case "tag:yaml.org,2002:float": return Double(scalar.string).map(JSONValue.double) ?? .string(scalar.string)
        default: return .string(scalar.string)
        }
    case .mapping(let mapping):
        var object = JSONObject()
        for (key, value) in mapping { object[key.string ?? ""] = json(value) }
        return .object(object)
    case .sequence(let sequence):
        return .array(sequence.map(json))
    case .alias:
        return .null
    }
}

@Suite struct RuleSchemaTests {
    func ruleFiles() throws -> [URL] {
        try FileManager.default.contentsOfDirectory(at: ShippedRules.directory, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "yaml" && !$0.lastPathComponent.hasPrefix("definitions.") }
            .sorted { $0.path < $1.path }
    }

    @Test func everyShippedRuleMatchesTheSchema() throws {
        let files = try ruleFiles()
        #expect(files.count == 16)
        let documents = try files.map { file in
            let node = try #require(try Yams.compose(yaml: String(contentsOf: file, encoding: .utf8)))
            return Data(JSONWriter().bytes(json(node)))
        }
        let violations = try schemaViolations(of: documents, schema: "rule.schema.json")
        #expect(violations.isEmpty, "\(violations.joined(separator: "\n"))")
    }

    @Test func theSchemaRefusesWhatTheLoaderRefuses() throws {
        let broken = [
            goodRule.replacingOccurrences(of: "order: 610\n", with: ""),
            goodRule.replacingOccurrences(of: "    fix: \"send it\"", with: "    fix: \"send it\"\n    asert: x"),
            goodRule.replacingOccurrences(of: "id: SKM-TEST", with: "id: skm-test"),
            goodRule + "\ntests:\n  - name: t\n    expect: {fails: a, passes: true}\n",
            goodRule.replacingOccurrences(of: "    assert: has(request.client.macHeader)\n", with: ""),
        ]
        let documents = try broken.map { text in
            Data(JSONWriter().bytes(json(try #require(try Yams.compose(yaml: text)))))
        }
        let violations = try schemaViolations(of: documents, schema: "rule.schema.json")
        for index in broken.indices {
            #expect(violations.contains { $0.contains("/\(index).json:") }, "document \(index) was accepted")
        }
    }
}
