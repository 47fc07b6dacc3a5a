/// What a kind of capture cannot hold about a request. The facts it stands for are unknown, never guessed, and the
/// text given with each names what would supply them.
package enum CaptureGap: String, Sendable, Hashable, CaseIterable {
    /// The answer's result code: an access log or a transcript without the answer's body has only the HTTP status.
    case resultCode
    /// The request's body, and with it the user data and the names in it: an access log, or `curl -v`.
    case requestBody
    /// The credentials the request carried (the User Access Key, the token): an access log.
    case credentials
    /// The `X-TOAST-CLIENT-MAC-ADDR` header: an access log whose format does not record it.
    case macHeader
    /// The address the key manager checked; with ``CapturedRequest/clientAddressKnown`` false, the text says why.
    case clientAddress
    /// The certificate TLS presented to the key manager; with ``CapturedRequest/certificateKnown`` false.
    case certificate
    /// The key manager's clock; with ``CapturedRequest/serverTimeKnown`` false.
    case serverTime
}
