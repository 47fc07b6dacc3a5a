import Foundation
import Logging
import PostgresNIO
import SKMStorage

/// The PostgreSQL server the tests use: the one `scripts/postgres.sh start` started and `scripts/test.sh` names in
/// `SKM_TEST_POSTGRES_URL` (its password in the file `SKM_TEST_POSTGRES_PASSWORD_FILE`). Each test gets a database
/// of its own on it.
package enum TestPostgres {
    package static let url = ProcessInfo.processInfo.environment["SKM_TEST_POSTGRES_URL"]

    package static var isAvailable: Bool { url != nil }

    /// Why the PostgreSQL tests cannot run, and how to let them.
    package static let unavailable =
        "SKM_TEST_POSTGRES_URL is not set, so the tests on PostgreSQL did not run: scripts/test.sh starts a "
        + "throwaway server with scripts/postgres.sh and sets it; to run `swift test` alone, run "
        + "`scripts/postgres.sh start DIR` and export the two variables it prints"

    package static var password: String? {
        guard let file = ProcessInfo.processInfo.environment["SKM_TEST_POSTGRES_PASSWORD_FILE"],
            let text = try? String(contentsOfFile: file, encoding: .utf8)
        else { return ProcessInfo.processInfo.environment["SKM_TEST_POSTGRES_PASSWORD"] }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    package struct Unavailable: Error, CustomStringConvertible {
        package var description: String { TestPostgres.unavailable }
    }

    /// A new, empty database on the test server, named for the test run.
    package static func freshDatabase() async throws -> PostgresStorage.Location {
        guard let url else { throw Unavailable() }
        var location = try PostgresStorage.Location(url: url)
        let name = "skm_t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let configuration = PostgresClient.Configuration(
            host: location.host, port: location.port, username: location.username, password: password,
            database: location.database, tls: .disable)
        let client = PostgresClient(
            configuration: configuration,
            backgroundLogger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        let runner = Task { await client.run() }
        defer { runner.cancel() }
        try await client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"))
        location.database = name
        return location
    }

    /// A storage on a new, empty database.
    package static func makeStorage(maximumConnections: Int = 8) async throws -> PostgresStorage {
        try await PostgresStorage(
            location: try await freshDatabase(), password: password, maximumConnections: maximumConnections)
    }

    /// Another connection pool on the database of `location`, as a second node would open it.
    package static func node(
        _ location: PostgresStorage.Location, maximumConnections: Int = 8, lockTimeout: Duration = .seconds(15),
        beforeCommit: (@Sendable () async -> Void)? = nil
    ) async throws -> PostgresStorage {
        try await PostgresStorage(
            location: location, password: password, maximumConnections: maximumConnections, lockTimeout: lockTimeout,
            beforeCommit: beforeCommit)
    }

    /// Runs `body` while a session of its own holds the lock every change takes, as a node stuck in the middle of
    /// a change would.
    package static func holdingTheWriteLock(
        _ location: PostgresStorage.Location, _ body: () async throws -> Void
    ) async throws {
        let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        let client = PostgresClient(
            configuration: PostgresClient.Configuration(
                host: location.host, port: location.port, username: location.username, password: password,
                database: location.database, tls: .disable),
            backgroundLogger: quiet)
        let runner = Task { await client.run() }
        defer { runner.cancel() }
        try await client.withConnection { connection in
            _ = try await connection.query("BEGIN", logger: quiet)
            _ = try await connection.query("LOCK TABLE events IN SHARE ROW EXCLUSIVE MODE", logger: quiet)
            try await body()
            _ = try await connection.query("ROLLBACK", logger: quiet)
        }
    }
}

/// Holds the first `parties` callers until all have arrived (or `patience` has passed), once; later callers pass.
package actor Rendezvous {
    private let parties: Int
    private let patience: Duration
    private var arrived = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []

    package init(parties: Int, patience: Duration = .seconds(3)) {
        self.parties = parties
        self.patience = patience
    }

    package func arrive() async {
        arrived += 1
        guard arrived <= parties else { return }
        if arrived == parties {
            let released = waiting
            waiting = []
            for continuation in released { continuation.resume() }
            return
        }
        let patience = patience
        Task { [weak self] in
            try? await Task.sleep(for: patience)
            await self?.releaseAll()
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    private func releaseAll() {
        arrived = max(arrived, parties)
        let released = waiting
        waiting = []
        for continuation in released { continuation.resume() }
    }
}
