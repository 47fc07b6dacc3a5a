import Crypto
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import SKMCore
import ServiceLifecycle
import X509

/// Builds the SKM REST API server: the HTTPS (or HTTP) listener, an optional plain-HTTP listener, the request log
/// writer and the background jobs, all run as services of one application with graceful shutdown.
///
/// `skm serve` and the tests both call this.
package func buildApplication(_ configuration: ServerConfiguration) async throws -> some ApplicationProtocol {
    let logger = configuration.logger
    let metrics = Metrics()
    let log = try configuration.requestLogPath.map {
        try RequestLogWriter(path: $0, sync: configuration.requestLogSync, logger: logger)
    }
    func responder(tls: Bool) -> APIResponder {
        APIResponder(
            engine: configuration.engine,
            identities: ClientIdentityResolver(trustedProxies: configuration.trustedProxies, tls: tls),
            maxBodyBytes: configuration.maxBodyBytes, maxHeaderBytes: configuration.maxHeaderBytes, log: log,
            metrics: metrics, logger: logger)
    }
    let connections = ConnectionLimit(maximum: configuration.maxConnections)
    func http1(tls: Bool) -> HTTP1Channel.Configuration {
        let answering = responder(tls: tls)
        return HTTP1Channel.Configuration(
            additionalChannelHandlers: [
                ConnectionLimitHandler(limit: connections),
                HTTPProblemHandler(requestLine: RequestLineRecorder()) { rejection, problem, method, path, peer in
                    await answering.answerRefusedByParser(
                        rejection, problem: problem, method: method, path: path, peer: peer)
                },
            ],
            idleTimeout: .seconds(120),
            httpDecoderConfiguration: .init(
                maxHeaderFieldSize: 64 * 1024, maxHeaderListSize: 64 * 1024, maxHeaderFieldCount: 200))
    }

    var services: [any Service] = []
    if let log { services.append(log) }
    services.append(DueWorkService(engine: configuration.engine, interval: configuration.jobInterval, logger: logger))
    services.append(
        UsageFlushService(engine: configuration.engine, interval: configuration.usageFlushInterval, logger: logger))

    let server: HTTPServerBuilder
    let usesTLS: Bool
    switch configuration.tls {
    case .none:
        server = .http1(configuration: http1(tls: false))
        usesTLS = false
    case .installation(let hosts):
        let identity = try await configuration.engine.serverIdentity(hosts: hosts)
        server = try .tls(
            .http1(configuration: http1(tls: true)), configuration: tlsConfiguration(identity, configuration))
        usesTLS = true
    case .files(let chainPath, let keyPath):
        server = try .tls(
            .http1(configuration: http1(tls: true)),
            configuration: tlsConfiguration(files: chainPath, keyPath, configuration))
        usesTLS = true
    }

    if let plainPort = configuration.plainHTTPPort {
        services.append(
            Application(
                responder: responder(tls: false), server: .http1(configuration: http1(tls: false)),
                configuration: .init(address: .hostname(configuration.host, port: plainPort), serverName: "SKM"),
                onServerRunning: { channel in
                    await configuration.onListening?(channel.localAddress?.port ?? plainPort, false)
                }, logger: logger))
    }
    return Application(
        responder: responder(tls: usesTLS), server: server,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "SKM"),
        services: services,
        onServerRunning: { channel in
            await configuration.onListening?(channel.localAddress?.port ?? configuration.port, usesTLS)
        },
        logger: logger)
}

/// Runs Swift tasks on the server's event loops instead of a thread pool of their own, so that answering a request
/// does not hop between threads: the handler runs on the thread that read the request. Call it once, on the main
/// thread, before any task has started.
package func runTasksOnEventLoops() {
    NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
}

/// Requests a client certificate without requiring it, and accepts any certificate in the handshake: the engine
/// then answers an absent, untrusted or expired certificate with the documented JSON error instead of a dropped
/// connection.
func clientCertificateChannelConfiguration(
    certificateChain: [NIOSSLCertificate], privateKey: NIOSSLPrivateKey, authority: Certificate
) throws -> TLSChannelConfiguration {
    var tls = TLSConfiguration.makeServerConfiguration(
        certificateChain: certificateChain.map { .certificate($0) }, privateKey: .privateKey(privateKey))
    tls.certificateVerification = .optionalVerification
    tls.trustRoots = .certificates([try NIOSSLCertificate(bytes: authority.derBytes, format: .der)])
    tls.minimumTLSVersion = .tlsv12
    return TLSChannelConfiguration(tlsConfiguration: tls) { _, promise in
        promise.succeed(.certificateVerified)
    }
}

func tlsConfiguration(
    _ identity: ServerIdentity, _ configuration: ServerConfiguration
) throws
    -> TLSChannelConfiguration
{
    let chain = try ([identity.certificate] + identity.chain).map {
        try NIOSSLCertificate(bytes: $0.derBytes, format: .der)
    }
    let key = try NIOSSLPrivateKey(bytes: Array(identity.privateKey.pemRepresentation.utf8), format: .pem)
    return try clientCertificateChannelConfiguration(
        certificateChain: chain, privateKey: key, authority: configuration.engine.authority.certificate)
}

func tlsConfiguration(
    files chainPath: String, _ keyPath: String, _ configuration: ServerConfiguration
) throws
    -> TLSChannelConfiguration
{
    do {
        let chain = try NIOSSLCertificate.fromPEMFile(chainPath)
        guard !chain.isEmpty else { throw ServerError(.tls, "\(chainPath) holds no certificate") }
        let key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
        return try clientCertificateChannelConfiguration(
            certificateChain: chain, privateKey: key, authority: configuration.engine.authority.certificate)
    } catch let error as ServerError {
        throw error
    } catch {
        throw ServerError(.tls, "cannot load the TLS certificate \(chainPath) or key \(keyPath): \(error)")
    }
}
