import AsyncHTTPClient
import Foundation
import HTTPTypes
import NIOCore
import NIOSSL
import SKMAnalysis
import SKMCore
import SKMPrimitives
import SKMWire

/// Reads a key manager's state through its read APIs with a User Access Key (`skm snapshot fetch`, and the triage
/// page's state by URL).
///
/// The secret goes only to the URL given: a redirect is refused, never followed, and plain HTTP is refused unless
/// allowed (a server on this machine). Nothing the server answers is shown with the secret in it.
package struct StateFetch: Sendable {
    package var url: String
    package var appkey: String
    package var accessKeyID: String
    package var secret: String
    /// A CA (PEM) to trust for the server's certificate, besides the system's.
    package var trustedCAPEM: String?
    package var apiVersion = "v1.2"
    package var allowPlainHTTP = false

    package init(url: String, appkey: String, accessKeyID: String, secret: String) {
        self.url = url
        self.appkey = appkey
        self.accessKeyID = accessKeyID
        self.secret = secret
    }

    /// The base URL without a final `/`, once it is one this fetch may send the secret to: HTTPS, or plain HTTP
    /// when allowed and only to an address of this machine (a name such as `127.0.0.1.example` resolves anywhere).
    package func root() throws(StateFetchError) -> String {
        guard let base = URL(string: url), base.scheme == "https" || base.scheme == "http", let host = base.host,
            base.user == nil, base.password == nil
        else {
            throw StateFetchError(.invalidURL, subject: String(url.prefix(200)), "not an http(s) URL")
        }
        if base.scheme == "http", !(allowPlainHTTP && Self.isThisMachine(host)) {
            throw StateFetchError(
                .plainHTTP, subject: String(url.prefix(200)),
                "plain HTTP would send the User Access Key secret unencrypted: use https://"
                    + (allowPlainHTTP ? " (plain HTTP is allowed to an address of this machine only)" : ""))
        }
        return url.hasSuffix("/") ? String(url.dropLast()) : url
    }

    /// `localhost`, `::1` or an address in 127.0.0.0/8.
    package static func isThisMachine(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host == "[::1]"
            || IPv4Address(host).map { $0.description.hasPrefix("127.") } == true
    }

    /// The appkey, id and secret as they may be sent: an appkey of letters and digits (it is a path segment), an
    /// id and a secret of visible ASCII. What is wrong is said without the value.
    package func checkCredentials() throws(StateFetchError) {
        func visible(_ text: String) -> Bool { !text.isEmpty && text.utf8.allSatisfy { (0x21...0x7E).contains($0) } }
        guard !appkey.isEmpty,
            appkey.utf8.allSatisfy({
                (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0)
            })
        else {
            throw StateFetchError(.invalidCredentials, "the appkey is not letters and digits")
        }
        guard visible(accessKeyID) else {
            throw StateFetchError(
                .invalidCredentials, "the User Access Key id holds a space or a character that is not visible ASCII")
        }
        guard visible(secret) else {
            throw StateFetchError(
                .invalidCredentials, "the User Access Key secret holds a space or a character that is not visible ASCII"
            )
        }
    }

    package func read(now: Date = Date()) async throws -> StateSnapshot {
        let root = try root()
        try checkCredentials()
        var tls = TLSConfiguration.makeClientConfiguration()
        if let trustedCAPEM {
            do {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(trustedCAPEM.utf8)))
            } catch {
                throw StateFetchError(.invalidCA, "the CA to trust is not a PEM certificate")
            }
        }
        // Redirects are not followed: one could take the secret header to another host, or to plain HTTP.
        let client = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: .init(tlsConfiguration: tls, redirectConfiguration: .disallow))
        let (accessKeyID, secret) = (self.accessKeyID, self.secret)
        let reader = APIStateReader(appkey: appkey, accessKeyID: accessKeyID, version: apiVersion) { path, query in
            var components = URLComponents(string: root + path)!
            if !query.isEmpty {
                components.queryItems = query.sorted { $0.key < $1.key }.map {
                    URLQueryItem(name: $0.key, value: $0.value)
                }
            }
            var request = HTTPClientRequest(url: components.string!)
            request.method = .GET
            request.headers.add(name: HTTPField.Name.userAccessKeyID.rawName, value: accessKeyID)
            request.headers.add(name: HTTPField.Name.userAccessKeySecret.rawName, value: secret)
            let response = try await client.execute(request, timeout: .seconds(30))
            if (300..<400).contains(Int(response.status.code)) {
                let target = response.headers.first(name: "Location") ?? "?"
                throw StateFetchError(
                    .redirected, subject: path,
                    "the server answered with a redirect (HTTP \(response.status.code)) to \(target.prefix(200)), "
                        + "which is not followed: the credentials would go with it. Give that URL if it is the service")
            }
            let body: ByteBuffer
            do {
                body = try await response.body.collect(upTo: 64 << 20)
            } catch is NIOTooManyBytesError {
                throw StateFetchError(.tooLarge, subject: path, "the answer is over 64 MB, more than a state can be")
            }
            let envelope = try JSONParser(invalidUTF8: .replace).parse(body.readableBytesView)
            guard envelope["header"]?["isSuccessful"]?.boolValue == true else {
                let message = envelope["header"]?["resultMessage"]?.stringValue ?? "HTTP \(response.status.code)"
                throw StateFetchError(.refused, subject: path, "\(message) (\(response.status.code))")
            }
            return envelope["body"] ?? .null
        }
        do {
            let snapshot = try await reader.read(now: now, location: root)
            try await client.shutdown()
            return snapshot
        } catch {
            try? await client.shutdown()
            // What the server sent back may echo the credentials (a redirect's target, a message): never shown.
            let escaped = secret.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(
                of: "\"", with: "\\\"")
            let said = String(describing: error).replacingOccurrences(of: secret, with: "[secret]")
                .replacingOccurrences(of: escaped, with: "[secret]")
            throw StateFetchError(.unreachable, "cannot read the state from \(root): \(said)")
        }
    }
}
