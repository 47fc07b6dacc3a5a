import HTTPTypes
import Hummingbird
import NIOCore
import NIOSSL
import SKMCore
import Synchronization
import X509

/// Works out what the server observed about a request's client: the address (trusting `X-Forwarded-For` only from
/// configured proxies), the MAC header and the certificate presented in the TLS handshake.
struct ClientIdentityResolver: Sendable {
    let trustedProxies: [IPv4Network]
    let tls: Bool
    let peerCertificates = PeerCertificates()

    static let macHeader = HTTPField.Name("X-TOAST-CLIENT-MAC-ADDR")!
    static let forwardedFor = HTTPField.Name("X-Forwarded-For")!

    func identity(of request: Hummingbird.Request, on channel: any Channel) async -> ClientIdentity {
        let peer = channel.remoteAddress?.ipAddress
        let peerAddress = peer.flatMap { IPv4Address(peer: $0) }
        let forwardedFor = request.headers[Self.forwardedFor]
        var address = peerAddress
        if let peerAddress, let forwardedFor, isTrusted(peerAddress) {
            address = clientAddress(forwardedFor: forwardedFor)
        }
        let chain = tls ? await peerCertificates.chain(of: channel) : []
        return ClientIdentity(
            address: address, peerAddress: peer, forwardedFor: forwardedFor, macHeader: request.headers[Self.macHeader],
            tls: tls, certificateChain: chain)
    }

    func isTrusted(_ address: IPv4Address) -> Bool {
        trustedProxies.contains { $0.contains(address) }
    }

    /// The rightmost address of `X-Forwarded-For` that is not a trusted proxy: the client as the nearest trusted
    /// proxy saw it. `nil` when that entry is not an IPv4 address.
    func clientAddress(forwardedFor header: String) -> IPv4Address? {
        let hops = header.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        for hop in hops.reversed() {
            guard let address = IPv4Address(peer: hop) else { return nil }
            if !isTrusted(address) { return address }
        }
        return hops.first.flatMap { IPv4Address(peer: $0) }
    }
}

/// The certificate each TLS connection presented, read from the TLS handler once per connection (it cannot change
/// during a connection) and forgotten when the connection closes.
final class PeerCertificates: Sendable {
    private let chains = Mutex<[ObjectIdentifier: [Certificate]]>([:])

    func chain(of channel: any Channel) async -> [Certificate] {
        let id = ObjectIdentifier(channel)
        if let known = chains.withLock({ $0[id] }) { return known }
        var chain: [Certificate] = []
        if let certificate = try? await channel.nioSSL_peerCertificate().get(),
            let parsed = try? Certificate(derEncoded: try certificate.toDERBytes())
        {
            chain = [parsed]
        }
        let isNew = chains.withLock { chains in
            defer { chains[id] = chain }
            return chains[id] == nil
        }
        if isNew {
            channel.closeFuture.whenComplete { [weak self] _ in self?.forget(id) }
        }
        return chain
    }

    private func forget(_ id: ObjectIdentifier) {
        _ = chains.withLock { $0.removeValue(forKey: id) }
    }
}
