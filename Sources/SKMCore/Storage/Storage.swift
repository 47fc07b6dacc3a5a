import Foundation
import SKMPrimitives
import Synchronization

/// Where the key manager keeps its state. Implementations: ``InMemoryStorage`` (tests), and `SQLiteStorage` and
/// `PostgresStorage` (SKMStorage).
///
/// Reads are individually consistent. Writes go through ``commit(_:)``, which applies a ``ChangeSet`` atomically
/// or not at all: every update names the revision it was computed from, and a row that moved on in the meantime
/// fails the whole commit with ``StorageError/Code/conflict`` so the caller can re-read and retry. That keeps
/// rotation and status changes atomic on one SQLite file, whichever processes share it.
package protocol Storage: Sendable {
    /// A named installation setting (the wrapped system key, the CA certificate, …).
    func setting(_ name: String) async throws -> Data?

    /// The settings whose names start with `prefix`, by name.
    func settings(prefix: String) async throws -> [String: Data]

    /// The next number of a sequence (key store ids, auth entry ids), never handed out twice.
    func nextIdentifier(for sequence: IdentifierSequence) async throws -> Int

    func appkey(id: String) async throws -> Appkey?
    func appkeys() async throws -> [Appkey]
    func userAccessKey(id: String) async throws -> UserAccessKey?
    func userAccessKeys(appkey: String) async throws -> [UserAccessKey]
    func keyStore(id: Int) async throws -> KeyStore?
    func keyStores(appkey: String) async throws -> [KeyStore]
    func key(id: String) async throws -> ManagedKey?
    func keys(keyStoreId: Int) async throws -> [ManagedKey]
    func versions(keyId: String) async throws -> [KeyVersion]
    func authEntry(id: Int) async throws -> AuthEntry?
    func authEntries(keyStoreId: Int) async throws -> [AuthEntry]
    func sealedItem(_ context: SealContext) async throws -> Data?

    /// Everything a data call needs about one key, read in one consistent step: the key, its store, versions,
    /// auth entries and the sealed material of versions that still have it.
    func keyContext(keyId: String) async throws -> KeyContext?

    /// Audit events with a sequence number above `sequence`, oldest first.
    /// The call statistics of `appkey` written so far, from UTC day `from` through `through` (`YYYY-MM-DD`).
    func callCounts(appkey: String, from: String, through: String) async throws -> [UsageCell: Int]
    func events(after sequence: Int, limit: Int) async throws -> [AuditEvent]

    /// What the background jobs must do at `now`: deletions that fell due and keys due for rotation.
    func dueWork(at now: Date) async throws -> DueWork

    /// The whole state (no sealed items, no settings), read consistently, for snapshots.
    func exportState() async throws -> StoredState

    /// Applies every mutation of `changes` atomically, or none.
    func commit(_ changes: ChangeSet) async throws

    /// Runs `body` unless another process sharing this storage is running the job named `job` (then `nil`,
    /// without running it): background work that must run on one node at a time.
    func exclusively<T: Sendable>(_ job: String, _ body: () async throws -> T) async throws -> T?
}

extension Storage {
    /// Storage one process owns needs no lock between processes: the job runs.
    package func exclusively<T: Sendable>(_ job: String, _ body: () async throws -> T) async throws -> T? {
        try await body()
    }
}

/// Named number sequences.
package struct IdentifierSequence: RawRepresentable, Hashable, Sendable {
    package var rawValue: String

    package init(rawValue: String) {
        self.rawValue = rawValue
    }

    package static let keyStore = IdentifierSequence(rawValue: "key_store")
    package static let authEntry = IdentifierSequence(rawValue: "auth_entry")

    /// The numbers of an appkey's change requests (approval workflow).
    package static func changeRequests(of appkey: String) -> IdentifierSequence {
        IdentifierSequence(rawValue: "change_request/\(appkey)")
    }
}

/// One key and everything around it.
///
/// The parts are held in one object: the cache hands a copy of a context to every data call, and copying it is then
/// one reference count instead of one for every string, array and dictionary in it (on a busy server, counts that two
/// cores fight over).
package struct KeyContext: Sendable {
    private final class Parts: Sendable {
        let key: ManagedKey
        let store: KeyStore?
        let versions: [KeyVersion]
        let authEntries: [AuthEntry]
        let clientEntries: ClientAuthenticator.Entries
        let sealedMaterial: [Int: Data]
        let opened = OpenedMaterial()

        init(
            key: ManagedKey, store: KeyStore?, versions: [KeyVersion], authEntries: [AuthEntry],
            sealedMaterial: [Int: Data]
        ) {
            self.key = key
            self.store = store
            self.versions = versions
            self.authEntries = authEntries
            clientEntries = ClientAuthenticator.Entries(authEntries)
            self.sealedMaterial = sealedMaterial
        }
    }

    private let parts: Parts

    package var key: ManagedKey { parts.key }
    package var store: KeyStore? { parts.store }
    package var versions: [KeyVersion] { parts.versions }
    package var authEntries: [AuthEntry] { parts.authEntries }
    /// `authEntries` made ready for client authentication, once per context rather than once per request.
    package var clientEntries: ClientAuthenticator.Entries { parts.clientEntries }
    /// Sealed material by version number, for versions whose material has not been destroyed.
    package var sealedMaterial: [Int: Data] { parts.sealedMaterial }
    /// The material of `sealedMaterial` once opened, shared by the copies of this context (a cached context opens
    /// each version once, not once per request).
    var opened: OpenedMaterial { parts.opened }

    package init(
        key: ManagedKey, store: KeyStore?, versions: [KeyVersion], authEntries: [AuthEntry],
        sealedMaterial: [Int: Data]
    ) {
        parts = Parts(
            key: key, store: store, versions: versions, authEntries: authEntries, sealedMaterial: sealedMaterial)
    }
}

/// Opened key material by version number, filled as versions are used, and for symmetric keys the AES-GCM key made
/// from it.
final class OpenedMaterial: Sendable {
    private let material = Mutex<[Int: Data]>([:])
    private let ciphers = Mutex<[Int: AESGCMKey]>([:])

    subscript(version: Int) -> Data? {
        get { material.withLock { $0[version] } }
        set { material.withLock { $0[version] = newValue } }
    }

    /// The AES-GCM key of `version`, made from `material` (its opened material) the first time it is asked for; `nil`
    /// when the material is not an AES-256 key.
    func cipher(version: Int, material: Data) -> AESGCMKey? {
        if let made = ciphers.withLock({ $0[version] }) { return made }
        guard let made = AESGCMKey(material: material) else { return nil }
        return ciphers.withLock { ciphers in
            if let first = ciphers[version] { return first }
            ciphers[version] = made
            return made
        }
    }
}

/// The background jobs' work list.
package struct DueWork: Sendable, Equatable {
    package var keysToPurge: [ManagedKey] = []
    package var versionsToPurge: [KeyVersion] = []
    package var entriesToPurge: [AuthEntry] = []
    package var keysToRotate: [ManagedKey] = []

    package init(
        keysToPurge: [ManagedKey] = [], versionsToPurge: [KeyVersion] = [], entriesToPurge: [AuthEntry] = [],
        keysToRotate: [ManagedKey] = []
    ) {
        self.keysToPurge = keysToPurge
        self.versionsToPurge = versionsToPurge
        self.entriesToPurge = entriesToPurge
        self.keysToRotate = keysToRotate
    }

    package var isEmpty: Bool {
        keysToPurge.isEmpty && versionsToPurge.isEmpty && entriesToPurge.isEmpty && keysToRotate.isEmpty
    }
}

/// All rows, as stored.
package struct StoredState: Sendable, Equatable {
    package var appkeys: [Appkey] = []
    package var userAccessKeys: [UserAccessKey] = []
    package var keyStores: [KeyStore] = []
    package var keys: [ManagedKey] = []
    package var versions: [KeyVersion] = []
    package var authEntries: [AuthEntry] = []
    package var events: [AuditEvent] = []

    package init() {}
}

/// A set of writes applied together.
package struct ChangeSet: Sendable {
    /// A row: inserted new, or replacing the stored row whose revision equals the record's `revision`.
    package enum Record: Sendable {
        case appkey(Appkey)
        case userAccessKey(UserAccessKey)
        case keyStore(KeyStore)
        case key(ManagedKey)
        case keyVersion(KeyVersion)
        case authEntry(AuthEntry)
    }

    package enum Mutation: Sendable {
        case insert(Record)
        /// Replaces the row with the same identity if its stored revision equals the record's; the stored revision
        /// becomes `revision + 1`.
        case update(Record)
        case putSealed(SealContext, Data)
        case deleteSealed(SealContext)
        /// Deletes every sealed item whose label starts with `prefix` (crypto-shredding a whole key).
        case deleteSealedItems(prefix: String)
        case putSetting(String, Data)
        /// Inserts a setting that must not exist yet; a ``StorageErrorCode/duplicate`` when it does.
        case insertSetting(String, Data)
        /// Replaces a setting that must still hold `expected` (`nil`: must not exist yet) with `new` (`nil`: deletes
        /// it); a ``StorageErrorCode/conflict`` when another change wrote it first.
        case swapSetting(String, expected: Data?, new: Data?)
        case appendEvent(AuditEvent)
        /// Checks, in the same transaction, that the key store is still at `revision`: what a change made *in* a key
        /// store (a key, an entry) requires, so that it conflicts with the store's deletion instead of outliving it.
        case requireKeyStoreRevision(id: Int, revision: Int)
        /// Checks, in the same transaction, that the key store holds no key In Service or Pending Deletion: what
        /// deleting it requires, so that a key created meanwhile makes the deletion conflict.
        case requireNoLiveKeys(keyStoreId: Int)
        /// Checks, in the same transaction, that the key store's entries not deleted are exactly `ids`: what deleting
        /// it with its entries requires, so that an entry registered meanwhile makes the deletion conflict.
        case requireLiveEntries(keyStoreId: Int, ids: Set<Int>)
        /// Moves the last use of keys and auth entries forward (never back), without counting as a change: no
        /// revision moves, no event is written. Rows that no longer exist are skipped.
        case recordAccess(keys: [String: Date], entries: [Int: Date])
        /// Adds to the call statistics: each cell's count grows by the number given (several nodes add theirs). Like
        /// ``recordAccess(keys:entries:)``, not a change of the key manager's state.
        case addCallCounts([UsageCell: Int])
    }

    package var mutations: [Mutation]

    /// The User Access Keys whose calls make these changes (their events' actors `uak:<id>`): each must still be in
    /// service when the changes commit, so that a revocation stops the calls already under way too.
    package var actingAccessKeys: Set<String> {
        var ids: Set<String> = []
        for case .appendEvent(let event) in mutations where event.actor.hasPrefix("uak:") {
            ids.insert(String(event.actor.dropFirst(4)))
        }
        return ids
    }

    package init(_ mutations: [Mutation] = []) {
        self.mutations = mutations
    }

    package mutating func append(_ mutation: Mutation) {
        mutations.append(mutation)
    }

    package var isEmpty: Bool { mutations.isEmpty }
}

/// A storage failure.
package typealias StorageError = CodedFailure<StorageErrorCode>

/// What kind of ``StorageError`` it is.
package enum StorageErrorCode: String, ErrorCode {
    /// A row changed since it was read; re-read and retry.
    case conflict
    /// A uniqueness rule was broken (a key store name, a registered value).
    case duplicate
    /// A row the change refers to does not exist.
    case missing
    /// The database is not usable (corrupt, wrong schema, unreadable).
    case unusable
    /// The User Access Key making the change was revoked before the change was committed.
    case actorRevoked
}
