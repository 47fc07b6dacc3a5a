import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import SKMCore
import SKMPrimitives
import SKMServer
import SKMStorage
import SKMTestSupport
import ServiceLifecycle
import Synchronization
import X509

/// A real server on 127.0.0.1 (any free port), over HTTPS with the installation's certificate and optionally a
/// plain-HTTP listener, with its request log in a temporary folder.
final class TestServer: Sendable {
    let fixture: Fixture
    let directory: URL
    let httpsPort: Int
    let httpPort: Int?
    let group: ServiceGroup
    let task: Task<Void, any Error>

    var logPath: String { directory.appendingPathComponent("requests.jsonl").path }
    var engine: Engine { fixture.engine }
    var appkey: String { fixture.appkey }

    static func start(
        fixture existing: Fixture? = nil, plainHTTP: Bool = false, trustedProxies: [IPv4Network] = [],
        maxBodyBytes: Int = 256 * 1024
    ) async throws -> TestServer {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("skm-server-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let fixture: Fixture
        if let given = existing {
            fixture = given
        } else {
            // Behind the cache `skm serve` puts in front of its database, with its default lifetime.
            fixture = try await Fixture.make(
                storage: CachingStorage(
                    try SQLiteStorage(path: directory.appendingPathComponent("skm.sqlite").path),
                    lifetime: .seconds(1)))
        }
        let ports = PortBox()
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let configuration = ServerConfiguration(
            engine: fixture.engine, host: "127.0.0.1", port: 0, tls: .installation(hosts: ["localhost", "127.0.0.1"]),
            plainHTTPPort: plainHTTP ? 0 : nil, trustedProxies: trustedProxies, maxBodyBytes: maxBodyBytes,
            requestLogPath: directory.appendingPathComponent("requests.jsonl").path, jobInterval: .seconds(3600),
            logger: logger, onListening: { port, tls in ports.set(port, tls: tls) })
        let application = try await buildApplication(configuration)
        let group = ServiceGroup(configuration: .init(services: [application], logger: logger))
        let task = Task { try await group.run() }
        let deadline = ContinuousClock.now + .seconds(20)
        while ports.get(tls: true) == nil || (plainHTTP && ports.get(tls: false) == nil) {
            guard ContinuousClock.now < deadline else { throw ServerError(.startup, "the test server did not start") }
            try await Task.sleep(for: .milliseconds(10))
        }
        return TestServer(
            fixture: fixture, directory: directory, httpsPort: ports.get(tls: true)!, httpPort: ports.get(tls: false),
            group: group, task: task)
    }

    private init(
        fixture: Fixture, directory: URL, httpsPort: Int, httpPort: Int?, group: ServiceGroup,
        task: Task<Void, any Error>
    ) {
        self.fixture = fixture
        self.directory = directory
        self.httpsPort = httpsPort
        self.httpPort = httpPort
        self.group = group
        self.task = task
    }

    /// Shuts down gracefully and waits until every service has stopped.
    func stop() async throws {
        await group.triggerGracefulShutdown()
        try await task.value
    }

    /// The request log's lines, parsed.
    func logLines() throws -> [JSONValue] {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return try text.split(separator: "\n").map { try JSONParser().parse(String($0)) }
    }

    func url(_ path: String, tls: Bool = true) -> String {
        tls ? "https://127.0.0.1:\(httpsPort)\(path)" : "http://127.0.0.1:\(httpPort!)\(path)"
    }

    func api(_ rest: String, version: String = "v1.2", appkey: String? = nil) -> String {
        "/keymanager/\(version)/appkey/\(appkey ?? self.appkey)/\(rest)"
    }

    /// An HTTPS client that trusts the installation's CA and presents `certificate` when given.
    func client(presenting certificate: (Certificate, P256.Signing.PrivateKey)? = nil) throws -> TestClient {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates([
            try NIOSSLCertificate(bytes: engine.authority.certificate.derBytes, format: .der)
        ])
        tls.certificateVerification = .fullVerification
        if let (certificate, key) = certificate {
            tls.certificateChain = [.certificate(try NIOSSLCertificate(bytes: certificate.derBytes, format: .der))]
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(key.pemRepresentation.utf8), format: .pem))
        }
        return TestClient(
            http: HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls)))
    }
}

final class PortBox: Sendable {
    private let ports = Mutex<[Bool: Int]>([:])
    func set(_ port: Int, tls: Bool) { ports.withLock { $0[tls] = port } }
    func get(tls: Bool) -> Int? { ports.withLock { $0[tls] } }
}

/// One HTTP client; shut it down after use.
struct TestClient: Sendable {
    let http: HTTPClient

    struct Answer: Sendable {
        var status: Int
        var headers: [(String, String)]
        var body: [UInt8]

        var json: JSONValue { (try? JSONParser().parse(body)) ?? .null }
        var resultMessage: String? { json["header"]?["resultMessage"]?.stringValue }
        var resultCode: Int? { json["header"]?["resultCode"]?.intValue }
        func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
    }

    func send(
        _ method: HTTPMethod, _ url: String, json: JSONValue? = nil, raw: String? = nil,
        headers: [(String, String)] = []
    ) async throws -> Answer {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: JSONWriter().bytes(json)))
        } else if let raw {
            request.body = .bytes(ByteBuffer(string: raw))
        }
        let response = try await http.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 1 << 22)
        return Answer(
            status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) },
            body: Array(body.readableBytesView))
    }

    func shutdown() async throws {
        try await http.shutdown()
    }
}
