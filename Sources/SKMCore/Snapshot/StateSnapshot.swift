import Crypto
import Foundation
import SKMPrimitives
import X509

/// The whole state of a key manager at one moment, without key material, secrets or UAK secrets, with its audit
/// events: what the analyser reads. Described by `Schemas/state.schema.json`.
package struct StateSnapshot: Sendable, Codable, Equatable {
    package static let currentSchema = "skm-state/1"

    /// Where the snapshot came from.
    package struct Source: Sendable, Codable, Equatable {
        /// `database` (from `skm snapshot export`) or `api` (from `skm snapshot fetch`).
        package var kind: String
        /// The database path or the base URL; never a credential.
        package var location: String?

        package init(kind: String, location: String? = nil) {
            self.kind = kind
            self.location = location
        }
    }

    /// The public half of the installation's CA.
    package struct Authority: Sendable, Codable, Equatable {
        package var subject: String
        package var sha256: String
        package var notBefore: Date
        package var notAfter: Date
        package var certificatePEM: String

        package init(_ certificate: Certificate) {
            subject = certificate.subject.description
            sha256 = certificate.sha256Fingerprint
            (notBefore, notAfter) = certificate.validityPeriod
            certificatePEM = certificate.pemString
        }
    }

    /// A User Access Key, id only.
    package struct AccessKey: Sendable, Codable, Equatable {
        package var id: String
        package var appkey: String
        package var status: AccessKeyStatus
        package var created: Stamp

        package init(id: String, appkey: String, status: AccessKeyStatus, created: Stamp) {
            self.id = id
            self.appkey = appkey
            self.status = status
            self.created = created
        }
    }

    package var schema: String
    package var generatedAt: Date
    package var source: Source
    package var certificateAuthority: Authority?
    package var appkeys: [Appkey]
    package var userAccessKeys: [AccessKey]
    package var keyStores: [KeyStore]
    package var keys: [ManagedKey]
    package var keyVersions: [KeyVersion]
    package var authEntries: [AuthEntry]
    package var events: [AuditEvent]

    package init(
        generatedAt: Date, source: Source, certificateAuthority: Authority?, appkeys: [Appkey] = [],
        userAccessKeys: [AccessKey] = [], keyStores: [KeyStore] = [], keys: [ManagedKey] = [],
        keyVersions: [KeyVersion] = [], authEntries: [AuthEntry] = [], events: [AuditEvent] = []
    ) {
        self.schema = Self.currentSchema
        self.generatedAt = generatedAt
        self.source = source
        self.certificateAuthority = certificateAuthority
        self.appkeys = appkeys
        self.userAccessKeys = userAccessKeys
        self.keyStores = keyStores
        self.keys = keys
        self.keyVersions = keyVersions
        self.authEntries = authEntries
        self.events = events
    }

    /// Encodes as indented JSON with sorted keys and RFC 3339 times, so that snapshots diff well.
    package func jsonData() throws -> Data {
        try StateCoding.encoder().encode(self)
    }

    /// SHA-256 of the snapshot's JSON, hex: two snapshots with the same digest hold the same state.
    package var digest: String {
        let data = (try? StateCoding.encoder(indented: false).encode(self)) ?? Data()
        return SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }

    /// Reads a snapshot file's bytes, or says in one line what is wrong with them: not JSON (and where), or the JSON
    /// path of the field that is wrong and how. `name` names the file in the message.
    package static func read(_ data: Data, name: String) throws(CoreError) -> StateSnapshot {
        let data = ByteOrderMark.utf8Text(of: data)
        do {
            _ = try JSONParser(maximumDepth: 256).parse(Array(data))
        } catch {
            throw CoreError(.storage, "\(name): not a state snapshot: not JSON: \(error)")
        }
        do {
            return try decode(data)
        } catch let error as DecodingError {
            throw CoreError(.storage, "\(name): not a state snapshot: \(describe(error))")
        } catch let error as CoreError {
            throw CoreError(.storage, "\(name): \(error.reason)")
        } catch {
            throw CoreError(.storage, "\(name): not a state snapshot: \(error)")
        }
    }

    /// A decoding error as the JSON path of the field and what is wrong with it.
    package static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let components = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }
            return components.isEmpty ? "the document" : "field '\(components.joined().drop { $0 == "." })'"
        }
        switch error {
        case .keyNotFound(let key, let context): return "\(path(context)): missing '\(key.stringValue)'"
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            return "\(path(context)): \(context.debugDescription)"
        @unknown default: return String(describing: error)
        }
    }

    /// Decodes a snapshot; errors name the JSON path of the field that is wrong.
    package static func decode(_ data: Data) throws -> StateSnapshot {
        let snapshot = try StateCoding.decoder().decode(StateSnapshot.self, from: data)
        guard snapshot.schema == currentSchema else {
            throw CoreError(.storage, "unsupported snapshot schema '\(snapshot.schema)' (expected \(currentSchema))")
        }
        try snapshot.validateEvents()
        return snapshot
    }
}

extension Engine {
    /// The whole state as a snapshot.
    package func snapshot(location: String? = nil) async throws -> StateSnapshot {
        try await StateSnapshot.export(from: storage, at: clock.now, location: location)
    }
}

extension StateSnapshot {
    /// The whole state of `storage` as a snapshot. Needs no root key: the snapshot holds no key material, and the
    /// CA certificate is public, so support staff can export the state of a database they were given.
    package static func export(
        from storage: any Storage, at now: Date, location: String? = nil
    ) async throws
        -> StateSnapshot
    {
        // An empty state would explain every refusal as a mismatch: a database never initialised is said to be one.
        guard try await storage.setting(Engine.systemKeySetting) != nil else {
            throw CoreError(
                .notInitialized, "this database has not been initialised (`skm init`): it holds no state to export")
        }
        let state = try await storage.exportState()
        var authority: Authority?
        if let pem = try await storage.setting(Engine.authorityCertificateSetting) {
            do {
                authority = Authority(try Certificate(pemEncoded: String(decoding: pem, as: UTF8.self)))
            } catch {
                throw CoreError(.certificate, "the stored CA certificate does not load")
            }
        }
        return StateSnapshot(
            generatedAt: now, source: .init(kind: "database", location: location), certificateAuthority: authority,
            appkeys: state.appkeys,
            userAccessKeys: state.userAccessKeys.map {
                .init(id: $0.id, appkey: $0.appkey, status: $0.status, created: $0.created)
            }, keyStores: state.keyStores, keys: state.keys, keyVersions: state.versions,
            authEntries: state.authEntries, events: state.events)
    }
}

/// The JSON coding of state values (snapshots, `--json` output): sorted keys, RFC 3339 times with milliseconds.
package enum StateCoding {
    package static func encoder(indented: Bool = true) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = indented ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(Timestamp.rfc3339(date))
        }
        return encoder
    }

    package static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = Timestamp.parse(text) else {
                throw DecodingError.dataCorruptedError(
                    in: container, debugDescription: "'\(text.prefix(40))' is not an RFC 3339 time")
            }
            return date
        }
        return decoder
    }
}
