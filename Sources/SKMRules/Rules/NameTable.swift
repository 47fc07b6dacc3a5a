import SKMPrimitives

/// A few values by name (operation names, tags), looked up by a scan instead of hashing: the replay looks up a
/// request's operation and tags once per request, and hashing a string costs more than comparing it with a few
/// dozen names of other lengths.
///
/// Strings compare as Swift compares them (canonical equivalence). Between two ASCII strings that is byte
/// equality, so ASCII names are compared by bytes; any other name is looked up in a dictionary.
struct NameTable<Value: Sendable>: Sendable {
    private let ascii: [(name: String, length: Int, value: Value)]
    private let all: [String: Value]

    init(_ values: [String: Value]) {
        all = values
        ascii = values.filter { $0.key.utf8AllSatisfy { $0 < 0x80 } }.map { ($0.key, $0.key.utf8.count, $0.value) }
    }

    subscript(name: String) -> Value? {
        guard name.utf8AllSatisfy({ $0 < 0x80 }) else { return all[name] }
        let length = name.utf8.count
        for entry in ascii where entry.length == length && Operations.sameCodePoints(entry.name, name) {
            return entry.value
        }
        return nil
    }
}
