import SKMPrimitives
import X509

/// What the server observed about the client that sent a request.
package struct ClientIdentity: Sendable {
    /// The address client authentication uses: the TCP peer, or the `X-Forwarded-For` client when the peer is a
    /// trusted proxy. `nil` when it is not an IPv4 address.
    package var address: IPv4Address?
    /// The TCP peer address as the socket reported it.
    package var peerAddress: String?
    /// The `X-Forwarded-For` header, verbatim.
    package var forwardedFor: String?
    /// The `X-TOAST-CLIENT-MAC-ADDR` header, verbatim; `nil` when absent.
    package var macHeader: String?
    /// Whether the request came over TLS.
    package var tls: Bool
    /// The certificate chain presented in the TLS handshake, leaf first; empty when none.
    package var certificateChain: [Certificate]

    package init(
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
    package static let anonymous = ClientIdentity()
}
