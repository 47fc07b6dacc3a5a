import ArgumentParser
import Foundation
import Logging
import SKMCore
import SKMPrimitives
import SKMServer
import SKMStorage

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the SKM REST API over HTTPS with client certificates, and log every request.",
        discussion: """
            Listens on 127.0.0.1:8443 by default, over HTTPS with a certificate the installation's CA issues on first \
            start (or --tls-cert/--tls-key). Clients may present a client certificate; one that is absent, untrusted \
            or expired is answered with the documented JSON error, never a dropped connection. --insecure-http serves \
            plain HTTP instead (certificate authentication then always fails, with that reason).

            Every API request is appended to the request log (default requests.jsonl next to the database) as one \
            JSON object. With --request-log-sync interval (the default) records are written and synced to disk every \
            second, so a crash of the process or the machine loses at most the last second's records; with always, \
            each record is on disk before its answer is sent (concurrent requests share a sync). The last use of keys \
            and entries (lastAccessDatetime) is written once a minute. Automatic rotation and the 7-day deletion \
            purge run every --job-interval seconds. SIGTERM or SIGINT shut down gracefully: requests in flight finish, \
            then the log and the last uses are written.
            """)

    @OptionGroup var installation: InstallationOptions

    @Option(help: "The address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "The HTTPS port (0: any free port).")
    var port = 8443

    @Option(
        help: ArgumentHelp("A PEM certificate chain to serve instead of the installation's own.", valueName: "path"))
    var tlsCert: String?

    @Option(help: ArgumentHelp("The PEM private key of --tls-cert.", valueName: "path"))
    var tlsKey: String?

    @Option(
        name: .customLong("tls-host"),
        help: "A host name or address the installation's server certificate names (repeatable).")
    var tlsHosts: [String] = []

    @Flag(help: "Serve plain HTTP instead of HTTPS (local use only).")
    var insecureHTTP = false

    @Option(help: "Also serve plain HTTP on this port (local tools).")
    var plainHTTPPort: Int?

    @Option(
        name: .customLong("trusted-proxy"),
        help: ArgumentHelp("A proxy address or CIDR whose X-Forwarded-For is believed (repeatable).", valueName: "cidr")
    )
    var trustedProxies: [String] = []

    @Option(help: ArgumentHelp("The request log (JSON Lines).", valueName: "path"))
    var requestLog: String?

    @Flag(help: "Keep no request log.")
    var noRequestLog = false

    @Option(
        name: .customLong("request-log-sync"),
        help: ArgumentHelp(
            "When records reach the disk: every second (interval), or before each answer (always).",
            valueName: "interval|always"))
    var requestLogSync: RequestLogSyncArgument = .interval

    @Flag(
        name: .customLong("v1-0-reads-need-credentials"),
        help: """
            Ask for a User Access Key or token on the v1.0 reads (key stores, keys, auth entries), as later versions \
            do. Off by default: the v1.0 API guide serves them on the appkey alone.
            """)
    var v1_0ReadsNeedCredentials = false

    @Option(help: "Seconds between runs of automatic rotation and the deletion purge.")
    var jobInterval = 60

    @Option(help: "The largest request body in bytes.")
    var maxBodyBytes = 256 * 1024

    @Option(help: "The most connections open at once; one more is closed at once.")
    var maxConnections = 4096

    @Option(
        help:
            "Seconds a cached key or appkey is trusted before it is read again; changes made by other processes (the command line) take effect within this time."
    )
    var cacheSeconds = 1.0

    @Option(help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel = "info"

    func validate() throws {
        if (tlsCert == nil) != (tlsKey == nil) { throw ValidationError("--tls-cert and --tls-key go together") }
        if insecureHTTP && tlsCert != nil { throw ValidationError("--insecure-http and --tls-cert exclude each other") }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("unknown --log-level '\(logLevel)'")
        }
        guard jobInterval > 0 else { throw ValidationError("--job-interval must be positive") }
        guard cacheSeconds >= 0, cacheSeconds <= 3600 else {
            throw ValidationError("--cache-seconds must be 0 to 3600")
        }
    }

    func run() async throws {
        var proxies: [IPv4Network] = []
        for text in trustedProxies {
            switch IPv4Network.parse(text) {
            case .success(let network): proxies.append(network)
            case .failure(let failure): throw CommandFailure.usage("--trusted-proxy '\(text)': \(failure)")
            }
        }
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = PrintableLogHandler(StreamLogHandler.standardError(label: label))
            handler.logLevel = level
            return handler
        }
        let database = try await installation.openStorage()
        let storage = CachingStorage(database, lifetime: .milliseconds(Int(cacheSeconds * 1000)))
        // On PostgreSQL other nodes change the state too: each of their commits empties this node's cache, and
        // the cache's lifetime bounds what a lost notification could leave stale.
        let listening = (database as? PostgresStorage).map { postgres in
            Task { await postgres.listenForChanges { storage.invalidate() } }
        }
        defer { listening?.cancel() }
        let engine = try await Engine.open(
            storage: storage, rootKey: try installation.rootKey(),
            configuration: .init(v1_0ReadsNeedCredentials: v1_0ReadsNeedCredentials))
        let tls: ServerConfiguration.TLS
        if insecureHTTP {
            tls = .none
        } else if let tlsCert, let tlsKey {
            tls = .files(certificateChain: tlsCert, privateKey: tlsKey)
        } else {
            tls = .installation(
                hosts: tlsHosts.isEmpty ? Array(Set(["localhost", "127.0.0.1", host])).sorted() : tlsHosts)
        }
        let logPath =
            noRequestLog
            ? nil
            : requestLog
                ?? installation.localDirectory.appendingPathComponent("requests.jsonl").path
        if requestLog == nil, !noRequestLog, installation.isPostgres {
            // With PostgreSQL the default log is in ./.skm, which a new node may not have yet.
            try? FileManager.default.createDirectory(
                at: installation.localDirectory, withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700])
        }
        let host = self.host
        let configuration = ServerConfiguration(
            engine: engine, host: host, port: port, tls: tls, plainHTTPPort: plainHTTPPort, trustedProxies: proxies,
            maxBodyBytes: maxBodyBytes, maxConnections: maxConnections, requestLogPath: logPath,
            requestLogSync: requestLogSync == .always ? .always : .interval(.seconds(1)),
            jobInterval: .seconds(jobInterval),
            logger: Logger(label: "skm"),
            onListening: { port, tls in
                Terminal.note("Listening on \(tls ? "https" : "http")://\(host):\(port)")
            })
        if let logPath { Terminal.note("Request log: \(logPath)") }
        let application = try await buildApplication(configuration)
        try await application.runService()
        // Everything is written; leave it all in the database file.
        if let sqlite = database as? SQLiteStorage {
            do {
                try sqlite.checkpoint()
            } catch {
                Terminal.note("The write-ahead log was not folded into \(sqlite.path): \(error)")
            }
        }
    }
}

/// `--request-log-sync`.
enum RequestLogSyncArgument: String, ExpressibleByArgument, CaseIterable {
    case interval, always
}
