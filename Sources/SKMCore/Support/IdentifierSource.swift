import Synchronization

/// Where identifiers (appkeys, key ids, UAK ids, serial numbers) get their randomness.
///
/// Identifiers are not secrets, so tests and fixture generators may use a seeded source to make them repeatable.
/// Secrets and key material never come from here: they always use the system's cryptographic generator.
package protocol IdentifierSource: Sendable {
    func randomBytes(count: Int) -> [UInt8]
}

extension IdentifierSource {
    /// `length` characters drawn uniformly from `alphabet`.
    package func randomString(length: Int, alphabet: String) -> String {
        let symbols = Array(alphabet)
        precondition(!symbols.isEmpty && symbols.count <= 256)
        let limit = 256 - 256 % symbols.count
        var result = ""
        result.reserveCapacity(length)
        while result.count < length {
            for byte in randomBytes(count: length * 2) where Int(byte) < limit {
                result.append(symbols[Int(byte) % symbols.count])
                if result.count == length { break }
            }
        }
        return result
    }

    /// Lower-case hexadecimal of `count` random bytes.
    package func randomHex(bytes count: Int) -> String {
        randomBytes(count: count).hexString
    }
}

/// Identifiers from the system's cryptographic random generator.
package struct SystemIdentifierSource: IdentifierSource {
    package init() {}

    package func randomBytes(count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }
}

/// Repeatable identifiers from a seed (SplitMix64), for tests and regenerable fixtures.
package final class SeededIdentifierSource: IdentifierSource {
    private let state: Mutex<UInt64>

    package init(seed: UInt64) {
        state = Mutex(seed)
    }

    package func randomBytes(count: Int) -> [UInt8] {
        state.withLock { state in
            var bytes: [UInt8] = []
            bytes.reserveCapacity(count + 8)
            while bytes.count < count {
                state &+= 0x9E37_79B9_7F4A_7C15
                var z = state
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                z ^= z >> 31
                withUnsafeBytes(of: z.littleEndian) { bytes.append(contentsOf: $0) }
            }
            return Array(bytes.prefix(count))
        }
    }
}

extension Sequence where Element == UInt8 {
    /// Lower-case hexadecimal, two digits per byte.
    package var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var output: [UInt8] = []
        for byte in self {
            output.append(digits[Int(byte >> 4)])
            output.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: output, as: UTF8.self)
    }
}
