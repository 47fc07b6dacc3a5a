import Foundation
import Logging
import NIOSSL
import SKMCore
import SKMPrimitives

/// Everything `buildApplication(_:)` needs: the engine, where to listen, TLS, limits and the request log.
package struct ServerConfiguration: Sendable {
    /// How the server gets its TLS certificate.
    package enum TLS: Sendable {
        /// Plain HTTP: for local use only; certificate authentication then fails with an explanation.
        case none
        /// A certificate the installation's CA issues for these host names and addresses (on first start, kept).
        case installation(hosts: [String])
        /// A PEM certificate chain and PEM private key from files.
        case files(certificateChain: String, privateKey: String)
    }

    package var engine: Engine
    package var host: String
    package var port: Int
    package var tls: TLS
    /// A second, plain-HTTP listener on the same host, for local tools; `nil` for none.
    package var plainHTTPPort: Int?
    /// Peers whose `X-Forwarded-For` header is believed.
    package var trustedProxies: [IPv4Network]
    /// The largest request body read; a larger one is Invalid Request.
    package var maxBodyBytes: Int
    /// The largest total size of request headers; more is Invalid Request.
    package var maxHeaderBytes: Int
    /// The most connections open at once, over both listeners; a connection beyond it is closed at once.
    package var maxConnections: Int
    /// Where the request log is appended; `nil` keeps no log.
    package var requestLogPath: String?
    /// When request-log records reach the disk.
    package var requestLogSync: RequestLogWriter.Sync
    /// How often the last use of keys and entries (`lastAccessDatetime`) is written.
    package var usageFlushInterval: Duration
    /// How often automatic rotation and the deletion purge run.
    package var jobInterval: Duration
    package var logger: Logger
    /// Called with each listener's bound port once it accepts connections (port 0 binds any free port).
    package var onListening: (@Sendable (_ port: Int, _ tls: Bool) async -> Void)?

    package init(
        engine: Engine, host: String = "127.0.0.1", port: Int = 8443,
        tls: TLS = .installation(hosts: ["localhost", "127.0.0.1"]),
        plainHTTPPort: Int? = nil, trustedProxies: [IPv4Network] = [], maxBodyBytes: Int = 256 * 1024,
        maxHeaderBytes: Int = 16 * 1024, maxConnections: Int = 4096, requestLogPath: String? = nil,
        requestLogSync: RequestLogWriter.Sync = .interval(.seconds(1)), usageFlushInterval: Duration = .seconds(60),
        jobInterval: Duration = .seconds(60),
        logger: Logger = Logger(label: "skm.server"),
        onListening: (@Sendable (_ port: Int, _ tls: Bool) async -> Void)? = nil
    ) {
        self.engine = engine
        self.host = host
        self.port = port
        self.tls = tls
        self.plainHTTPPort = plainHTTPPort
        self.trustedProxies = trustedProxies
        self.maxBodyBytes = maxBodyBytes
        self.maxHeaderBytes = maxHeaderBytes
        self.maxConnections = maxConnections
        self.requestLogPath = requestLogPath
        self.requestLogSync = requestLogSync
        self.usageFlushInterval = usageFlushInterval
        self.jobInterval = jobInterval
        self.logger = logger
        self.onListening = onListening
    }
}

/// A server setup problem, named for operators.
package typealias ServerError = CodedFailure<ServerErrorCode>

package enum ServerErrorCode: String, ErrorCode {
    /// The TLS certificate chain or its key cannot be used.
    case tls
    /// The request log cannot be opened.
    case requestLog
    /// The server did not come up.
    case startup
}
