import Foundation

/// The package's root folder, found from this file's path.
package let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// Validates JSON documents against a schema in `Schemas/` with Python's `jsonschema`, the reference validator, in
/// the draft the schema names (2020-12 for SKM's own, draft 4 for SARIF's). Returns one message per invalid document; empty when all are valid.
///
/// `.ci/run` makes sure the `jsonschema` package is present.
package func schemaViolations(of documents: [Data], schema name: String) throws -> [String] {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("skm-schema-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    var paths: [String] = []
    for (index, document) in documents.enumerated() {
        let path = directory.appendingPathComponent("\(index).json")
        try document.write(to: path)
        paths.append(path.path)
    }
    let script = """
        import json, sys, jsonschema
        schema = json.load(open(sys.argv[1]))
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
        validator = cls(schema)
        for path in sys.argv[2:]:
            for error in validator.iter_errors(json.load(open(path))):
                print(f"{path}: {'/'.join(map(str, error.absolute_path))}: {error.message}")
        """
    let (status, text) = try python(script, [packageRoot.appendingPathComponent("Schemas/\(name)").path] + paths)
    if status != 0 { return ["validator failed: \(text)"] }
    return text.split(separator: "\n").map(String.init)
}

/// Runs a Python script with `arguments`; its exit status and everything it printed (standard output and error).
package func python(_ script: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let result = try Subprocess.runBlocking(
        URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", script] + arguments)
    return (result.status, result.output + result.error)
}
