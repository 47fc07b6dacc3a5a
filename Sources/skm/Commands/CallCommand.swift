import ArgumentParser
import Foundation
import SKMCore
import SKMPrimitives
import SKMWire
import X509

struct CallCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "call",
        abstract: "Run an API operation through the engine as a given client, and print what the service answers.",
        discussion: """
            Support staff use this to reproduce a failure: give the client's address, MAC header and certificate as \
            the server would have seen them, and the answer (the JSON envelope) is exactly what SKM returns. On a \
            refusal the reason, which clients never see, goes to standard error. The call is real, not a dry run: \
            what it changes (a key created, a request approved, a last use) is changed. It writes no request-log \
            line; that is skm serve's.

            Fields: --field name=text sets a string, --field name:=json sets any JSON value (numbers, true, null…).

              skm call encrypt --key 0a1b… --field plaintext=hello --ip 10.0.3.7
              skm call decrypt --key 0a1b… --field ciphertext=AAAAA… --ip 10.0.3.7 --mac aa:bb:cc:dd:ee:ff
              skm call get-symmetric-key --key 0a1b… --query keyVersion=0 --cert client.pem

            Operations: \(APIOperation.allCases.map(\.commandName).joined(separator: ", ")).
            """)

    @OptionGroup var installation: InstallationOptions

    @Argument(help: "The operation, e.g. encrypt, decrypt, sign, get-secret.")
    var operation: String

    @Option(help: ArgumentHelp("The appkey (default: the key's own, else the only one).", valueName: "appkey"))
    var appkey: String?

    @Option(help: "The key id of the path.")
    var key: String?

    @Option(name: .customLong("keystore-id"), help: "The key store id of the path.")
    var keyStoreId: String?

    @Option(name: .customLong("auth-kind"), help: "ip, mac or cert, for auth-entry operations.")
    var authKind: AuthKindArgument?

    @Option(
        help: ArgumentHelp(
            "What else the path names: a certificate's name (download-certificate), a User Access Key id (revoke-access-key, rotate-access-key), an entry id (approve-request, reject-request).",
            valueName: "name"))
    var name: String?

    @Option(name: .customLong("api-version"), help: "v1.0, v1.1, v1.2 or v1.3.")
    var apiVersion: String = "v1.3"

    @Option(help: "The whole JSON body.")
    var body: String?

    @Option(
        name: .customLong("field"),
        help: ArgumentHelp("A body member: name=text or name:=json.", valueName: "name=value"))
    var fields: [String] = []

    @Option(name: .customLong("query"), help: ArgumentHelp("A query parameter.", valueName: "name=value"))
    var queries: [String] = []

    @Option(help: "The client's IPv4 address, as the server sees it.")
    var ip: String?

    @Option(help: "The X-TOAST-CLIENT-MAC-ADDR header, verbatim.")
    var mac: String?

    @Option(
        help: ArgumentHelp(
            "The client certificate: PEM, DER or PKCS#12 (with --cert-password-file).", valueName: "path"))
    var cert: String?

    @Option(help: ArgumentHelp("The PKCS#12 password file for --cert.", valueName: "path"))
    var certPasswordFile: String?

    @Option(name: .customLong("uak-id"), help: "A User Access Key id, for management operations.")
    var userAccessKeyID: String?

    @Option(
        name: .customLong("uak-secret-file"),
        help: ArgumentHelp("A file holding the UAK secret (or set SKM_UAK_SECRET).", valueName: "path"))
    var userAccessKeySecretFile: String?

    @Option(help: ArgumentHelp("A bearer token file (v1.3), for management operations.", valueName: "path"))
    var tokenFile: String?

    @Option(help: ArgumentHelp("Decide as at this time (RFC 3339) instead of now.", valueName: "time"))
    var at: String?

    @Option(help: ArgumentHelp("Where to write a file answer (a PKCS#12 download).", valueName: "path"))
    var out: String?

    func run() async throws {
        guard let operation = APIOperation(commandName: operation) else {
            throw CommandFailure.usage("unknown operation '\(operation)'; see `skm call --help` for the list")
        }
        guard let version = APIVersion(rawValue: apiVersion) else {
            throw CommandFailure.usage("--api-version must be v1.0, v1.1, v1.2 or v1.3")
        }
        var clock = EngineClock.system
        if let at {
            guard let date = Timestamp.parse(at) else {
                throw CommandFailure.usage("--at '\(at)' is not an RFC 3339 time")
            }
            clock = .fixed(date)
        }
        let engine = try await installation.openEngine(clock: clock)
        let appkeyID: String
        if let appkey {
            appkeyID = appkey
        } else if let key, let owner = try? await engine.storage.key(id: key) {
            appkeyID = owner.appkey
        } else {
            appkeyID = try await resolveAppkey(nil, engine: engine)
        }
        let request = APIRequest(
            operation: operation, apiVersion: version, appkey: appkeyID, keyId: key, keyStoreId: keyStoreId,
            authKind: authKind?.kind, resourceName: name, body: try requestBody(), query: try queryParameters(),
            credentials: try credentials())
        let outcome = await engine.execute(request, from: try client())
        // The last use of the key and entries (lastAccessDatetime), as the server would record it.
        _ = try? await engine.flushUsage()
        if case .success(.file(let bytes, _, let filename)) = outcome.result {
            let path = out ?? filename
            guard
                FileManager.default.createFile(
                    atPath: path, contents: Data(bytes), attributes: [.posixPermissions: 0o600])
            else {
                throw CommandFailure.setup("cannot write \(path)")
            }
            Terminal.note("Wrote \(path) (\(bytes.count) bytes)")
        }
        printJSON(outcome.envelope)
        if let rejection = outcome.rejection {
            throw CommandFailure.refused(
                "\(rejection.error.resultMessage): \(rejection.reason) [decided by \(rejection.check.id)]")
        }
    }

    func requestBody() throws -> RequestBody {
        var object = JSONObject()
        if let body {
            do {
                let value = try JSONParser().parse(body)
                guard fields.isEmpty else {
                    guard let members = value.objectValue else {
                        throw CommandFailure.usage("--body must be an object to add --field to it")
                    }
                    object = members
                    return .json(.object(try adding(fields, to: object)))
                }
                return .json(value)
            } catch let failure as JSONError {
                throw CommandFailure.usage("--body: \(failure)")
            }
        }
        guard !fields.isEmpty else { return .none }
        return .json(.object(try adding(fields, to: object)))
    }

    func adding(_ fields: [String], to object: JSONObject) throws -> JSONObject {
        var object = object
        for field in fields {
            if let range = field.range(of: ":="), !field[..<range.lowerBound].contains("=") {
                let name = String(field[..<range.lowerBound])
                do {
                    object[name] = try JSONParser().parse(String(field[range.upperBound...]))
                } catch {
                    throw CommandFailure.usage("--field \(name): \(error)")
                }
            } else if let equals = field.firstIndex(of: "=") {
                object[String(field[..<equals])] = .string(String(field[field.index(after: equals)...]))
            } else {
                throw CommandFailure.usage("--field '\(field)' is not name=value or name:=json")
            }
        }
        return object
    }

    func queryParameters() throws -> [String: String] {
        var query: [String: String] = [:]
        for item in queries {
            guard let equals = item.firstIndex(of: "=") else {
                throw CommandFailure.usage("--query '\(item)' is not name=value")
            }
            query[String(item[..<equals])] = String(item[item.index(after: equals)...])
        }
        return query
    }

    func credentials() throws -> Credentials {
        var credentials = Credentials()
        credentials.userAccessKeyID = userAccessKeyID
        if let userAccessKeySecretFile {
            credentials.userAccessKeySecret = try readPassword(userAccessKeySecretFile)
        } else if userAccessKeyID != nil {
            credentials.userAccessKeySecret = ProcessInfo.processInfo.environment["SKM_UAK_SECRET"]
        }
        if let tokenFile { credentials.bearerToken = try readPassword(tokenFile) }
        return credentials
    }

    func client() throws -> ClientIdentity {
        var chain: [Certificate] = []
        if let cert {
            let data = try Data(contentsOf: URL(fileURLWithPath: cert))
            if let certPasswordFile {
                chain = try PKCS12.certificates(in: [UInt8](data), password: try readPassword(certPasswordFile))
            } else {
                chain = try Certificate.parseChain(data)
            }
        }
        if let ip, IPv4Address(peer: ip) == nil {
            throw CommandFailure.usage("--ip '\(ip)' is not an IPv4 address")
        }
        return ClientIdentity(
            address: ip.flatMap { IPv4Address(peer: $0) }, peerAddress: ip, macHeader: mac, tls: !chain.isEmpty,
            certificateChain: chain)
    }
}

extension APIOperation {
    /// The kebab-case name used on the command line (`create-local-key`).
    var commandName: String {
        var output = ""
        for character in rawValue {
            if character.isUppercase {
                output += "-" + character.lowercased()
            } else {
                output.append(character)
            }
        }
        return output
    }

    init?(commandName: String) {
        guard let match = Self.allCases.first(where: { $0.commandName == commandName || $0.rawValue == commandName })
        else {
            return nil
        }
        self = match
    }
}
