import Foundation

/// Storage in memory, for tests and for analysing a snapshot. Same behaviour as the SQL implementations,
/// checked by the same conformance suite.
package actor InMemoryStorage: Storage {
    private var settings: [String: Data] = [:]
    private var sequences: [IdentifierSequence: Int] = [:]
    private var appkeyRows: [String: Appkey] = [:]
    private var userAccessKeyRows: [String: UserAccessKey] = [:]
    private var keyStoreRows: [Int: KeyStore] = [:]
    private var keyRows: [String: ManagedKey] = [:]
    private var versionRows: [String: [Int: KeyVersion]] = [:]
    private var authEntryRows: [Int: AuthEntry] = [:]
    private var sealedItems: [String: Data] = [:]
    private var eventRows: [AuditEvent] = []
    private var callCountRows: [UsageCell: Int] = [:]

    package init() {}

    package func setting(_ name: String) -> Data? { settings[name] }
    package func settings(prefix: String) -> [String: Data] { settings.filter { $0.key.hasPrefix(prefix) } }

    package func nextIdentifier(for sequence: IdentifierSequence) -> Int {
        let next = (sequences[sequence] ?? 0) + 1
        sequences[sequence] = next
        return next
    }

    package func appkey(id: String) -> Appkey? { appkeyRows[id] }
    package func appkeys() -> [Appkey] { appkeyRows.values.sorted { $0.id < $1.id } }
    package func userAccessKey(id: String) -> UserAccessKey? { userAccessKeyRows[id] }
    package func userAccessKeys(appkey: String) -> [UserAccessKey] {
        userAccessKeyRows.values.filter { $0.appkey == appkey }.sorted { $0.id < $1.id }
    }
    package func keyStore(id: Int) -> KeyStore? { keyStoreRows[id] }
    package func keyStores(appkey: String) -> [KeyStore] {
        keyStoreRows.values.filter { $0.appkey == appkey }.sorted { $0.id < $1.id }
    }
    package func key(id: String) -> ManagedKey? { keyRows[id] }
    package func keys(keyStoreId: Int) -> [ManagedKey] {
        keyRows.values.filter { $0.keyStoreId == keyStoreId }.sorted { ($0.created.at, $0.id) < ($1.created.at, $1.id) }
    }
    package func versions(keyId: String) -> [KeyVersion] {
        (versionRows[keyId] ?? [:]).values.sorted { $0.number < $1.number }
    }
    package func authEntry(id: Int) -> AuthEntry? { authEntryRows[id] }
    package func authEntries(keyStoreId: Int) -> [AuthEntry] {
        authEntryRows.values.filter { $0.keyStoreId == keyStoreId }.sorted { $0.id < $1.id }
    }
    package func sealedItem(_ context: SealContext) -> Data? { sealedItems[context.label] }

    package func keyContext(keyId: String) -> KeyContext? {
        guard let key = keyRows[keyId] else { return nil }
        let versions = versions(keyId: keyId)
        var material: [Int: Data] = [:]
        for number in Set(versions.map(\.number) + [0]) {
            if let sealed = sealedItems[SealContext.keyMaterial(keyId: keyId, version: number).label] {
                material[number] = sealed
            }
        }
        return KeyContext(
            key: key, store: keyStoreRows[key.keyStoreId], versions: versions,
            authEntries: authEntries(keyStoreId: key.keyStoreId), sealedMaterial: material)
    }

    package func events(after sequence: Int, limit: Int) -> [AuditEvent] {
        Array(eventRows.lazy.filter { $0.sequence > sequence }.prefix(limit))
    }

    package func callCounts(appkey: String, from: String, through: String) -> [UsageCell: Int] {
        callCountRows.filter { $0.key.appkey == appkey && $0.key.day >= from && $0.key.day <= through }
    }

    package func dueWork(at now: Date) -> DueWork {
        DueWork(
            keysToPurge: keyRows.values.filter {
                $0.status == .pendingDeletion && ($0.deletionAt ?? .distantFuture) <= now
            }
            .sorted { $0.id < $1.id },
            versionsToPurge: versionRows.values.flatMap(\.values).filter {
                $0.status == .pendingDeletion && ($0.deletionAt ?? .distantFuture) <= now
            }.sorted { ($0.keyId, $0.number) < ($1.keyId, $1.number) },
            entriesToPurge: authEntryRows.values.filter {
                $0.status == .pendingDeletion && ($0.deletionAt ?? .distantFuture) <= now
            }.sorted { $0.id < $1.id },
            keysToRotate: keyRows.values.filter {
                $0.status == .active && $0.autoRotationPeriod > 0 && ($0.nextRotationAt ?? .distantFuture) <= now
            }.sorted { $0.id < $1.id })
    }

    package func exportState() -> StoredState {
        var state = StoredState()
        state.appkeys = appkeys()
        state.userAccessKeys = userAccessKeyRows.values.sorted { $0.id < $1.id }
        state.keyStores = keyStoreRows.values.sorted { $0.id < $1.id }
        state.keys = keyRows.values.sorted { $0.id < $1.id }
        state.versions = versionRows.values.flatMap(\.values).sorted { ($0.keyId, $0.number) < ($1.keyId, $1.number) }
        state.authEntries = authEntryRows.values.sorted { $0.id < $1.id }
        state.events = eventRows
        return state
    }

    package func commit(_ changes: ChangeSet) throws {
        // Work on copies; publish only when every mutation applied, so a failed commit leaves nothing behind.
        var copy = Tables(
            appkeys: appkeyRows, userAccessKeys: userAccessKeyRows, keyStores: keyStoreRows, keys: keyRows,
            versions: versionRows, authEntries: authEntryRows, sealed: sealedItems, settings: settings,
            events: eventRows, callCounts: callCountRows)
        for id in changes.actingAccessKeys where userAccessKeyRows[id]?.status != .inService {
            throw StorageError(.actorRevoked, "User Access Key \(id) was revoked before the change was committed")
        }
        for mutation in changes.mutations {
            try copy.apply(mutation)
        }
        appkeyRows = copy.appkeys
        userAccessKeyRows = copy.userAccessKeys
        keyStoreRows = copy.keyStores
        keyRows = copy.keys
        versionRows = copy.versions
        authEntryRows = copy.authEntries
        sealedItems = copy.sealed
        settings = copy.settings
        eventRows = copy.events
        callCountRows = copy.callCounts
    }

    private struct Tables {
        var appkeys: [String: Appkey]
        var userAccessKeys: [String: UserAccessKey]
        var keyStores: [Int: KeyStore]
        var keys: [String: ManagedKey]
        var versions: [String: [Int: KeyVersion]]
        var authEntries: [Int: AuthEntry]
        var sealed: [String: Data]
        var settings: [String: Data]
        var events: [AuditEvent]
        var callCounts: [UsageCell: Int]

        mutating func apply(_ mutation: ChangeSet.Mutation) throws {
            switch mutation {
            case .insert(let record): try insert(record)
            case .update(let record): try update(record)
            case .putSealed(let context, let data): sealed[context.label] = data
            case .deleteSealed(let context): sealed[context.label] = nil
            case .deleteSealedItems(let prefix):
                for label in sealed.keys where label.hasPrefix(prefix) { sealed[label] = nil }
            case .putSetting(let name, let data): settings[name] = data
            case .insertSetting(let name, let data):
                guard settings[name] == nil else { throw StorageError(.duplicate, "the setting \(name) exists") }
                settings[name] = data
            case .swapSetting(let name, let expected, let new):
                guard settings[name] == expected else {
                    throw StorageError(.conflict, "the setting \(name) changed concurrently")
                }
                settings[name] = new
            case .requireKeyStoreRevision(let id, let revision):
                guard let store = keyStores[id] else { throw StorageError(.missing, "key store \(id) does not exist") }
                guard store.revision == revision else {
                    throw StorageError(.conflict, "key store \(id) changed concurrently")
                }
            case .addCallCounts(let counts):
                callCounts.merge(counts, uniquingKeysWith: +)
            case .recordAccess(let keyTimes, let entryTimes):
                for (id, time) in keyTimes where keys[id] != nil {
                    keys[id]!.lastAccessAt = max(keys[id]!.lastAccessAt ?? time, time)
                }
                for (id, time) in entryTimes where authEntries[id] != nil {
                    authEntries[id]!.lastAccessAt = max(authEntries[id]!.lastAccessAt ?? time, time)
                }
            case .requireLiveEntries(let id, let ids):
                let live = Set(authEntries.values.filter { $0.keyStoreId == id && $0.status != .deleted }.map(\.id))
                if live != ids { throw StorageError(.conflict, "key store \(id) gained an entry concurrently") }
            case .requireNoLiveKeys(let id):
                if keys.values.contains(where: { $0.keyStoreId == id && $0.status != .deleted }) {
                    throw StorageError(.conflict, "key store \(id) gained a key concurrently")
                }
            case .appendEvent(var event):
                event.sequence = (events.last?.sequence ?? 0) + 1
                events.append(event)
            }
        }

        mutating func insert(_ record: ChangeSet.Record) throws {
            switch record {
            case .appkey(let row):
                guard appkeys[row.id] == nil else { throw StorageError(.duplicate, "appkey \(row.id) exists") }
                appkeys[row.id] = row
            case .userAccessKey(let row):
                guard userAccessKeys[row.id] == nil else { throw StorageError(.duplicate, "UAK \(row.id) exists") }
                userAccessKeys[row.id] = row
            case .keyStore(let row):
                guard keyStores[row.id] == nil else { throw StorageError(.duplicate, "key store \(row.id) exists") }
                try checkStoreName(row)
                keyStores[row.id] = row
            case .key(let row):
                guard keys[row.id] == nil else { throw StorageError(.duplicate, "key \(row.id) exists") }
                keys[row.id] = row
            case .keyVersion(let row):
                guard versions[row.keyId]?[row.number] == nil else {
                    throw StorageError(.duplicate, "version \(row.number) of key \(row.keyId) exists")
                }
                versions[row.keyId, default: [:]][row.number] = row
            case .authEntry(let row):
                guard authEntries[row.id] == nil else { throw StorageError(.duplicate, "auth entry \(row.id) exists") }
                try checkEntryValue(row)
                authEntries[row.id] = row
            }
        }

        mutating func update(_ record: ChangeSet.Record) throws {
            func check(_ stored: Int?, _ expected: Int, _ what: String) throws {
                guard let stored else { throw StorageError(.missing, "\(what) does not exist") }
                guard stored == expected else { throw StorageError(.conflict, "\(what) changed concurrently") }
            }
            switch record {
            case .appkey(let row):
                guard appkeys[row.id] != nil else { throw StorageError(.missing, "appkey \(row.id) does not exist") }
                appkeys[row.id] = row
            case .userAccessKey(var row):
                try check(userAccessKeys[row.id]?.revision, row.revision, "UAK \(row.id)")
                row.revision += 1
                userAccessKeys[row.id] = row
            case .keyStore(var row):
                try check(keyStores[row.id]?.revision, row.revision, "key store \(row.id)")
                try checkStoreName(row)
                row.revision += 1
                keyStores[row.id] = row
            case .key(var row):
                try check(keys[row.id]?.revision, row.revision, "key \(row.id)")
                row.revision += 1
                row.lastAccessAt = keys[row.id]?.lastAccessAt
                keys[row.id] = row
            case .keyVersion(var row):
                try check(
                    versions[row.keyId]?[row.number]?.revision, row.revision,
                    "version \(row.number) of key \(row.keyId)")
                row.revision += 1
                versions[row.keyId, default: [:]][row.number] = row
            case .authEntry(var row):
                try check(authEntries[row.id]?.revision, row.revision, "auth entry \(row.id)")
                try checkEntryValue(row)
                row.revision += 1
                row.lastAccessAt = authEntries[row.id]?.lastAccessAt
                authEntries[row.id] = row
            }
        }

        func checkStoreName(_ row: KeyStore) throws {
            guard row.status == .active else { return }
            if keyStores.values.contains(where: {
                $0.id != row.id && $0.appkey == row.appkey && $0.status == .active && $0.name == row.name
            }) {
                throw StorageError(.duplicate, "a key store named '\(row.name)' exists")
            }
        }

        func checkEntryValue(_ row: AuthEntry) throws {
            guard row.status != .deleted else { return }
            if authEntries.values.contains(where: {
                $0.id != row.id && $0.keyStoreId == row.keyStoreId && $0.kind == row.kind && $0.status != .deleted
                    && $0.value == row.value
            }) {
                throw StorageError(.duplicate, "\(row.kind.displayName) '\(row.value)' is already registered")
            }
        }
    }
}
