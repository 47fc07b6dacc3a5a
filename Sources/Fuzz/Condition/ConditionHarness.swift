import SKMAnalysis
import SKMRules

/// Fuzzes the condition language: the text is compiled against the shipped fact schema and, when it compiles, run
/// against facts that are all unknown; compiled without the type checker, it is run against no facts at all (the
/// literals, operators and functions alone). Either way, read for its truth alone, it must say what its value says.
private let schema = SKMFacts.schema

/// Sets up the harness's fixed parts before the first input, so that what they keep is not taken for a leak.
@_cdecl("LLVMFuzzerInitialize")
package func initialize(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>
) -> CInt {
    _ = schema
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
package func fuzzCondition(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let source = Source(name: "fuzz", text: text)
    if case .success(let program) = Compiler.compile(source, schema: schema) {
        _ = program.evaluateWithEvidence(Activation(schema: schema, values: [:]))
        // Read for its truth as the replay reads conditions: it must agree with the value.
        let facts = Activation(schema: schema, values: [:])
        if program.truth(facts) != program.evaluate(facts).boolValue { fatalError("truth and value disagree") }
    }
    if case .success(let program) = Compiler.compile(source, schema: schema, checked: false) {
        let facts = Activation(schema: schema, values: [:])
        if program.truth(facts) != program.evaluate(facts).boolValue { fatalError("truth and value disagree") }
    }
    return 0
}
