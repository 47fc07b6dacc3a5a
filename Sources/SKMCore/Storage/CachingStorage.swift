import Foundation
import Synchronization

/// A read-through cache in front of another storage, for the server's hot path: the appkey and key-context reads
/// of every data call.
///
/// Every commit through this storage empties the cache, so this process always reads its own writes. Changes made by
/// another process (the command line, another server on the same database) are seen once an entry is
/// older than `lifetime`. A read that raced with a commit is not cached.
///
/// Requests that miss the same entry at once share one read of the base: when an entry expires under load, every
/// request in flight would otherwise read it again (a key store's hundreds of entries, each time). A request that
/// starts after a commit never shares a read that started before it.
package final class CachingStorage: Storage {
    private struct Entry<Value> {
        var value: Value
        var expires: ContinuousClock.Instant
    }

    /// What a read-through finds: a cached value, a read in flight, or the read it is to make.
    private enum Found<Value: Sendable> {
        case cached(Value)
        case inFlight(Flight<Value>)
        case started(Flight<Value>)
    }

    /// One read of the base in flight, the generation it started in, and the requests waiting for its result. The
    /// request that started it reads in its own task; the others wait here.
    private final class Flight<Value: Sendable>: Sendable {
        private struct Waiting {
            var result: Result<Value, any Error>?
            var waiters: [CheckedContinuation<Value, any Error>] = []
        }

        let generation: Int
        private let waiting = Mutex(Waiting())

        init(generation: Int) {
            self.generation = generation
        }

        /// The read's value (or error), once it is there.
        func value() async throws -> Value {
            try await withCheckedThrowingContinuation { continuation in
                let result = waiting.withLock { waiting -> Result<Value, any Error>? in
                    if let result = waiting.result { return result }
                    waiting.waiters.append(continuation)
                    return nil
                }
                if let result { continuation.resume(with: result) }
            }
        }

        func finish(_ result: Result<Value, any Error>) {
            let waiters = waiting.withLock { waiting in
                waiting.result = result
                defer { waiting.waiters = [] }
                return waiting.waiters
            }
            for waiter in waiters { waiter.resume(with: result) }
        }
    }

    private struct State {
        var generation = 0
        var appkeys: [String: Entry<Appkey?>] = [:]
        var contexts: [String: Entry<KeyContext?>] = [:]
        var loadingAppkeys: [String: Flight<Appkey?>] = [:]
        var loadingContexts: [String: Flight<KeyContext?>] = [:]
    }

    package let base: any Storage
    package let lifetime: Duration
    /// At most this many entries of each kind; more empties that kind (unknown ids cannot grow memory without bound).
    package let capacity: Int
    private let state = Mutex(State())

    package init(_ base: any Storage, lifetime: Duration = .seconds(1), capacity: Int = 50_000) {
        self.base = base
        self.lifetime = lifetime
        self.capacity = capacity
    }

    /// Forgets everything cached.
    package func invalidate() {
        state.withLock { state in
            state.generation += 1
            state.appkeys.removeAll(keepingCapacity: true)
            state.contexts.removeAll(keepingCapacity: true)
        }
    }

    package func appkey(id: String) async throws -> Appkey? {
        try await readThrough(id, cache: \.appkeys, loading: \.loadingAppkeys) { [base] in
            try await base.appkey(id: id)
        }
    }

    package func keyContext(keyId: String) async throws -> KeyContext? {
        try await readThrough(keyId, cache: \.contexts, loading: \.loadingContexts) { [base] in
            try await base.keyContext(keyId: keyId)
        }
    }

    /// The appkey `id` as the cache holds it, without reading the base: `.some` with what ``appkey(id:)`` would
    /// answer now (`.some(nil)` for an appkey known not to exist) while the entry is fresh, `nil` when only the base
    /// can tell. A synchronous read for the data-call path, where awaiting the storage costs an executor hop per
    /// request even when the answer is in memory.
    package func cachedAppkey(id: String) -> Appkey?? {
        fresh { $0.appkeys[id] }
    }

    /// The key context of `keyId` as the cache holds it, without reading the base; as ``cachedAppkey(id:)``.
    package func cachedKeyContext(keyId: String) -> KeyContext?? {
        fresh { $0.contexts[keyId] }
    }

    /// The value of the entry `find` picks, while it is fresh; `nil` when there is none or it expired.
    private func fresh<Value: Sendable>(_ find: (State) -> Entry<Value>?) -> Value? {
        let now = ContinuousClock.now
        return state.withLock { state in
            guard let entry = find(state), entry.expires > now else { return nil }
            return entry.value
        }
    }

    /// The cached value under `key`; else the result of the read of it in flight in this generation; else a new
    /// read, whose value is kept for `lifetime` unless a commit came in the meantime.
    private func readThrough<Value: Sendable>(
        _ key: String, cache: any WritableKeyPath<State, [String: Entry<Value>]> & Sendable,
        loading: any WritableKeyPath<State, [String: Flight<Value>]> & Sendable,
        read: @Sendable () async throws -> Value
    ) async throws -> Value {
        let now = ContinuousClock.now
        let found = state.withLock { state -> Found<Value> in
            if let entry = state[keyPath: cache][key], entry.expires > now { return .cached(entry.value) }
            if let flight = state[keyPath: loading][key], flight.generation == state.generation {
                return .inFlight(flight)
            }
            let flight = Flight<Value>(generation: state.generation)
            state[keyPath: loading][key] = flight
            return .started(flight)
        }
        switch found {
        case .cached(let value):
            return value
        case .inFlight(let flight):
            do {
                return try await flight.value()
            } catch is CancellationError where !Task.isCancelled {
                // The request that made the read was cancelled, not this one: read for itself.
                return try await read()
            }
        case .started(let flight):
            let result: Result<Value, any Error>
            do {
                result = .success(try await read())
            } catch {
                result = .failure(error)
            }
            state.withLock { state in
                if state[keyPath: loading][key] === flight { state[keyPath: loading][key] = nil }
                guard case .success(let value) = result, state.generation == flight.generation else { return }
                if state[keyPath: cache].count >= capacity { state[keyPath: cache].removeAll(keepingCapacity: true) }
                state[keyPath: cache][key] = Entry(value: value, expires: now + lifetime)
            }
            flight.finish(result)
            return try result.get()
        }
    }

    package func commit(_ changes: ChangeSet) async throws {
        defer { invalidate() }
        try await base.commit(changes)
    }

    package func setting(_ name: String) async throws -> Data? { try await base.setting(name) }
    package func settings(prefix: String) async throws -> [String: Data] { try await base.settings(prefix: prefix) }
    package func nextIdentifier(for sequence: IdentifierSequence) async throws -> Int {
        try await base.nextIdentifier(for: sequence)
    }
    package func appkeys() async throws -> [Appkey] { try await base.appkeys() }
    package func userAccessKey(id: String) async throws -> UserAccessKey? { try await base.userAccessKey(id: id) }
    package func userAccessKeys(appkey: String) async throws -> [UserAccessKey] {
        try await base.userAccessKeys(appkey: appkey)
    }
    package func keyStore(id: Int) async throws -> KeyStore? { try await base.keyStore(id: id) }
    package func keyStores(appkey: String) async throws -> [KeyStore] { try await base.keyStores(appkey: appkey) }
    package func key(id: String) async throws -> ManagedKey? { try await base.key(id: id) }
    package func keys(keyStoreId: Int) async throws -> [ManagedKey] { try await base.keys(keyStoreId: keyStoreId) }
    package func versions(keyId: String) async throws -> [KeyVersion] { try await base.versions(keyId: keyId) }
    package func authEntry(id: Int) async throws -> AuthEntry? { try await base.authEntry(id: id) }
    package func authEntries(keyStoreId: Int) async throws -> [AuthEntry] {
        try await base.authEntries(keyStoreId: keyStoreId)
    }
    package func sealedItem(_ context: SealContext) async throws -> Data? { try await base.sealedItem(context) }
    package func events(after sequence: Int, limit: Int) async throws -> [AuditEvent] {
        try await base.events(after: sequence, limit: limit)
    }
    package func dueWork(at now: Date) async throws -> DueWork { try await base.dueWork(at: now) }
    package func callCounts(appkey: String, from: String, through: String) async throws -> [UsageCell: Int] {
        try await base.callCounts(appkey: appkey, from: from, through: through)
    }
    package func exportState() async throws -> StoredState { try await base.exportState() }
    package func exclusively<T: Sendable>(_ job: String, _ body: () async throws -> T) async throws -> T? {
        try await base.exclusively(job, body)
    }
}
