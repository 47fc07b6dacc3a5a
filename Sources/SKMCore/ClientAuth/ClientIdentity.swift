import SKMPrimitives
import X509

/// What the server observed about the client that sent a request.
public struct ClientIdentity: Sendable {
    /// The address client authentication uses: the TCP peer, or the `X-Forwarded-For` client when the peer is a
    /// trusted proxy. `nil` when it is not an IPv4 address.
    public var address: IPv4Address?
    /// The TCP peer address as the socket reported it.
    public var peerAddress: String?
    /// The `X-Forwarded-For` header, verbatim.
    public var forwardedFor: String?
    /// The `X-TOAST-CLIENT-MAC-ADDR` header, verbatim; `nil` when absent.
    public var macHeader: String?
    /// Whether the request came over TLS.
    public var tls: Bool
    /// The certificate chain presented in the TLS handshake, leaf first; empty when none.
    public var certificateChain: [Certificate]

    public init(
        address: IPv4Address? = nil, peerAddress: String? = nil, forwardedFor: String? = nil, macHeader: String? = nil,
        tls: Bool = false, certificateChain: [Certificate] = []
    ) {
        self.address = address
        self.peerAddress = peerAddress ?? address?.description
        self.forwardedFor = forwardedFor
        self.macHeader = macHeader
        self.tls = tls
        self.certificateChain = certificateChain
    }

    /// An identity that presents nothing at all.
    public static let anonymous = ClientIdentity()
}
