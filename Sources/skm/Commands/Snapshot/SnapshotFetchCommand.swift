import ArgumentParser
import Foundation
import SKMAnalysis
import SKMCore
import SKMReport
import SKMTriage
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
        guard
            let secret = ProcessInfo.processInfo.environment["SKM_UAK_SECRET"]?.trimmingCharacters(
                in: .whitespacesAndNewlines), !secret.isEmpty
        else {
            throw CommandFailure.usage("give the User Access Key secret in SKM_UAK_SECRET or --uak-secret-file")
        }
        return secret
    }

    func run() async throws {
        var fetch = StateFetch(url: url, appkey: appkey, accessKeyID: uakId, secret: "")
        fetch.apiVersion = apiVersion
        fetch.allowPlainHTTP = allowPlainHTTP
        do {
            _ = try fetch.root()
        } catch {
            throw CommandFailure.usage(
                "--url '\(url)' "
                    + (error.code != .plainHTTP
                        ? "is not an http(s) URL"
                        : allowPlainHTTP
                            ? "is plain HTTP to another machine, which would send the User Access Key secret "
                                + "unencrypted: --allow-plain-http allows an address of this machine only (127.0.0.1, "
                                + "localhost)"
                            : "is plain HTTP, which would send the User Access Key secret unencrypted: use https://, "
                                + "or add --allow-plain-http for a server on this machine"))
        }
        fetch.secret = try secret()
        if let cacert {
            do {
                fetch.trustedCAPEM = try String(contentsOfFile: cacert, encoding: .utf8)
            } catch {
                throw CommandFailure.setup("\(cacert): cannot read: \(error.localizedDescription)")
            }
        }
        let snapshot: StateSnapshot
        do {
            snapshot = try await fetch.read()
        } catch let error as StateFetchError where error.code == .invalidCredentials {
            throw CommandFailure.usage(error.reason)
        } catch let error as StateFetchError where error.code == .invalidCA {
            throw CommandFailure.setup("\(cacert ?? "--cacert"): not a PEM certificate")
        } catch let error as StateFetchError {
            throw CommandFailure.setup(error.reason)
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
