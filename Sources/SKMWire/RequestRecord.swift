import Foundation
import SKMCore
import X509

/// One line of the request log: what the server observed about one request and what it answered.
///
/// Observations only: the server's own per-check verdicts are not recorded (deducing them is the analyser's job),
/// and neither is any plaintext, ciphertext, signature, secret value, UAK secret, token, password or key byte.
/// Inputs are described by their shape (length, Base64 validity, the version a blob carries). Described by
/// `Schemas/request-log.schema.json`.
package struct RequestRecord: Sendable, Hashable {
    package var time: Date
    package var requestId: String
    package var method: String
    package var path: String
    package var apiVersion: String?
    /// The ``APIOperation`` raw value; `nil` when no route matched.
    package var operation: String?
    package var appkey: String?
    package var keyId: String?
    package var keyStoreId: String?
    package var keyStoreName: String?
    package var authKind: String?
    /// A resource the path names besides the key store (the certificate of a download).
    package var resourceName: String?
    /// The `keyVersion` the request named (query or body), if any.
    package var requestedKeyVersion: Int?
    /// How the request authenticated as a user: `uak`, `bearer`, `basic`, or `nil`.
    package var authScheme: String?
    package var userAccessKeyId: String?
    /// When the User Access Key id header held something that is not an id (a secret or a token sent in the wrong
    /// place, most likely): its length, and never the value.
    package var userAccessKeyIdBytes: Int?
    /// For the v1.0 reads, which the API guide serves on the appkey alone: whether this server required credentials
    /// all the same (`skm serve --v1-0-reads-need-credentials`). `nil` for every other operation.
    package var credentialsRequired: Bool?
    /// What a bearer token showed: whether this installation signed it, and the User Access Key it was issued to.
    package var token: TokenObservation?
    /// The request's `Date` header: the client's clock, when it sent one.
    package var clientDate: Date?
    package var client: Client
    package var inputs: [Input]
    /// The shape of the body; `nil` when there was none.
    package var body: Body?
    /// Query parameters.
    package var query: [String: String]
    /// The total size of the request headers.
    package var headerBytes: Int?
    /// Why the HTTP parser refused the request before it could be routed: `headers-too-large` (over 64 KB or 200
    /// fields) or `malformed-http` (a byte a header may not hold, a broken request line). `nil` for parsed requests.
    package var httpProblem: String?
    package var response: Response
    package var durationMs: Double

    /// The query parameters SKM's API reads (a key version, list filters and paging, the statistics' days and key),
    /// the ones whose values may be logged: anything else in a query is left out of the record, value and name, for a
    /// client may put there what belongs in the body (a plaintext, key material).
    package static let loggedQueryParameters: Set<String> = [
        "keyVersion", "detail", "type", "name", "status", "pageNumber", "pageSize", "value", "from", "to", "keyId",
    ]

    /// The query as the record keeps it: the parameters SKM reads, each value at most 256 characters.
    package static func loggedQuery(_ query: [String: String]) -> [String: String] {
        query.filter { loggedQueryParameters.contains($0.key) }.mapValues { String($0.prefix(256)) }
    }

    /// The shape of a request body, and the values of its non-secret members.
    package struct Body: Sendable, Hashable {
        package var bytes: Int
        /// Whether the body is a JSON object.
        package var json: Bool
        /// Top-level members as `name:type` (`plaintext:string`, `keyVersion:number`).
        package var fields: [String]
        /// Values of members that are never secret (`keyStoreName`, `value`, `autoRotationPeriod`, …).
        package var values: [String: String]

        package init(bytes: Int, json: Bool, fields: [String] = [], values: [String: String] = [:]) {
            self.bytes = bytes
            self.json = json
            self.fields = fields
            self.values = values
        }

        /// The members whose values may be logged: names, addresses and settings, never user data or credentials.
        package static let loggedValues: Set<String> = [
            "keyStoreName", "name", "value", "autoRotationPeriod", "lifeTime", "ip4AuthUse", "macAuthUse",
            "certificateAuthUse", "authMode", "algorithm", "keyVersion", "grant_type", "skipInvalid", "validateOnly",
        ]
    }

    package struct Client: Sendable, Hashable {
        /// The address client authentication used.
        package var ip: String?
        /// The TCP peer, as the socket reported it.
        package var peer: String?
        package var forwardedFor: String?
        package var macHeader: String?
        package var tls: Bool
        package var cert: CertificateObservation

        package init(
            ip: String? = nil, peer: String? = nil, forwardedFor: String? = nil, macHeader: String? = nil,
            tls: Bool = false, cert: CertificateObservation = .absent
        ) {
            self.ip = ip
            self.peer = peer
            self.forwardedFor = forwardedFor
            self.macHeader = macHeader
            self.tls = tls
            self.cert = cert
        }
    }

    /// What the client's certificate looked like; public data only.
    package struct CertificateObservation: Sendable, Hashable {
        package var present: Bool
        package var subject: String?
        package var issuer: String?
        package var serial: String?
        package var sha256: String?
        package var notBefore: Date?
        package var notAfter: Date?
        /// Whether it is signed by this installation's CA.
        package var chainVerified: Bool?

        package static let absent = CertificateObservation(present: false)

        package init(
            present: Bool, subject: String? = nil, issuer: String? = nil, serial: String? = nil, sha256: String? = nil,
            notBefore: Date? = nil, notAfter: Date? = nil, chainVerified: Bool? = nil
        ) {
            self.present = present
            self.subject = subject
            self.issuer = issuer
            self.serial = serial
            self.sha256 = sha256
            self.notBefore = notBefore
            self.notAfter = notAfter
            self.chainVerified = chainVerified
        }
    }

    /// The shape of one request field that carries user data; never its content.
    package struct Input: Sendable, Hashable {
        package var field: String
        /// UTF-8 length of the value as sent.
        package var bytes: Int
        /// For fields that must be Base64: whether the value is strict Base64.
        package var base64Valid: Bool?
        /// Length after Base64 decoding.
        package var decodedBytes: Int?
        /// The key version a ciphertext or legacy signature carries in its first four bytes.
        package var embeddedVersion: Int?
        /// Whether the decoded bytes are themselves Base64 text (the value was encoded twice).
        package var innerBase64: Bool?
        /// For a certificate password: whether it holds a control character (NUL, a line break, …).
        package var controlCharacters: Bool?
        /// For a bulk registration's CSV: how many data rows it holds, and how many of them cannot be registered.
        package var rows: Int?
        package var invalidRows: Int?

        package init(
            field: String, bytes: Int, base64Valid: Bool? = nil, decodedBytes: Int? = nil, embeddedVersion: Int? = nil,
            innerBase64: Bool? = nil, controlCharacters: Bool? = nil, rows: Int? = nil, invalidRows: Int? = nil
        ) {
            self.rows = rows
            self.invalidRows = invalidRows
            self.field = field
            self.bytes = bytes
            self.base64Valid = base64Valid
            self.decodedBytes = decodedBytes
            self.embeddedVersion = embeddedVersion
            self.innerBase64 = innerBase64
            self.controlCharacters = controlCharacters
        }
    }

    package struct Response: Sendable, Hashable {
        package var httpStatus: Int
        package var resultCode: Int
        package var resultMessage: String
        package var isSuccessful: Bool
        package var keyVersion: Int?

        package init(
            httpStatus: Int, resultCode: Int, resultMessage: String, isSuccessful: Bool, keyVersion: Int? = nil
        ) {
            self.httpStatus = httpStatus
            self.resultCode = resultCode
            self.resultMessage = resultMessage
            self.isSuccessful = isSuccessful
            self.keyVersion = keyVersion
        }
    }

    package init(
        time: Date, requestId: String, method: String, path: String, apiVersion: String? = nil,
        operation: String? = nil,
        appkey: String? = nil, keyId: String? = nil, keyStoreId: String? = nil, keyStoreName: String? = nil,
        authKind: String? = nil, resourceName: String? = nil, requestedKeyVersion: Int? = nil,
        authScheme: String? = nil, userAccessKeyId: String? = nil, credentialsRequired: Bool? = nil,
        token: TokenObservation? = nil, clientDate: Date? = nil, client: Client = Client(), inputs: [Input] = [],
        body: Body? = nil,
        query: [String: String] = [:], headerBytes: Int? = nil, response: Response, durationMs: Double = 0
    ) {
        self.time = time
        self.requestId = requestId
        self.method = method
        self.path = path
        self.apiVersion = apiVersion
        self.operation = operation
        self.appkey = appkey
        self.keyId = keyId
        self.keyStoreId = keyStoreId
        self.keyStoreName = keyStoreName
        self.authKind = authKind
        self.resourceName = resourceName
        self.requestedKeyVersion = requestedKeyVersion
        self.authScheme = authScheme
        self.userAccessKeyId = userAccessKeyId
        self.credentialsRequired = credentialsRequired
        self.token = token
        self.clientDate = clientDate
        self.client = client
        self.inputs = inputs
        self.body = body
        self.query = query
        self.headerBytes = headerBytes
        self.response = response
        self.durationMs = durationMs
    }
}

extension RequestRecord {
    /// The record of an engine call, as the server writes it. `token` is what the engine's ``Engine/inspectToken(_:)``
    /// found in the request's bearer token; `clientDate` the request's `Date` header; `credentialsRequired` what
    /// ``Engine/credentialsRequirement(of:)`` says of the request.
    package init(
        request: APIRequest, client identity: ClientIdentity, outcome: Outcome,
        authority: @autoclosure () -> CertificateAuthority?,
        time: Date, requestId: String, method: String, path: String, durationMs: Double, bodyBytes: Int? = nil,
        headerBytes: Int? = nil, token: TokenObservation? = nil, clientDate: Date? = nil,
        credentialsRequired: Bool? = nil
    ) {
        let error = outcome.error
        self.init(
            time: time, requestId: requestId, method: method, path: path, credentialsRequired: credentialsRequired,
            clientDate: clientDate, client: Client(identity, authority: authority()), headerBytes: headerBytes,
            response: Response(
                httpStatus: error?.httpStatus ?? 200, resultCode: error?.resultCode ?? 0,
                resultMessage: error?.resultMessage ?? "success", isSuccessful: error == nil,
                keyVersion: outcome.keyVersion),
            durationMs: durationMs)
        describe(request, bodyBytes: bodyBytes)
        query = Self.loggedQuery(request.query)
        if request.credentials.bearerToken != nil { self.token = token ?? TokenObservation(authentic: false) }
    }

    /// Fills in what the request itself says (its route, the resource it names, how it authenticates, its inputs and
    /// body), for the server's record and for a request read back from a capture alike.
    package mutating func describe(_ request: APIRequest, bodyBytes: Int?) {
        apiVersion = request.apiVersion.rawValue
        operation = request.operation.rawValue
        appkey = request.appkey.isEmpty ? nil : request.appkey
        keyId = request.keyId
        keyStoreId = request.keyStoreId
        keyStoreName = nil
        if case .json(let body) = request.body { keyStoreName = body["keyStoreName"]?.stringValue }
        requestedKeyVersion = request.query["keyVersion"].flatMap { Int($0) }
        if request.operation == .verifyStandard, case .json(let body) = request.body {
            requestedKeyVersion = body["keyVersion"]?.intValue
        }
        authKind = request.authKind?.rawValue
        resourceName = request.resourceName
        authScheme = Self.scheme(of: request.credentials, operation: request.operation)
        userAccessKeyId = nil
        userAccessKeyIdBytes = nil
        if request.credentials.bearerToken == nil, let id = request.credentials.userAccessKeyID {
            // A malformed id may be a secret pasted in the wrong header: only its length is kept.
            if UserAccessKey.isWellFormedID(id) { userAccessKeyId = id } else { userAccessKeyIdBytes = id.utf8.count }
        }
        inputs = Self.inputs(of: request)
        body = Self.body(of: request, bytes: bodyBytes)
    }

    /// The record of a request the engine never saw: no route matched, or the headers were over the limit.
    package init(
        unrouted route: APIRoute, client identity: ClientIdentity, outcome: Outcome,
        authority: @autoclosure () -> CertificateAuthority?,
        time: Date, requestId: String, method: String, path: String, durationMs: Double, headerBytes: Int? = nil,
        clientDate: Date? = nil
    ) {
        var apiVersion: String?
        var appkey: String?
        if case .notFound(let version, let key) = route {
            apiVersion = version?.rawValue
            appkey = key
        }
        let error = outcome.error ?? .internalError
        self.init(
            time: time, requestId: requestId, method: method, path: path, apiVersion: apiVersion, appkey: appkey,
            clientDate: clientDate, client: Client(identity, authority: authority()), headerBytes: headerBytes,
            response: Response(
                httpStatus: error.httpStatus, resultCode: error.resultCode, resultMessage: error.resultMessage,
                isSuccessful: false),
            durationMs: durationMs)
    }

    /// The body's shape: size, whether it is a JSON object, its members' names and types, and non-secret values.
    package static func body(of request: APIRequest, bytes: Int?) -> Body? {
        switch request.body {
        case .none:
            return bytes.map { Body(bytes: $0, json: false) }
        case .malformed:
            return Body(bytes: bytes ?? 0, json: false)
        case .oversized(let limit):
            return Body(bytes: bytes ?? limit + 1, json: false)
        case .json(let value):
            guard let object = value.objectValue else { return Body(bytes: bytes ?? 0, json: false) }
            var values: [String: String] = [:]
            for member in object.members where Body.loggedValues.contains(member.key) {
                switch member.value {
                case .string(let text): values[member.key] = String(text.prefix(256))
                case .int(let number): values[member.key] = String(number)
                case .double(let number): values[member.key] = String(number)
                case .bool(let flag): values[member.key] = flag ? "true" : "false"
                default: break
                }
            }
            return Body(
                bytes: bytes ?? JSONWriter().bytes(value).count, json: true,
                fields: object.members.map { $0.key + ":" + $0.value.typeName }, values: values)
        }
    }

    /// How a request authenticated as a user: `bearer`, `uak`, `basic` (a token request), or `nil`.
    package static func scheme(of credentials: Credentials, operation: APIOperation) -> String? {
        if credentials.bearerToken != nil { return "bearer" }
        if credentials.userAccessKeyID != nil { return operation == .createToken ? "basic" : "uak" }
        return nil
    }

    /// The shapes of a request's user-data fields.
    package static func inputs(of request: APIRequest) -> [Input] {
        guard case .json(let body) = request.body, let object = body.objectValue else { return [] }
        var inputs: [Input] = []
        for member in object.members {
            guard let text = member.value.stringValue else { continue }
            switch member.key {
            case "ciphertext":
                inputs.append(blobInput(field: member.key, text: text, layout: .ciphertext))
            case "signature":
                inputs.append(
                    blobInput(
                        field: member.key, text: text,
                        layout: request.operation == .verify ? .legacySignature : .rawSignature))
            case "plaintext" where request.operation == .signStandard || request.operation == .verifyStandard:
                inputs.append(blobInput(field: member.key, text: text, layout: .raw))
            case "password":
                inputs.append(
                    Input(
                        field: member.key, bytes: text.utf8.count,
                        controlCharacters: text.unicodeScalars.contains { $0.properties.generalCategory == .control }))
            case "plaintext", "secretValue":
                inputs.append(Input(field: member.key, bytes: text.utf8.count))
            case "csv" where request.operation == .importAuth:
                // How many rows the file holds and how many cannot be registered; never the addresses.
                let contents = AuthImportFile.read(text)
                inputs.append(
                    Input(
                        field: member.key, bytes: text.utf8.count, rows: contents.count,
                        invalidRows: AuthImportFile.invalidRowCount(contents)))
            case "symmetricKey" where request.operation == .importSymmetricKey:
                // How many bytes the text writes, in any form the import reads; never which.
                inputs.append(
                    Input(
                        field: member.key, bytes: text.utf8.count,
                        decodedBytes: ImportedKeyMaterial.bytes(in: text)?.count))
            default:
                continue
            }
        }
        return inputs
    }

    enum BlobLayout {
        case ciphertext, legacySignature, rawSignature, raw

        var carriesVersion: Bool { self == .ciphertext || self == .legacySignature }
    }

    static func blobInput(field: String, text: String, layout: BlobLayout) -> Input {
        var input = Input(field: field, bytes: text.utf8.count)
        // Its shape only: the record keeps no decoded byte, so none is made.
        guard let shape = StrictBase64.shape(of: text) else {
            input.base64Valid = false
            return input
        }
        input.base64Valid = true
        input.decodedBytes = shape.count
        if layout.carriesVersion, let word = shape.leadingWord { input.embeddedVersion = Int(word) }
        if layout != .raw { input.innerBase64 = shape.isBase64Text }
        return input
    }
}

extension RequestRecord.Client {
    /// `authority` is read only when the client presented a certificate: most present none, and the CA is a large
    /// value to copy on every request.
    package init(_ identity: ClientIdentity, authority: @autoclosure () -> CertificateAuthority?) {
        self.init(
            ip: identity.address?.description, peer: identity.peerAddress, forwardedFor: identity.forwardedFor,
            macHeader: identity.macHeader, tls: identity.tls,
            cert: RequestRecord.CertificateObservation(identity.certificateChain.first, authority: authority()))
    }
}

extension RequestRecord.CertificateObservation {
    package init(_ certificate: Certificate?, authority: @autoclosure () -> CertificateAuthority?) {
        // Most requests present none: nothing to read, not even the CA's certificate.
        guard let certificate else {
            self = .absent
            return
        }
        guard let authority = authority() else {
            self.init(certificate, issuer: nil)
            return
        }
        // What client authentication found on the same certificate.
        let found = authority.examine(certificate)
        self.init(
            present: true, subject: found.subject, issuer: found.issuer, serial: found.serial, sha256: found.sha256,
            notBefore: found.notBefore, notAfter: found.notAfter,
            chainVerified: found.issuedByThisCA && found.signedByThisCA)
    }

    /// What a certificate shows, with `chainVerified` checked against the CA certificate `issuer` when one is given:
    /// all an analyser holding only the public half of the CA can check.
    package init(_ certificate: Certificate?, issuer: Certificate?) {
        guard let certificate else {
            self = .absent
            return
        }
        var verified: Bool?
        if let issuer {
            verified =
                certificate.issuer == issuer.subject
                && issuer.publicKey.isValidSignature(certificate.signature, for: certificate)
        }
        let validity = certificate.validityPeriod
        self.init(
            present: true, subject: certificate.subject.description, issuer: certificate.issuer.description,
            serial: certificate.serialNumberHex, sha256: certificate.sha256Fingerprint,
            notBefore: validity.notBefore, notAfter: validity.notAfter, chainVerified: verified)
    }
}
