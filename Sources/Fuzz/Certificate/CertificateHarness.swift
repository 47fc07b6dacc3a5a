import Foundation
import SKMCore
import SKMPrimitives
import SKMWire
import X509

/// Fuzzes the certificates `skm analyze --client-cert` reads: the bytes as PEM and as DER, and a certificate that
/// parses is judged as the server judges a client certificate (issuer, signature, usage, validity).
private let authority = try! CertificateAuthority.create(
    commonName: "SKM Client CA", now: Date(timeIntervalSince1970: 1_790_000_000))

/// Sets up the harness's fixed parts before the first input, so that what they keep is not taken for a leak.
@_cdecl("LLVMFuzzerInitialize")
package func initialize(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>
) -> CInt {
    _ = authority
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
package func fuzzCertificate(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    var certificates: [Certificate] = []
    if let certificate = try? Certificate(derEncoded: bytes) { certificates.append(certificate) }
    if let text = String(validating: bytes, as: UTF8.self), let certificate = try? Certificate(pemEncoded: text) {
        certificates.append(certificate)
    }
    for certificate in certificates {
        let identity = ClientIdentity(address: IPv4Address("127.0.0.1"), tls: true, certificateChain: [certificate])
        _ = RequestRecord.Client(identity, authority: authority)
        _ = ClientAuthenticator(authority: authority).check(
            .certificate, identity, entries: [], at: Date(timeIntervalSince1970: 1_790_000_000))
    }
    return 0
}
