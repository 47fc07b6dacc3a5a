import Foundation
import SKMCore
import SKMRules

/// A fix that is a change of the key manager's state (or of what the client sends), as a rule's `remedy` declares
/// it: what fix simulation applies to the state at a request's time before replaying the decision procedure.
package enum StateChange: Sendable, Hashable {
    /// Register an IPv4 address or CIDR in a key store.
    case registerAddress(store: Int, value: String)
    /// Register a MAC address in a key store.
    case registerMAC(store: Int, value: String)
    /// Register the presented certificate (by fingerprint) in a key store.
    case registerCertificate(store: Int, sha256: String)
    /// Cancel the deletion of a registered entry (back In Service).
    case cancelEntryDeletion(entry: Int)
    /// Cancel the deletion of a key.
    case cancelKeyDeletion(key: String)
    /// Cancel the deletion of a key version.
    case cancelVersionDeletion(key: String, version: Int)
    /// Call with another appkey (the one that owns the key).
    case useAppkey(String)
    /// Ask for another key version (`keyVersion` of the query).
    case useKeyVersion(Int)

    /// The remedy kinds rule files may declare, with their arguments: the rule engine checks `remedy:` against them.
    package static let remedyKinds: [String: [(name: String, type: CELType)]] = [
        "registerAddress": [("store", .int), ("value", .string)],
        "registerMAC": [("store", .int), ("value", .string)],
        "registerCertificate": [("store", .int), ("sha256", .string)],
        "cancelEntryDeletion": [("entry", .int)],
        "cancelKeyDeletion": [("key", .string)],
        "cancelVersionDeletion": [("key", .string), ("version", .int)],
        "useAppkey": [("appkey", .string)],
        "useKeyVersion": [("version", .int)],
    ]

    /// The change a remedy evaluated on a request's facts names; `nil` when an argument has the wrong shape.
    package init?(_ remedy: Remedy) {
        func int(_ name: String) -> Int? { remedy.arguments[name]?.intValue.map { Int($0) } }
        func string(_ name: String) -> String? { remedy.arguments[name]?.stringValue }
        switch remedy.kind {
        case "registerAddress":
            guard let store = int("store"), let value = string("value") else { return nil }
            self = .registerAddress(store: store, value: value)
        case "registerMAC":
            guard let store = int("store"), let value = string("value") else { return nil }
            self = .registerMAC(store: store, value: value)
        case "registerCertificate":
            guard let store = int("store"), let sha256 = string("sha256") else { return nil }
            self = .registerCertificate(store: store, sha256: sha256)
        case "cancelEntryDeletion":
            guard let entry = int("entry") else { return nil }
            self = .cancelEntryDeletion(entry: entry)
        case "cancelKeyDeletion":
            guard let key = string("key") else { return nil }
            self = .cancelKeyDeletion(key: key)
        case "cancelVersionDeletion":
            guard let key = string("key"), let version = int("version") else { return nil }
            self = .cancelVersionDeletion(key: key, version: version)
        case "useAppkey":
            guard let appkey = string("appkey") else { return nil }
            self = .useAppkey(appkey)
        case "useKeyVersion":
            guard let version = int("version") else { return nil }
            self = .useKeyVersion(version)
        default:
            return nil
        }
    }

    /// The change in words, as a fix ("registering 10.0.3.7 in key store 'payments'"), with names from `timeline`.
    package func description(in timeline: StateTimeline) -> String {
        func store(_ id: Int) -> String {
            timeline.snapshot.keyStores.first { $0.id == id }.map { "key store '\($0.name)'" } ?? "key store #\(id)"
        }
        func entry(_ id: Int) -> String {
            guard let found = timeline.snapshot.authEntries.first(where: { $0.id == id }) else { return "entry #\(id)" }
            return "\(found.kind.displayName) entry '\(found.value)' of \(store(found.keyStoreId))"
        }
        switch self {
        case .registerAddress(let id, let value): return "registering \(value) in \(store(id))"
        case .registerMAC(let id, let value): return "registering MAC \(value) in \(store(id))"
        case .registerCertificate(let id, let sha256):
            return "registering the presented certificate (SHA-256 \(sha256.prefix(16))…) in \(store(id))"
        case .cancelEntryDeletion(let id): return "cancelling the deletion of \(entry(id))"
        case .cancelKeyDeletion(let key): return "cancelling the deletion of key \(key)"
        case .cancelVersionDeletion(let key, let version):
            return "cancelling the deletion of version \(version) of key \(key)"
        case .useAppkey(let appkey): return "calling with appkey \(appkey) (the key's owner)"
        case .useKeyVersion(let version): return "asking for key version \(version) (the primary)"
        }
    }

    /// Whether the change is to what the client sends rather than to the key manager's state.
    package var changesTheRequest: Bool {
        switch self {
        case .useAppkey, .useKeyVersion: return true
        default: return false
        }
    }
}
