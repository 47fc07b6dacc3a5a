import Foundation
import SKMAnalysis

/// Fuzzes HAR captures: the bytes are read as `skm analyze` reads a `.har` file, entry by entry.
@_cdecl("LLVMFuzzerTestOneInput")
package func fuzzHAR(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(bytes: data, count: size)
    var count = 0
    try? HARReader().read("fuzz.har", data: bytes) { _ in count += 1 }
    return 0
}
