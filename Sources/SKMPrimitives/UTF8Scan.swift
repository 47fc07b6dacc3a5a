import Foundation

extension StringProtocol {
    /// Whether every UTF-8 byte of the text satisfies `predicate`. A native string's bytes are read from its storage
    /// at once; iterating `utf8` would check the storage's form for every byte, several times slower on the request
    /// path's ids and paths.
    @inlinable
    package func utf8AllSatisfy(_ predicate: (UInt8) -> Bool) -> Bool {
        if let result = utf8.withContiguousStorageIfAvailable({ $0.allSatisfy(predicate) }) { return result }
        return utf8.allSatisfy(predicate)
    }

    /// Whether the text's UTF-8 holds `byte`, read as ``utf8AllSatisfy(_:)`` reads it.
    @inlinable
    package func utf8Contains(_ byte: UInt8) -> Bool {
        !utf8AllSatisfy { $0 != byte }
    }

    /// Runs `body` on the text's UTF-8, read where it lies when the string is native and copied first otherwise.
    /// Iterating `utf8` instead goes a byte at a time through the view's checks.
    @inlinable
    package func withUTF8Bytes<Result>(_ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        if let result = utf8.withContiguousStorageIfAvailable(body) { return result }
        return Array(utf8).withUnsafeBufferPointer(body)
    }
}

extension String {
    /// ``StringProtocol/withUTF8Bytes(_:)`` for a `String`: not generic, so that the call costs no witness-table
    /// lookups.
    @inlinable
    package func withUTF8Bytes<Result>(_ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        if let result = utf8.withContiguousStorageIfAvailable(body) { return result }
        return Array(utf8).withUnsafeBufferPointer(body)
    }

    /// The text `write` puts into a buffer of `capacity` bytes, returning how many it wrote. What it writes must be
    /// valid UTF-8, as whole texts joined are: the bytes are copied into the string without the check the other
    /// initialisers make of every byte, which on text that is not ASCII costs several times the copy. Debug builds
    /// make the check.
    @inlinable
    package init(joiningValidUTF8 capacity: Int, _ write: (UnsafeMutableBufferPointer<UInt8>) -> Int) {
        // From malloc itself: the standard allocator takes the aligned path for any buffer it is not told the
        // alignment of, which costs about twice as much.
        guard let memory = malloc(Swift.max(1, capacity)) else { fatalError("out of memory") }
        defer { free(memory) }
        let buffer = UnsafeMutableBufferPointer(
            start: memory.bindMemory(to: UInt8.self, capacity: Swift.max(1, capacity)), count: Swift.max(1, capacity))
        let count = write(buffer)
        precondition(count >= 0 && count <= capacity, "wrote \(count) bytes into \(capacity)")
        let written = UnsafeBufferPointer(rebasing: buffer[..<count])
        assert(String(validating: written, as: UTF8.self) != nil, "the bytes written are not valid UTF-8")
        self = String(copying: UTF8Span(unchecked: Span(_unsafeElements: written)))
    }
}
