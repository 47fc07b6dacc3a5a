import Foundation
import SKMCore
import SKMPrimitives

/// Builds a state snapshot from an SKM's read APIs (this one's, or NHN Cloud's with a User Access Key), for logs of
/// a service the support engineer does not host.
///
/// The APIs show key stores, keys and registered entries as they are now; they do not show key versions, the
/// fingerprints of registered certificates, or the audit log. A snapshot made this way says so (`source.kind` is
/// `api`), and the analyser treats what it lacks as unknown rather than guessing. The transport is the caller's:
/// `get` performs one authenticated GET of a path with a query and returns the response's `body`.
package struct APIStateReader: Sendable {
    package typealias Get = @Sendable (_ path: String, _ query: [String: String]) async throws -> JSONValue

    package let appkey: String
    package let accessKeyID: String
    package let version: String
    let get: Get

    package init(appkey: String, accessKeyID: String, version: String = "v1.2", get: @escaping Get) {
        self.appkey = appkey
        self.accessKeyID = accessKeyID
        self.version = version
        self.get = get
    }

    package func read(now: Date, location: String) async throws -> StateSnapshot {
        let unknownStamp = Stamp(user: "unknown", at: Date(timeIntervalSince1970: 0))
        var snapshot = StateSnapshot(
            generatedAt: now, source: .init(kind: "api", location: location), certificateAuthority: nil,
            appkeys: [Appkey(id: appkey, name: "", created: unknownStamp)],
            userAccessKeys: [.init(id: accessKeyID, appkey: appkey, status: .inService, created: unknownStamp)])
        let storesPath = path("keystores")
        let listing = try await get(storesPath, ["detail": "true"])
        guard let stores = listing["keyStoreList"]?.arrayValue else {
            throw StateFetchError(.malformed, subject: storesPath, "no keyStoreList in the answer")
        }
        var entryID = 0
        for item in stores {
            guard let id = item["keyStoreId"]?.intValue, let name = item["name"]?.stringValue else {
                throw StateFetchError(.malformed, subject: storesPath, "a key store without keyStoreId or name")
            }
            let store = KeyStore(
                id: id, appkey: appkey, name: name, description: item["description"]?.stringValue ?? "",
                ip4AuthUse: item["ip4AuthUse"]?.stringValue == "Y", macAuthUse: item["macAuthUse"]?.stringValue == "Y",
                certificateAuthUse: item["certificateAuthUse"]?.stringValue == "Y",
                authMode: AuthMode(rawValue: item["authMode"]?.stringValue ?? "AND") ?? .and,
                created: stamp(item, "creation") ?? unknownStamp, lastChange: stamp(item, "lastChange") ?? unknownStamp)
            snapshot.keyStores.append(store)
            snapshot.keys += try await keys(of: store, unknownStamp: unknownStamp)
            for (kind, segment, list) in [
                (AuthKind.ipv4, "ips", "ipv4List"), (.mac, "macs", "macList"),
                (.certificate, "certificates", "certificateList"),
            ] {
                let entriesPath = path("keystores/\(id)/\(segment)")
                let values = try await get(entriesPath, [:])[list]?.arrayValue?.compactMap(\.stringValue) ?? []
                for value in values {
                    let details = try await get(entriesPath, ["value": value])[list]?.arrayValue ?? []
                    for detail in details {
                        entryID += 1
                        snapshot.authEntries.append(
                            entry(
                                detail, id: entryID, store: store, kind: kind, value: value, unknownStamp: unknownStamp)
                        )
                    }
                }
            }
        }
        return snapshot
    }

    private func keys(of store: KeyStore, unknownStamp: Stamp) async throws -> [ManagedKey] {
        var keys: [ManagedKey] = []
        let keysPath = path("keystores/\(store.id)/keys")
        for page in 1...10_000 {
            let answer = try await get(keysPath, ["detail": "true", "pageSize": "100", "pageNumber": String(page)])
            let list = answer["keyList"]?.arrayValue ?? []
            for item in list {
                guard let id = item["keyId"]?.stringValue,
                    let type = item["keyType"]?.stringValue.flatMap(KeyType.init),
                    let status = item["keyStatus"]?.stringValue.flatMap(KeyStatus.init)
                else {
                    throw StateFetchError(.malformed, subject: keysPath, "a key without keyId, keyType or keyStatus")
                }
                keys.append(
                    ManagedKey(
                        id: id, appkey: appkey, keyStoreId: store.id, name: item["name"]?.stringValue ?? "",
                        description: item["description"]?.stringValue ?? "", type: type, status: status,
                        autoRotationPeriod: item["autoRotationPeriod"]?.intValue ?? 0,
                        nextRotationAt: item["nextAutoRotationDate"]?.stringValue.flatMap(Self.time),
                        deletionAt: item["deletionDatetime"]?.stringValue.flatMap(Self.time),
                        latestVersion: item["currentKeyValueVersion"]?.intValue ?? 0,
                        created: stamp(item, "creation") ?? unknownStamp,
                        lastChange: stamp(item, "lastChange") ?? unknownStamp))
            }
            if list.count < 100 { break }
        }
        return keys
    }

    private func entry(
        _ detail: JSONValue, id: Int, store: KeyStore, kind: AuthKind, value: String, unknownStamp: Stamp
    ) -> AuthEntry {
        // A certificate entry's password is in the answer; it is never kept.
        AuthEntry(
            id: id, appkey: appkey, keyStoreId: store.id, kind: kind, value: value,
            description: detail["description"]?.stringValue ?? "",
            status: detail["status"]?.stringValue.flatMap(EntryStatus.init) ?? .inService,
            deletionAt: detail["deletionDatetime"]?.stringValue.flatMap(Self.time),
            created: stamp(detail, "creation") ?? unknownStamp, lastChange: stamp(detail, "lastChange") ?? unknownStamp)
    }

    func path(_ rest: String) -> String {
        "/keymanager/\(version)/appkey/\(appkey)/\(rest)"
    }

    func stamp(_ item: JSONValue, _ prefix: String) -> Stamp? {
        guard let time = item["\(prefix)Datetime"]?.stringValue.flatMap(Self.time) else { return nil }
        return Stamp(user: item["\(prefix)User"]?.stringValue ?? "unknown", at: time)
    }

    /// SKM's API times: `2026-11-27T15:24:50.123` (UTC, no zone), or RFC 3339.
    static func time(_ text: String) -> Date? {
        Timestamp.parse(text) ?? Timestamp.parse(text + "Z")
    }
}

/// Why the key manager's state could not be read through its API; its subject is the API path asked.
package typealias StateFetchError = CodedFailure<StateFetchErrorCode>

package enum StateFetchErrorCode: String, ErrorCode {
    /// The server refused the call (its resultMessage and HTTP status are the reason).
    case refused
    /// The answer is not what the API documents.
    case malformed
    /// The answer is larger than any state can be.
    case tooLarge
    /// The server redirected; the credentials are not sent after a redirect.
    case redirected
    /// The URL is not an http(s) URL.
    case invalidURL
    /// The CA given to trust is not a PEM certificate.
    case invalidCA
    /// Plain HTTP, which would send the secret unencrypted, was not allowed (or not to that host).
    case plainHTTP
    /// The appkey, the User Access Key id or its secret cannot be sent as they are.
    case invalidCredentials
    /// The server could not be read: it refused or could not be reached, or one of the above.
    case unreachable
}
