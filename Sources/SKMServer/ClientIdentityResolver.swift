import HTTPTypes
import Hummingbird
import NIOCore
import NIOSSL
import SKMCore
import SKMPrimitives
import Synchronization
import X509

/// Works out what the server observed about a request's client: the address (trusting `X-Forwarded-For` only from
/// configured proxies), the MAC header and the certificate presented in the TLS handshake.
struct ClientIdentityResolver: Sendable {
    let trustedProxies: [IPv4Network]
    let tls: Bool
    let peerCertificates = PeerCertificates()

    func identity(of request: Hummingbird.Request, on channel: any Channel) async -> ClientIdentity {
        let (peer, peerAddress) = Self.peer(of: channel)
        let forwardedFor = request.headers[.forwardedFor]
        var address = peerAddress
        if let peerAddress, let forwardedFor, isTrusted(peerAddress) {
            address = clientAddress(forwardedFor: forwardedFor)
        }
        let chain = tls ? await peerCertificates.chain(of: channel) : []
        return ClientIdentity(
            address: address, peerAddress: peer, forwardedFor: forwardedFor,
            macHeader: request.headers[.clientMACAddress],
            tls: tls, certificateChain: chain)
    }

    /// The peer's address as text, and as an IPv4 address when it is one. An IPv4 socket's address is read as a
    /// number and written by ``IPv4Address/description``, without the C library's formatting and a parse of its text.
    static func peer(of channel: any Channel) -> (text: String?, address: IPv4Address?) {
        switch channel.remoteAddress {
        case .v4(let socket)?:
            let address = IPv4Address(UInt32(bigEndian: socket.address.sin_addr.s_addr))
            return (address.description, address)
        case let other?:
            let text = other.ipAddress
            return (text, text.flatMap { IPv4Address(peer: $0) })
        case nil:
            return (nil, nil)
        }
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
///
/// Entries are found by the channel's identity, and an entry counts only while it refers to this very channel: a
/// channel allocated where a closed one was has the same identity, and must never be taken for it. An entry holds
/// its channel (so that no other can take its place while the entry stands) until the channel's close removes it.
/// Not weakly: a weak reference would give the channel a side table, which makes every retain of it, by NIO on every
/// read and write, take the slow path.
final class PeerCertificates: Sendable {
    private struct Entry {
        let channel: any Channel
        var chain: [Certificate]
    }

    private let chains = Mutex<[ObjectIdentifier: Entry]>([:])

    func chain(of channel: any Channel) async -> [Certificate] {
        let id = ObjectIdentifier(channel)
        if let known = cached(under: id, for: channel) { return known }
        var chain: [Certificate] = []
        if let certificate = try? await channel.nioSSL_peerCertificate().get(),
            let parsed = try? Certificate(derEncoded: try certificate.toDERBytes())
        {
            chain = [parsed]
        }
        remember(chain, under: id, for: channel)
        return chain
    }

    /// The chain kept under `id`, if it was kept for this very channel.
    func cached(under id: ObjectIdentifier, for channel: any Channel) -> [Certificate]? {
        chains.withLock { chains in
            guard let entry = chains[id], entry.channel === channel else { return nil }
            return entry.chain
        }
    }

    /// Keeps `chain` for `channel` under `id` (its identity), until the channel closes.
    func remember(_ chain: [Certificate], under id: ObjectIdentifier, for channel: any Channel) {
        let isNew = chains.withLock { chains in
            defer { chains[id] = Entry(channel: channel, chain: chain) }
            return chains[id]?.channel !== channel
        }
        if isNew {
            channel.closeFuture.whenComplete { [self] _ in forget(id, closed: channel) }
        }
    }

    /// Forgets the entry of a closed channel; an entry a newer channel has put in its place stays.
    private func forget(_ id: ObjectIdentifier, closed: any Channel) {
        chains.withLock { chains in
            if let entry = chains[id], entry.channel === closed {
                chains.removeValue(forKey: id)
            }
        }
    }

    /// How many connections have an entry (for tests).
    var count: Int { chains.withLock { $0.count } }
}
