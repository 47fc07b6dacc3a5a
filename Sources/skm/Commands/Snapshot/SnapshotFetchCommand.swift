import ArgumentParser
import AsyncHTTPClient
import Foundation
import HTTPTypes
import NIOCore
import NIOSSL
import SKMAnalysis
import SKMCore
import SKMReport
import SKMWire

struct SnapshotFetchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fetch",
        abstract: "Build a state snapshot from an SKM's read APIs (this one's, or NHN Cloud's) with a User Access Key.",
        discussion: """
            For analysing logs of a service you do not host. The APIs show key stores, keys and registered entries \
            as they are now, but not key versions, certificate fingerprints or the audit log: the analyser treats \
            those as unknown, and cannot rebuild the state as it was earlier. A snapshot exported from the database \
            (skm snapshot export) has all of it.

            The User Access Key secret is read from SKM_UAK_SECRET (or --uak-secret-file); it is sent to the server \
            and written nowhere. Certificate passwords in the answers are never kept.
            """)

    @Option(name: .long, help: ArgumentHelp("The service's base URL (https://…).", valueName: "url"))
    var url: String

    @Option(name: .long, help: ArgumentHelp("The appkey whose state to read.", valueName: "appkey"))
    var appkey: String

    @Option(name: .long, help: ArgumentHelp("The User Access Key id.", valueName: "id"))
    var uakId: String

    @Option(name: .long, help: ArgumentHelp("A file holding the User Access Key secret.", valueName: "path"))
    var uakSecretFile: String?

    @Option(name: .long, help: ArgumentHelp("Trust this CA (PEM) for the server's certificate.", valueName: "path"))
    var cacert: String?

    @Option(name: .long, help: ArgumentHelp("API version of the paths.", valueName: "version"))
    var apiVersion = "v1.2"

    @Option(help: ArgumentHelp("Where to write the snapshot (default: standard output).", valueName: "path"))
    var out: String?

    @Flag(
        name: .customLong("allow-plain-http"),
        help: "Accept an http:// URL, which sends the User Access Key secret unencrypted (a local server only).")
    var allowPlainHTTP = false

    func secret() throws -> String {
        if let uakSecretFile {
            do {
                return try String(contentsOfFile: uakSecretFile, encoding: .utf8).trimmingCharacters(
                    in: .whitespacesAndNewlines)
            } catch {
                throw CommandFailure.setup("\(uakSecretFile): cannot read: \(error.localizedDescription)")
            }
        }
        guard let secret = ProcessInfo.processInfo.environment["SKM_UAK_SECRET"], !secret.isEmpty else {
            throw CommandFailure.usage("give the User Access Key secret in SKM_UAK_SECRET or --uak-secret-file")
        }
        return secret
    }

    func run() async throws {
        guard let base = URL(string: url), base.scheme == "https" || base.scheme == "http", base.host != nil else {
            throw CommandFailure.usage("--url '\(url)' is not an http(s) URL")
        }
        if base.scheme == "http", !allowPlainHTTP {
            throw CommandFailure.usage(
                "--url '\(url)' is plain HTTP, which would send the User Access Key secret unencrypted: use https://, "
                    + "or add --allow-plain-http for a server on this machine")
        }
        let secret = try secret()
        var tls = TLSConfiguration.makeClientConfiguration()
        if let cacert {
            do {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(cacert))
            } catch {
                throw CommandFailure.setup("\(cacert): not a PEM certificate")
            }
        }
        // Redirects are not followed: one could take the secret header to another host, or to plain HTTP.
        let client = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: .init(tlsConfiguration: tls, redirectConfiguration: .disallow))
        let root = url.hasSuffix("/") ? String(url.dropLast()) : url
        let (appkey, uakId) = (self.appkey, self.uakId)
        let reader = APIStateReader(appkey: appkey, accessKeyID: uakId, version: apiVersion) { path, query in
            var components = URLComponents(string: root + path)!
            if !query.isEmpty {
                components.queryItems = query.sorted { $0.key < $1.key }.map {
                    URLQueryItem(name: $0.key, value: $0.value)
                }
            }
            var request = HTTPClientRequest(url: components.string!)
            request.method = .GET
            request.headers.add(name: HTTPField.Name.userAccessKeyID.rawName, value: uakId)
            request.headers.add(name: HTTPField.Name.userAccessKeySecret.rawName, value: secret)
            let response = try await client.execute(request, timeout: .seconds(30))
            if (300..<400).contains(Int(response.status.code)) {
                let target = response.headers.first(name: "Location") ?? "?"
                throw StateFetchError(
                    .redirected, subject: path,
                    "the server answered with a redirect (HTTP \(response.status.code)) to \(target.prefix(200)), "
                        + "which is not followed: the credentials would go with it. Give that URL as --url if it is the service"
                )
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
        let snapshot: StateSnapshot
        do {
            snapshot = try await reader.read(now: Date(), location: root)
            try await client.shutdown()
        } catch {
            try? await client.shutdown()
            // What the server sent back may echo the credentials (a redirect's target, a message): never shown.
            let said = String(describing: error).replacingOccurrences(of: secret, with: "[secret]")
            throw CommandFailure.setup("cannot read the state from \(root): \(said)")
        }
        let data = try snapshot.jsonData() + Data("\n".utf8)
        if let out {
            try data.write(to: URL(fileURLWithPath: out), options: .atomic)
            Terminal.note(
                "Wrote \(out): \(snapshot.keyStores.count) key stores, \(snapshot.keys.count) keys, \(snapshot.authEntries.count) entries (no versions or audit events: the API does not show them)"
            )
        } else {
            FileHandle.standardOutput.write(data)
        }
    }
}
