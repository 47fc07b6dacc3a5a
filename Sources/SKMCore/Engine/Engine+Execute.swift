import Crypto
import Foundation

extension Engine {
    /// Answers an API request from `client` with a result or exactly one catalogue error, following the decision
    /// procedure of DESIGN §6. Never throws: a storage failure becomes Internal Error, with its reason kept for
    /// operators only.
    public func execute(_ request: Request, from client: ClientIdentity) async -> Outcome {
        do {
            return try await decide(request, client)
        } catch let rejection as Rejection {
            return .failure(rejection)
        } catch let error as StorageError where error.code == .duplicate {
            return .failure(Rejection(.otherwiseMalformed, error.reason))
        } catch let error as StorageError where error.code == .actorRevoked {
            return .failure(Rejection(.accessKeyInService, error.reason))
        } catch {
            return .failure(Rejection(.serverFailed, String(describing: error)))
        }
    }

    private func decide(_ request: Request, _ client: ClientIdentity) async throws -> Outcome {
        let operation = request.operation
        // 1. The route exists in this API version.
        guard operation.availableVersions.contains(request.apiVersion) else {
            throw Rejection(
                .operationInVersion, "\(operation.rawValue) is not part of API \(request.apiVersion.rawValue)")
        }
        if operation == .createToken { return try await createToken(request) }
        // 2. The appkey exists.
        let appkey = try await existingAppkey(request.appkey)
        switch operation.category {
        case .confirm:
            return Outcome(.success(.body(confirmation(of: client))))
        case .management:
            // 3. A valid User Access Key or bearer token of this appkey (v1.0 reads: the appkey alone, unless the
            // server is told otherwise).
            guard credentialsRequirement(of: request) != false else {
                var outcome = try await manage(request, actor: "appkey")
                if case .success(.body(let body)) = outcome.result {
                    outcome.result = .success(.body(Self.withoutCredentials(body)))
                }
                return outcome
            }
            let actor = try await authenticate(request.credentials, appkey: appkey.id)
            return try await manage(request, actor: actor)
        case .data:
            return try await performDataCall(request, client)
        case .token:
            return try await createToken(request)
        }
    }

    /// An answer for a caller that showed no credentials: certificate passwords withheld (`null`), and User Access
    /// Key ids in creation and change stamps reduced to `uak` (an id is half a credential).
    static func withoutCredentials(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let object):
            return .object(
                JSONObject(
                    object.members.map { member in
                        if member.key == "password" { return JSONObject.Member(key: member.key, value: .null) }
                        return JSONObject.Member(key: member.key, value: withoutCredentials(member.value))
                    }))
        case .array(let items):
            return .array(items.map(withoutCredentials))
        case .string(let text) where text.hasPrefix("uak:"):
            return .string("uak")
        default:
            return value
        }
    }

    /// For the v1.0 reads, whether step 3 applies (the request log records it, for the analyser); `nil` for every
    /// other operation, whose need for credentials never varies.
    public func credentialsRequirement(of request: Request) -> Bool? {
        guard request.apiVersion == .v1_0, request.operation.isSettingsRead else { return nil }
        return configuration.v1_0ReadsNeedCredentials
    }

    /// What `GET …/confirm` echoes: the address, MAC header and certificate the server observed.
    func confirmation(of client: ClientIdentity) -> JSONValue {
        [
            "clientIp": .optional(client.address?.description ?? client.peerAddress),
            "clientMacHeader": .optional(client.macHeader),
            "clientSentCertificate": .bool(!client.certificateChain.isEmpty),
        ]
    }

    // MARK: - Data calls

    /// The validated fields of a data call (step 4).
    struct DataParameters {
        var plaintext: String?
        var blob: String?
        var message: Data?
        var padding: KeyMaterial.SignaturePadding?
        var keyVersion: Int?
    }

    func validateDataCall(_ request: Request) throws(Rejection) -> DataParameters {
        let operation = request.operation
        let needsBody: Bool
        switch operation {
        case .encrypt, .decrypt, .sign, .verify, .signStandard, .verifyStandard: needsBody = true
        default: needsBody = false
        }
        let fields = try RequestFields(request, needsBody: needsBody)
        var parameters = DataParameters()
        switch operation {
        case .encrypt:
            parameters.plaintext = try fields.string("plaintext", maxBytes: Limits.textBytes, or: .plaintextWithin32KB)
        case .decrypt:
            parameters.blob = try fields.string("ciphertext", maxBytes: Limits.blobCharacters, or: .blobWithinLimit)
        case .sign:
            parameters.plaintext = try fields.string(
                "plaintext", maxBytes: Limits.legacySignBytes, or: .plaintextWithin245Bytes)
        case .verify:
            parameters.plaintext = try fields.string(
                "plaintext", maxBytes: Limits.legacySignBytes, or: .plaintextWithin245Bytes)
            parameters.blob = try fields.string("signature", maxBytes: Limits.blobCharacters, or: .blobWithinLimit)
        case .signStandard, .verifyStandard:
            let encoded = fields.string("plaintext")
            guard let message = StrictBase64.decode(encoded) else {
                throw Rejection.invalidField(.standardPlaintextBase64, "plaintext", "must be Base64")
            }
            guard message.count <= Limits.standardSignBytes else {
                throw Rejection.invalidField(
                    .standardPlaintextBase64, "plaintext",
                    "decodes to \(message.count) bytes, over the limit of \(Limits.standardSignBytes)")
            }
            parameters.message = message
            if operation == .verifyStandard {
                parameters.blob = try fields.string(
                    "signature", maxBytes: Limits.blobCharacters, or: .blobWithinLimit)
            }
            guard let padding = KeyMaterial.SignaturePadding(rawValue: fields.string("algorithm")) else {
                throw Rejection.invalidField(.algorithmKnown, "algorithm", "must be RSASSA-PSS or RSASSA-PKCS1-v1_5")
            }
            parameters.padding = padding
            if operation == .verifyStandard {
                parameters.keyVersion = try fields.integer(
                    "keyVersion", in: 0...Int(Int32.max), or: .bodyKeyVersionValid)
            }
        case .getSymmetricKey:
            // v1.0 has no per-version query; the parameter is ignored there as SKM ignores it.
            if request.apiVersion >= .v1_1 {
                parameters.keyVersion = try fields.queryInteger(
                    "keyVersion", in: 0...Int(Int32.max), or: .queryKeyVersionValid)
            }
        case .getPrivateKey, .getPublicKey:
            parameters.keyVersion = try fields.queryInteger(
                "keyVersion", in: 0...Int(Int32.max), or: .queryKeyVersionValid)
        default:
            break
        }
        return parameters
    }

    private func performDataCall(_ request: Request, _ client: ClientIdentity) async throws -> Outcome {
        let operation = request.operation
        // 4. Body and parameters.
        let parameters = try validateDataCall(request)
        // 5. The key: of this appkey, not deleted, of the right type.
        let keyId = request.keyId ?? ""
        guard ManagedKey.isWellFormedID(keyId) else {
            throw Rejection(.keyIDWellFormed, "'\(keyId.prefix(64))' is not a key id")
        }
        guard let context = try await storage.keyContext(keyId: keyId) else {
            throw Rejection(.keyExists, "no key '\(keyId)'")
        }
        let key = context.key
        guard key.appkey == request.appkey else {
            throw Rejection(.keyOfThisAppkey, "key \(keyId) belongs to another appkey")
        }
        guard key.status != .deleted else { throw Rejection(.keyNotDeleted, "key \(keyId) was deleted") }
        guard context.store?.status != .deleted else {
            throw Rejection(.keyStoreNotDeleted, "the key store of key \(keyId) was deleted")
        }
        guard let required = operation.requiredKeyType, key.type == required else {
            throw Rejection(
                .keyTypeFits,
                "key \(keyId) is a \(key.type.rawValue); \(operation.rawValue) needs a \(operation.requiredKeyType?.rawValue ?? "?")"
            )
        }
        // 6. Client authentication of the key's store.
        var entriesUsed: [Int] = []
        if operation.usesClientAuthentication {
            guard let store = context.store else {
                throw Rejection(.serverFailed, "key \(keyId) refers to missing key store \(key.keyStoreId)")
            }
            entriesUsed = try authenticator.authenticate(
                client, store: store, entries: context.authEntries, at: clock.now
            ).get()
        }
        // 7. The key is In Service.
        guard key.status == .active else {
            throw Rejection(operation.inactiveKeyCheck, "key \(keyId) is \(key.status.rawValue)")
        }
        // 8. Versions and user data.
        var outcome = try perform(operation, parameters, context)
        if operation == .getSymmetricKey, request.apiVersion == .v1_0,
            case .success(.body(.object(var body))) = outcome.result
        {
            // v1.0 answered with the key alone; the version appeared with v1.1.
            body["keyVersion"] = nil
            outcome.result = .success(.body(.object(body)))
        }
        if outcome.error == nil { usage.noteUse(key: key.id, entries: entriesUsed, at: clock.now) }
        return outcome
    }

    /// A version by number for decrypt/verify and `keyVersion` queries: exists (not deleted), then In Service.
    /// `encodedTwice` tells that the number came out of a blob that was Base64-encoded twice.
    private func usableVersion(
        _ number: Int, in context: KeyContext, encodedTwice: Bool = false
    ) throws(Rejection) -> (KeyVersion, Data) {
        guard let version = context.versions.first(where: { $0.number == number }), version.status != .deleted else {
            let why = "key \(context.key.id) has no version \(number) (latest is \(context.key.latestVersion))"
            if encodedTwice { throw Rejection(.blobNotEncodedTwice, why + "; the blob was Base64-encoded twice") }
            if number > context.key.latestVersion { throw Rejection(.versionNotNewerThanKey, why) }
            throw Rejection(.versionExists, why)
        }
        guard version.status == .inService else {
            throw Rejection(
                .versionInService, "version \(number) of key \(context.key.id) is \(version.status.rawValue)")
        }
        return (version, try material(of: version.number, in: context))
    }

    private func primaryVersion(in context: KeyContext) throws(Rejection) -> (KeyVersion, Data) {
        guard let version = context.versions.primary else {
            throw Rejection(.versionInService, "key \(context.key.id) has no version In Service")
        }
        return (version, try material(of: version.number, in: context))
    }

    private func material(of number: Int, in context: KeyContext) throws(Rejection) -> Data {
        let label = SealContext.keyMaterial(keyId: context.key.id, version: number)
        guard let sealed = context.sealedMaterial[number] else {
            throw Rejection(.serverFailed, "material of \(label.label) is missing")
        }
        do {
            return try vault.open(sealed, for: label)
        } catch {
            throw Rejection(.serverFailed, error.reason)
        }
    }

    private func perform(
        _ operation: Operation, _ parameters: DataParameters, _ context: KeyContext
    ) throws
        -> Outcome
    {
        let keyId = context.key.id
        switch operation {
        case .getSecret:
            let value = try material(of: 0, in: context)
            return Outcome(.success(.body(["secret": .string(String(decoding: value, as: UTF8.self))])))

        case .encrypt:
            let (version, key) = try primaryVersion(in: context)
            let blob = try KeyMaterial.encrypt(
                Data((parameters.plaintext ?? "").utf8), material: key, keyId: keyId, version: version.number)
            return Outcome(
                .success(.body(["ciphertext": .string(blob.base64), "keyVersion": .int(version.number)])),
                keyVersion: version.number)

        case .createLocalKey:
            let (version, key) = try primaryVersion(in: context)
            let localKey = KeyMaterial.generateSymmetric().base64EncodedString()
            let blob = try KeyMaterial.encrypt(
                Data(localKey.utf8), material: key, keyId: keyId, version: version.number)
            return Outcome(
                .success(
                    .body([
                        "localKeyPlaintext": .string(localKey), "localKeyCiphertext": .string(blob.base64),
                        "keyVersion": .int(version.number),
                    ])), keyVersion: version.number)

        case .decrypt:
            let blob: CiphertextBlob
            switch CiphertextBlob.parse(base64: parameters.blob ?? "") {
            case .success(let parsed): blob = parsed
            case .failure(.notBase64): throw Rejection(.blobIsBase64, "the ciphertext is not valid Base64")
            case .failure(let problem): throw Rejection(.blobComplete, "the ciphertext \(problem)")
            }
            let (version, key) = try usableVersion(
                Int(blob.version), in: context,
                encodedTwice: StrictBase64.decodesToBase64Text(parameters.blob ?? ""))
            guard let plaintext = KeyMaterial.decrypt(blob, material: key, keyId: keyId),
                let text = String(data: plaintext, encoding: .utf8)
            else {
                throw Rejection(
                    .dataAuthenticates,
                    "the ciphertext does not authenticate under version \(version.number) of key \(keyId) (damaged, truncated or made with another key)"
                )
            }
            return Outcome(
                .success(.body(["plaintext": .string(text), "keyVersion": .int(version.number)])),
                keyVersion: version.number)

        case .getSymmetricKey:
            let (version, key) =
                try parameters.keyVersion.map { try usableVersion($0, in: context) }
                ?? primaryVersion(in: context)
            return Outcome(
                .success(.body(["symmetricKey": .string(HexList.render(key)), "keyVersion": .int(version.number)])),
                keyVersion: version.number)

        case .sign:
            let (version, key) = try primaryVersion(in: context)
            let signature = try KeyMaterial.sign(
                Data((parameters.plaintext ?? "").utf8), material: key, padding: .pkcs1v15)
            let blob = SignatureBlob(version: UInt32(version.number), signature: signature)
            return Outcome(
                .success(.body(["signature": .string(blob.base64), "keyVersion": .int(version.number)])),
                keyVersion: version.number)

        case .verify:
            let blob: SignatureBlob
            switch SignatureBlob.parse(base64: parameters.blob ?? "") {
            case .success(let parsed): blob = parsed
            case .failure(.notBase64): throw Rejection(.blobIsBase64, "the signature is not valid Base64")
            case .failure(let problem): throw Rejection(.blobComplete, "the signature \(problem)")
            }
            let (version, key) = try usableVersion(
                Int(blob.version), in: context,
                encodedTwice: StrictBase64.decodesToBase64Text(parameters.blob ?? ""))
            let valid = try KeyMaterial.verify(
                blob.signature, for: Data((parameters.plaintext ?? "").utf8), material: key, padding: .pkcs1v15)
            return Outcome(
                .success(.body(["result": .bool(valid), "keyVersion": .int(version.number)])),
                keyVersion: version.number)

        case .signStandard:
            let (version, key) = try primaryVersion(in: context)
            let padding = parameters.padding ?? .pss
            let signature = try KeyMaterial.sign(parameters.message ?? Data(), material: key, padding: padding)
            var body: JSONObject = [
                "signature": .string(signature.base64EncodedString()), "algorithm": .string(padding.rawValue),
                "hashAlgorithm": "SHA-256",
            ]
            if padding == .pss {
                body["mgfAlgorithm"] = "MGF1-SHA-256"
                body["saltLength"] = 32
            }
            body["keyVersion"] = .int(version.number)
            return Outcome(.success(.body(.object(body))), keyVersion: version.number)

        case .verifyStandard:
            guard let signature = StrictBase64.decode(parameters.blob ?? "") else {
                throw Rejection(.blobIsBase64, "the signature is not valid Base64")
            }
            guard signature.count == SignatureBlob.signatureLength else {
                throw Rejection(
                    .blobComplete,
                    "the signature must be Base64 of \(SignatureBlob.signatureLength) bytes (an RSA-2048 signature)")
            }
            let (version, key) = try usableVersion(parameters.keyVersion ?? 0, in: context)
            let valid = try KeyMaterial.verify(
                signature, for: parameters.message ?? Data(), material: key, padding: parameters.padding ?? .pss)
            return Outcome(
                .success(.body(["result": .bool(valid), "keyVersion": .int(version.number)])),
                keyVersion: version.number)

        case .getPrivateKey, .getPublicKey:
            let (version, key) =
                try parameters.keyVersion.map { try usableVersion($0, in: context) }
                ?? primaryVersion(in: context)
            let der =
                operation == .getPrivateKey ? try KeyMaterial.privateKeyDER(key) : try KeyMaterial.publicKeyDER(key)
            return Outcome(
                .success(
                    .body([
                        "keyType": .string(operation == .getPrivateKey ? "PrivateKey" : "PublicKey"),
                        "key": .string(HexList.render(der)), "encodedKey": .string(der.base64EncodedString()),
                        "keyVersion": .int(version.number),
                    ])), keyVersion: version.number)

        default:
            throw Rejection(.serverFailed, "\(operation.rawValue) is not a data call")
        }
    }

    // MARK: - Credentials

    /// Step 3: a User Access Key of this appkey (id and secret), or an unexpired bearer token issued for one.
    /// Returns the actor name recorded in audit events.
    ///
    /// The order (exists, in service, of this appkey, then the secret) is the order of the rule for Unauthorized;
    /// clients get the same answer whichever fails, so the order tells nothing to a caller without the secret.
    func authenticate(_ credentials: Credentials, appkey: String) async throws -> String {
        if let token = credentials.bearerToken {
            let claims = try verifyToken(token)
            let accessKey = try await usableAccessKey(claims.accessKeyID)
            guard accessKey.appkey == appkey else {
                throw Rejection(
                    .accessKeyOfThisAppkey,
                    "the bearer token was issued to User Access Key \(accessKey.id) of another appkey")
            }
            return "uak:\(accessKey.id)"
        }
        guard let id = credentials.userAccessKeyID else {
            throw Rejection(.credentialsPresent, "no User Access Key or bearer token")
        }
        let accessKey = try await usableAccessKey(id)
        guard accessKey.appkey == appkey else {
            throw Rejection(.accessKeyOfThisAppkey, "User Access Key \(id) belongs to another appkey")
        }
        try checkSecret(credentials.userAccessKeySecret, of: accessKey)
        return "uak:\(accessKey.id)"
    }

    /// A User Access Key that exists and is in service.
    func usableAccessKey(_ id: String) async throws -> UserAccessKey {
        // Not even the shape of an id: most likely the secret or a token in the wrong header, so never echoed.
        guard UserAccessKey.isWellFormedID(id) else {
            throw Rejection(
                .accessKeyExists, "the User Access Key id sent is not an id (\(id.utf8.count) characters; not shown)")
        }
        guard let accessKey = try await storage.userAccessKey(id: id) else {
            throw Rejection(.accessKeyExists, "no User Access Key '\(id)'")
        }
        guard accessKey.status == .inService else {
            throw Rejection(.accessKeyInService, "User Access Key \(id) is \(accessKey.status.rawValue)")
        }
        return accessKey
    }

    func checkSecret(_ secret: String?, of accessKey: UserAccessKey) throws(Rejection) {
        guard let secret else {
            throw Rejection(.secretValid, "no secret was sent with User Access Key \(accessKey.id)")
        }
        let digest = Self.digest(secret: secret, salt: accessKey.salt)
        guard ConstantTime.equal(digest, accessKey.secretDigest) else {
            throw Rejection(.secretValid, "wrong secret for User Access Key \(accessKey.id)")
        }
    }

    /// A User Access Key in service whose secret is `secret`.
    func verifyAccessKey(id: String, secret: String) async throws -> UserAccessKey {
        let accessKey = try await usableAccessKey(id)
        try checkSecret(secret, of: accessKey)
        return accessKey
    }

    /// `POST /oauth2/token/create`: Basic authorization with a User Access Key, `grant_type=client_credentials`.
    private func createToken(_ request: Request) async throws -> Outcome {
        guard let id = request.credentials.userAccessKeyID else {
            throw Rejection(.credentialsPresent, "token creation needs Basic authorization with a User Access Key")
        }
        let accessKey = try await usableAccessKey(id)
        try checkSecret(request.credentials.userAccessKeySecret, of: accessKey)
        let fields = try RequestFields(request, needsBody: true)
        guard fields.string("grant_type") == "client_credentials" else {
            throw Rejection.invalidField(.grantTypeClientCredentials, "grant_type", "must be client_credentials")
        }
        let lifetime = Int(configuration.tokenLifetime)
        let token = issueToken(
            accessKeyID: accessKey.id, expires: clock.now.addingTimeInterval(configuration.tokenLifetime))
        return Outcome(
            .success(
                .bare(["access_token": .string(token), "token_type": "Bearer", "expires_in": .int(lifetime)])))
    }

    /// A stateless token: `skm1.<base64url(uak.expiry)>.<base64url(HMAC-SHA-256)>` under a key derived from the
    /// system key, so every server on the same database accepts it.
    func issueToken(accessKeyID: String, expires: Date) -> String {
        let payload = Data("\(accessKeyID).\(Int64(expires.timeIntervalSince1970))".utf8)
        let mac = HMAC<SHA256>.authenticationCode(for: payload, using: vault.derivedKey(purpose: "token"))
        return "skm1.\(payload.base64URLEncoded).\(Data(mac).base64URLEncoded)"
    }

    /// What a bearer token says of itself, and whether this installation issued it; `nil` when it is not a token
    /// of this format at all. Nothing here is secret: the request log records it (never the token).
    public func inspectToken(_ token: String) -> TokenObservation? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "skm1", let payload = Data(base64URLEncoded: String(parts[1])),
            let mac = Data(base64URLEncoded: String(parts[2]))
        else { return nil }
        let authentic = HMAC<SHA256>.isValidAuthenticationCode(
            mac, authenticating: payload, using: vault.derivedKey(purpose: "token"))
        let text = String(decoding: payload, as: UTF8.self)
        guard let dot = text.lastIndex(of: "."), let expiry = Int64(text[text.index(after: dot)...]),
            let expires = Timestamp.date(secondsSince1970: expiry)
        else { return TokenObservation(authentic: false, accessKeyId: nil, expiresAt: nil) }
        let accessKey = String(text[..<dot])
        guard authentic else {
            // Claims of a token this installation did not sign are not evidence of anything.
            return TokenObservation(authentic: false, accessKeyId: nil, expiresAt: nil)
        }
        return TokenObservation(authentic: true, accessKeyId: accessKey, expiresAt: expires)
    }

    /// The claims of a token this installation issued that has not expired.
    func verifyToken(_ token: String) throws(Rejection) -> (accessKeyID: String, expires: Date) {
        guard let observed = inspectToken(token), observed.authentic, let accessKey = observed.accessKeyId,
            let expires = observed.expiresAt
        else {
            throw Rejection(.tokenAuthentic, "the bearer token was not issued by this key manager, or was altered")
        }
        guard expires > clock.now else {
            throw Rejection(.tokenNotExpired, "the bearer token expired at \(Timestamp.rfc3339(expires))")
        }
        return (accessKey, expires)
    }
}

/// What the request log records of a bearer token: whether this installation signed it and, when it did, the User
/// Access Key it was issued to and when it expires. Never the token itself.
public struct TokenObservation: Sendable, Hashable {
    public var authentic: Bool
    public var accessKeyId: String?
    public var expiresAt: Date?

    public init(authentic: Bool, accessKeyId: String? = nil, expiresAt: Date? = nil) {
        self.authentic = authentic
        self.accessKeyId = accessKeyId
        self.expiresAt = expiresAt
    }
}

enum ConstantTime {
    static func equal(_ lhs: Data, _ rhs: Data) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for (left, right) in zip(lhs, rhs) { difference |= left ^ right }
        return difference == 0
    }
}

extension Data {
    var base64URLEncoded: String {
        base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    init?(base64URLEncoded text: String) {
        var standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while standard.utf8.count % 4 != 0 { standard += "=" }
        self.init(base64Encoded: standard)
    }
}
