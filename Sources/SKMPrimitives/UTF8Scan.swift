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
}
