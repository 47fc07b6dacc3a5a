import Crypto
import Foundation

/// Data calls: encrypt, decrypt, sign, verify, and reading keys and secrets, with the key and version checks.
extension Engine {
    /// The validated fields of a data call (step 4).
    struct DataParameters {
        var plaintext: String?
        var blob: String?
        var message: Data?
        var padding: KeyMaterial.SignaturePadding?
        var keyVersion: Int?
    }

    func validateDataCall(_ request: APIRequest) throws(Rejection) -> DataParameters {
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

    func performDataCall(_ request: APIRequest, _ client: ClientIdentity) async throws -> Outcome {
        let operation = request.operation
        // 4. Body and parameters.
        let parameters = try validateDataCall(request)
        // 5. The key: of this appkey, not deleted, of the right type.
        let keyId = request.keyId ?? ""
        guard ManagedKey.isWellFormedID(keyId) else {
            throw Rejection(.keyIDWellFormed, "'\(keyId.prefix(64))' is not a key id")
        }
        // From the cache's memory when it holds the answer (see ``existingAppkey(_:)``).
        let found: KeyContext?
        if let cached = cache?.cachedKeyContext(keyId: keyId) {
            found = cached
        } else {
            found = try await storage.keyContext(keyId: keyId)
        }
        guard let context = found else { throw Rejection(.keyExists, "no key '\(keyId)'") }
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
                client, store: store, entries: context.clientEntries, at: clock.now
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
    func usableVersion(
        _ number: Int, in context: KeyContext, encodedTwice: @autoclosure () -> Bool = false
    ) throws(Rejection) -> (KeyVersion, Data) {
        guard let version = context.versions.first(where: { $0.number == number }), version.status != .deleted else {
            let why = "key \(context.key.id) has no version \(number) (latest is \(context.key.latestVersion))"
            if encodedTwice() { throw Rejection(.blobNotEncodedTwice, why + "; the blob was Base64-encoded twice") }
            if number > context.key.latestVersion { throw Rejection(.versionNotNewerThanKey, why) }
            throw Rejection(.versionExists, why)
        }
        guard version.status == .inService else {
            throw Rejection(
                .versionInService, "version \(number) of key \(context.key.id) is \(version.status.rawValue)")
        }
        return (version, try material(of: version.number, in: context))
    }

    func primaryVersion(in context: KeyContext) throws(Rejection) -> (KeyVersion, Data) {
        guard let version = context.versions.primary else {
            throw Rejection(.versionInService, "key \(context.key.id) has no version In Service")
        }
        return (version, try material(of: version.number, in: context))
    }

    func material(of number: Int, in context: KeyContext) throws(Rejection) -> Data {
        if let opened = context.opened[number] { return opened }
        let label = SealContext.keyMaterial(keyId: context.key.id, version: number)
        guard let sealed = context.sealedMaterial[number] else {
            throw Rejection(.serverFailed, "material of \(label.label) is missing")
        }
        do {
            let material = try vault.open(sealed, for: label)
            context.opened[number] = material
            return material
        } catch {
            throw Rejection(.serverFailed, error.reason)
        }
    }

    /// The AES-GCM key of a symmetric key's version, made once per cached context.
    func cipher(of version: KeyVersion, material: Data, in context: KeyContext) throws(Rejection) -> AESGCMKey {
        guard let cipher = context.opened.cipher(version: version.number, material: material) else {
            throw Rejection(
                .serverFailed, "material of version \(version.number) of key \(context.key.id) is not an AES-256 key")
        }
        return cipher
    }

    func perform(
        _ operation: APIOperation, _ parameters: DataParameters, _ context: KeyContext
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
                parameters.plaintext ?? "", with: cipher(of: version, material: key, in: context), keyId: keyId,
                version: version.number)
            return Outcome(
                .success(
                    .body(["ciphertext": .string(blob.base64EncodedString()), "keyVersion": .int(version.number)])),
                keyVersion: version.number)

        case .createLocalKey:
            let (version, key) = try primaryVersion(in: context)
            let localKey = KeyMaterial.generateSymmetric().base64EncodedString()
            let blob = try KeyMaterial.encrypt(
                localKey, with: cipher(of: version, material: key, in: context), keyId: keyId, version: version.number)
            return Outcome(
                .success(
                    .body([
                        "localKeyPlaintext": .string(localKey),
                        "localKeyCiphertext": .string(blob.base64EncodedString()),
                        "keyVersion": .int(version.number),
                    ])), keyVersion: version.number)

        case .decrypt:
            let blob: CiphertextBlob
            switch CiphertextBlob.parse(base64: parameters.blob ?? "") {
            case .success(let parsed): blob = parsed
            case .failure(let problem) where problem.code == .notBase64:
                throw Rejection(.blobIsBase64, "the ciphertext is not valid Base64")
            case .failure(let problem): throw Rejection(.blobComplete, "the ciphertext \(problem)")
            }
            let (version, key) = try usableVersion(
                Int(blob.version), in: context,
                encodedTwice: StrictBase64.decodesToBase64Text(parameters.blob ?? ""))
            guard let plaintext = try cipher(of: version, material: key, in: context).open(blob, authenticating: keyId),
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
            case .failure(let problem) where problem.code == .notBase64:
                throw Rejection(.blobIsBase64, "the signature is not valid Base64")
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
}
