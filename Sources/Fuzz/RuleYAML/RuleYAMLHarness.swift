import Foundation
import SKMAnalysis
import SKMRules

/// Fuzzes rule files: the bytes are written as one rule file and loaded with the shipped fact schema, as
/// `skm rules lint` loads it (which also runs the rule's own tests). A rule set that loads must also evaluate.
private let directory: URL = {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent(
        "skm-fuzz-rules-\(ProcessInfo.processInfo.processIdentifier)")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}()

/// Sets up the harness's fixed parts before the first input, so that what they keep is not taken for a leak.
@_cdecl("LLVMFuzzerInitialize")
package func initialize(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>
) -> CInt {
    _ = directory
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
package func fuzzRuleYAML(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let file = directory.appendingPathComponent("rule.yaml")
    guard (try? Data(bytes: data, count: size).write(to: file)) != nil else { return 0 }
    _ = RuleSet.load(paths: [file], configuration: SKMFacts.configuration)
    return 0
}
