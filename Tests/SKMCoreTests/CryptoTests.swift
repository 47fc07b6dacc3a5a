import Crypto
import Foundation
import SKMCore
import SKMTestSupport
import Testing
import _CryptoExtras

@Suite struct CryptoTests {
    @Test func encryptDecryptRoundTripsText() async throws {
        let world = try await World.make()
        for text in ["", "data", "héllo wörld ✓", String(repeating: "z", count: 32 * 1024)] {
            let blob = try await world.encrypt(text)
            let outcome = await world.fixture.call(
                .decrypt, key: world.symmetric.id, body: ["ciphertext": .string(blob)], from: world.client)
            #expect(outcome.string("plaintext") == text)
            #expect(outcome.body?["keyVersion"] == 0)
        }
    }

    @Test func ciphertextLayoutIsVersionNonceCiphertextTag() async throws {
        let world = try await World.make()
        let blob = try await world.encrypt("data")
        let data = try #require(Data(base64Encoded: blob))
        let bytes = [UInt8](data)
        #expect(bytes.count == 36)  // version 4, nonce 12, ciphertext 4, tag 16
        #expect(bytes.prefix(4) == [0, 0, 0, 0])
        let parsed = try CiphertextBlob.parse(base64: blob).get()
        #expect(parsed.version == 0)
        #expect(parsed.nonce.count == 12)
        #expect(parsed.tag.count == 16)
    }

    @Test func ciphertextIsBoundToItsKeyID() async throws {
        let world = try await World.make()
        let other = try await world.fixture.key(.symmetric, in: world.ipStore, name: "other")
        let blob = try await world.encrypt("data")
        let outcome = await world.fixture.call(
            .decrypt, key: other.id, body: ["ciphertext": .string(blob)], from: world.client)
        #expect(outcome.error == .invalidUserData)
    }

    enum Damage: String, CaseIterable, Sendable {
        case truncatedBelowMinimum, lastTagByteCut, base64OfBase64, whitespaceInside, empty

        func apply(_ blob: String) -> String {
            let bytes = Data(base64Encoded: blob)!
            switch self {
            case .truncatedBelowMinimum: return Data(bytes.prefix(20)).base64EncodedString()
            case .lastTagByteCut: return Data(bytes.dropLast()).base64EncodedString()
            case .base64OfBase64: return Data(blob.utf8).base64EncodedString()
            case .whitespaceInside: return String(blob.prefix(8)) + " " + String(blob.dropFirst(8))
            case .empty: return ""
            }
        }

        /// What the decision procedure answers. A blob encoded twice is still Base64 of enough bytes, so its first
        /// four bytes ("AAAA" = 0x41414141) read as a version the key never had.
        var expected: APIError {
            self == .base64OfBase64 ? .invalidKeyVersion : .invalidUserData
        }
    }

    @Test(arguments: Damage.allCases)
    func damagedBlobsAreRefused(_ damage: Damage) async throws {
        let world = try await World.make()
        let blob = try await world.encrypt("some secret text")
        let outcome = await world.fixture.call(
            .decrypt, key: world.symmetric.id, body: ["ciphertext": .string(damage.apply(blob))], from: world.client)
        #expect(outcome.error == damage.expected, "\(outcome.rejection?.description ?? "success")")
    }

    @Test func rotationKeepsOldVersionsDecryptable() async throws {
        let world = try await World.make()
        let engine = world.fixture.engine
        let old = try await world.encrypt("v0 data")
        let version = try await engine.rotateKey(appkey: world.fixture.appkey, keyId: world.symmetric.id, actor: "test")
        #expect(version.number == 1)
        let new = try await world.encrypt("v1 data")
        #expect(try CiphertextBlob.parse(base64: new).get().version == 1)
        let first = await world.fixture.call(
            .decrypt, key: world.symmetric.id, body: ["ciphertext": .string(old)], from: world.client)
        #expect(first.string("plaintext") == "v0 data")
        #expect(first.body?["keyVersion"] == 0)
        let second = await world.fixture.call(
            .decrypt, key: world.symmetric.id, body: ["ciphertext": .string(new)], from: world.client)
        #expect(second.string("plaintext") == "v1 data")
        #expect(second.keyVersion == 1)
    }

    @Test func blobOfADeletedVersionIsInvalidKeyVersion() async throws {
        let world = try await World.make()
        let engine = world.fixture.engine
        let appkey = world.fixture.appkey
        let old = try await world.encrypt("v0 data")
        _ = try await engine.rotateKey(appkey: appkey, keyId: world.symmetric.id, actor: "test")
        _ = try await engine.scheduleVersionDeletion(
            appkey: appkey, keyId: world.symmetric.id, version: 0, actor: "test")
        let pending = await world.fixture.call(
            .decrypt, key: world.symmetric.id, body: ["ciphertext": .string(old)], from: world.client)
        #expect(pending.error == .invalidKeyVersionStatus)
        _ = try await engine.deleteVersion(appkey: appkey, keyId: world.symmetric.id, version: 0, actor: "test")
        let deleted = await world.fixture.call(
            .decrypt, key: world.symmetric.id, body: ["ciphertext": .string(old)], from: world.client)
        #expect(deleted.error == .invalidKeyVersion)
        // The material of version 0 is gone for good.
        #expect(try await engine.storage.sealedItem(.keyMaterial(keyId: world.symmetric.id, version: 0)) == nil)
    }

    @Test func createLocalKeyCiphertextDecryptsToItsPlaintext() async throws {
        let world = try await World.make()
        let made = await world.fixture.call(.createLocalKey, key: world.symmetric.id, from: world.client)
        let plaintext = try #require(made.string("localKeyPlaintext"))
        #expect(Data(base64Encoded: plaintext)?.count == 32)
        let opened = await world.fixture.call(
            .decrypt, key: world.symmetric.id,
            body: ["ciphertext": .string(try #require(made.string("localKeyCiphertext")))],
            from: world.client)
        #expect(opened.string("plaintext") == plaintext)
    }

    @Test func symmetricKeyQueryRendersHexListPerVersion() async throws {
        let world = try await World.make()
        _ = try await world.fixture.engine.rotateKey(
            appkey: world.fixture.appkey, keyId: world.symmetric.id, actor: "test")
        let latest = await world.fixture.call(.getSymmetricKey, key: world.symmetric.id, from: world.client)
        #expect(latest.keyVersion == 1)
        let first = await world.fixture.call(
            .getSymmetricKey, key: world.symmetric.id, query: ["keyVersion": "0"], from: world.client)
        let list = try #require(first.string("symmetricKey"))
        #expect(list.split(separator: ",").count == 32)
        #expect(list.hasPrefix("0x"))
        #expect(first.keyVersion == 0)
        // v1.0 has no per-version query: the parameter is ignored.
        let legacy = await world.fixture.call(
            .getSymmetricKey, key: world.symmetric.id, query: ["keyVersion": "0"], version: .v1_0, from: world.client)
        #expect(legacy.keyVersion == 1)
        #expect(legacy.body?["keyVersion"] == nil)
        let missing = await world.fixture.call(
            .getSymmetricKey, key: world.symmetric.id, query: ["keyVersion": "7"], from: world.client)
        #expect(missing.error == .invalidKeyVersion)
        let malformed = await world.fixture.call(
            .getSymmetricKey, key: world.symmetric.id, query: ["keyVersion": "x"], from: world.client)
        #expect(malformed.error == .invalidRequest)
    }

    @Test func legacySignatureVerifiesAndCarriesItsVersion() async throws {
        let world = try await World.make()
        let signed = await world.fixture.call(
            .sign, key: world.asymmetric.id, body: ["plaintext": "data"], from: world.client)
        let signature = try #require(signed.string("signature"))
        let blob = try SignatureBlob.parse(base64: signature).get()
        #expect(blob.version == 0)
        let good = await world.fixture.call(
            .verify, key: world.asymmetric.id, body: ["plaintext": "data", "signature": .string(signature)],
            from: world.client)
        #expect(good.body?["result"] == true)
        let wrong = await world.fixture.call(
            .verify, key: world.asymmetric.id, body: ["plaintext": "other", "signature": .string(signature)],
            from: world.client)
        #expect(wrong.body?["result"] == false)
        #expect(wrong.error == nil)
        let short = await world.fixture.call(
            .verify, key: world.asymmetric.id, body: ["plaintext": "data", "signature": "AAAA"], from: world.client)
        #expect(short.error == .invalidUserData)
        // The legacy signature is RSASSA-PKCS1-v1_5 with SHA-256 under the exported public key.
        let exported = await world.fixture.call(.getPublicKey, key: world.asymmetric.id, from: world.client)
        let encoded = try #require(exported.string("encodedKey"))
        let der = try #require(Data(base64Encoded: encoded))
        let publicKey = try _RSA.Signing.PublicKey(derRepresentation: der)
        let rsaSignature = _RSA.Signing.RSASignature(rawRepresentation: blob.signature)
        let valid = publicKey.isValidSignature(rsaSignature, for: Data("data".utf8), padding: .insecurePKCS1v1_5)
        #expect(valid)
    }

    @Test(arguments: ["RSASSA-PSS", "RSASSA-PKCS1-v1_5"])
    func standardSignatureVerifiesWithExportedKey(_ algorithm: String) async throws {
        let world = try await World.make()
        let message = Data("message to sign".utf8)
        let signed = await world.fixture.call(
            .signStandard, key: world.asymmetric.id,
            body: ["plaintext": .string(message.base64EncodedString()), "algorithm": .string(algorithm)],
            from: world.client)
        let signature = try #require(signed.string("signature"))
        #expect(signed.body?["hashAlgorithm"] == "SHA-256")
        #expect((signed.body?["saltLength"] == 32) == (algorithm == "RSASSA-PSS"))
        let verified = await world.fixture.call(
            .verifyStandard, key: world.asymmetric.id,
            body: [
                "plaintext": .string(message.base64EncodedString()), "signature": .string(signature),
                "algorithm": .string(algorithm), "keyVersion": 0,
            ], from: world.client)
        #expect(verified.body?["result"] == true)
        let exported = await world.fixture.call(.getPublicKey, key: world.asymmetric.id, from: world.client)
        let publicKey = try _RSA.Signing.PublicKey(
            derRepresentation: Data(base64Encoded: exported.string("encodedKey")!)!)
        let padding: _RSA.Signing.Padding = algorithm == "RSASSA-PSS" ? .PSS : .insecurePKCS1v1_5
        let rsaSignature = _RSA.Signing.RSASignature(rawRepresentation: Data(base64Encoded: signature)!)
        #expect(publicKey.isValidSignature(rsaSignature, for: message, padding: padding))
        let wrongVersion = await world.fixture.call(
            .verifyStandard, key: world.asymmetric.id,
            body: [
                "plaintext": .string(message.base64EncodedString()), "signature": .string(signature),
                "algorithm": .string(algorithm), "keyVersion": 3,
            ], from: world.client)
        #expect(wrongVersion.error == .invalidKeyVersion)
    }

    @Test func privateKeyExportIsPKCS8AndMatchesThePublicKey() async throws {
        let world = try await World.make()
        let exported = await world.fixture.call(.getPrivateKey, key: world.asymmetric.id, from: world.client)
        #expect(exported.string("keyType") == "PrivateKey")
        let encoded = try #require(exported.string("encodedKey"))
        let der = try #require(Data(base64Encoded: encoded))
        let privateKey = try _RSA.Signing.PrivateKey(derRepresentation: der)
        #expect(privateKey.keySizeInBits == 2048)
        #expect(der.starts(with: [0x30, 0x82]))
        let hexList = try #require(exported.string("key"))
        #expect(hexList.split(separator: ",").count == der.count)
        let publicKey = await world.fixture.call(.getPublicKey, key: world.asymmetric.id, from: world.client)
        #expect(publicKey.string("encodedKey") == privateKey.publicKey.derRepresentation.base64EncodedString())
    }

    @Test func publicKeyIsReadableWithoutClientAuthentication() async throws {
        let world = try await World.make()
        let stranger = await world.fixture.call(.getPublicKey, key: world.asymmetric.id, from: .at("192.0.2.1"))
        #expect(stranger.error == nil)
        let privateKey = await world.fixture.call(.getPrivateKey, key: world.asymmetric.id, from: .at("192.0.2.1"))
        #expect(privateKey.error == .ipv4AuthFailure)
    }

    @Test func secretIsReturnedAndUpdatable() async throws {
        let world = try await World.make()
        let first = await world.fixture.call(.getSecret, key: world.secret.id, from: world.client)
        #expect(first.string("secret") == "s3cr3t")
        let update = await world.fixture.manage(.putSecret, key: world.secret.id, body: ["secretValue": "n3w"])
        #expect(update.error == nil)
        let second = await world.fixture.call(.getSecret, key: world.secret.id, from: world.client)
        #expect(second.string("secret") == "n3w")
    }

    @Test func wrongRootKeyIsRefusedWithAClearReason() async throws {
        let storage = InMemoryStorage()
        _ = try await makeEngine(storage: storage)
        await #expect {
            _ = try await Engine.open(storage: storage, rootKey: RootKey.generate())
        } throws: { error in
            (error as? CoreError)?.code == .invalidRootKey
                && (error as? CoreError)?.reason.contains("wrong root key") == true
        }
    }

    @Test(arguments: ["", "short", String(repeating: "g", count: 64), "YWJj"])
    func malformedRootKeysAreRefused(_ text: String) {
        #expect(throws: CoreError.self) { try RootKey(encoded: text) }
    }

    @Test func rootKeyFileIsOwnerOnlyAndRoundTrips() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("root.key")
        let key = RootKey.generate()
        try key.write(to: url)
        let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect(try RootKey(contentsOf: url).base64 == key.base64)
        #expect(throws: CoreError.self) { try key.write(to: url) }
    }
}

/// The strict Base64 decoder against its definition: RFC 4648 characters in groups of four, at most two `=` and
/// only at the end, decoded as Foundation decodes.
@Suite struct StrictBase64Tests {
    static func byDefinition(_ text: String) -> Data? {
        let bytes = Array(text.utf8)
        guard bytes.count % 4 == 0 else { return nil }
        var padding = 0
        for (offset, byte) in bytes.enumerated() {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "+"), UInt8(ascii: "/"):
                if padding > 0 { return nil }
            case UInt8(ascii: "="):
                padding += 1
                if padding > 2 || offset < bytes.count - 2 { return nil }
            default:
                return nil
            }
        }
        return Data(base64Encoded: text)
    }

    @Test func edgeCasesDecodeAsDefined() {
        let cases = [
            "", "QQ==", "QR==", "QUI=", "QUJ=", "QUJD", "Q===", "====", "=QQ=", "QQ=A", "Q", "QQ", "QQ=", "QUJD\n",
            " QUJ", "QUJD QUJD", "-_-_", "QUJDRA==", "QUJDREU=", "QUJDREVG", "\u{e9}AAA", "AAAA====",
        ]
        for text in cases {
            #expect(StrictBase64.decode(text) == Self.byDefinition(text), "\(text.debugDescription)")
        }
    }

    @Test func randomTextsDecodeAsDefined() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ \n")
        for _ in 0..<20_000 {
            let length = Int.random(in: 0...16, using: &generator)
            let text: String
            if Bool.random(using: &generator) {
                // Mostly valid: the encoding of random bytes, one character perhaps changed.
                let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
                var characters = Array(Data(bytes).base64EncodedString())
                if !characters.isEmpty, Int.random(in: 0..<3, using: &generator) == 0 {
                    characters[Int.random(in: 0..<characters.count, using: &generator)] = alphabet.randomElement()!
                }
                text = String(characters)
            } else {
                text = String((0..<length).map { _ in alphabet.randomElement()! })
            }
            #expect(StrictBase64.decode(text) == Self.byDefinition(text), "\(text.debugDescription)")
            let shape = StrictBase64.shape(of: text)
            #expect((shape == nil) == (Self.byDefinition(text) == nil), "\(text.debugDescription)")
            if let decoded = StrictBase64.decode(text) {
                let inner = String(data: decoded, encoding: .utf8).flatMap(Self.byDefinition)
                #expect(StrictBase64.isBase64Text(decoded) == (decoded.count >= 8 && inner != nil))
                // The shape is what the decoded bytes show.
                #expect(shape?.count == decoded.count)
                #expect(shape?.leadingWord == (decoded.count >= 4 ? UInt32(bigEndian: decoded.prefix(4)) : nil))
                #expect(shape?.isBase64Text == StrictBase64.isBase64Text(decoded), "\(text.debugDescription)")
            }
        }
    }
}

extension StrictBase64Tests {
    /// Texts encoded twice, or nearly: the shape says the decoded bytes are Base64 text exactly when they are, by
    /// the definition, wherever an `=` or another character falls in them.
    @Test func shapesOfTextsEncodedTwice() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/====-_ ")
        for _ in 0..<20_000 {
            let length = Int.random(in: 0...20, using: &generator)
            let inner = String((0..<length).map { _ in alphabet.randomElement(using: &generator)! })
            let text = Data(inner.utf8).base64EncodedString()
            let shape = StrictBase64.shape(of: text)
            #expect(shape?.count == inner.utf8.count, "\(inner.debugDescription)")
            #expect(
                shape?.isBase64Text == (inner.utf8.count >= 8 && Self.byDefinition(inner) != nil),
                "\(inner.debugDescription)")
            let leading = inner.utf8.count >= 4 ? UInt32(bigEndian: Array(inner.utf8.prefix(4))) : nil
            #expect(shape?.leadingWord == leading, "\(inner.debugDescription)")
        }
        // The two shapes the request log shows most: a ciphertext sent once, and sent encoded twice.
        let blob = Data((0..<40).map { UInt8($0) }).base64EncodedString()
        #expect(StrictBase64.shape(of: blob) == .init(count: 40, leadingWord: 0x0001_0203, isBase64Text: false))
        let twice = Data(blob.utf8).base64EncodedString()
        #expect(StrictBase64.shape(of: twice)?.isBase64Text == true)
        #expect(StrictBase64.shape(of: "QUJD=") == nil)
    }
}

/// The data calls' AES-256-GCM (OpenSSL contexts kept per key version) against swift-crypto's, an independent
/// implementation: each opens what the other sealed, and nothing that was changed opens.
@Suite struct AESGCMKeyTests {
    let material = Data((0..<32).map { UInt8($0 &* 7 &+ 3) })
    let keyID = "0123456789abcdef0123456789abcdef"

    func parts(_ blob: Data) throws -> CiphertextBlob {
        try CiphertextBlob.parse(base64: blob.base64EncodedString()).get()
    }

    @Test(arguments: ["", "a", "héllo wörld ✓", String(repeating: "z", count: 32 * 1024 + 3)])
    func sealsWhatSwiftCryptoOpens(_ text: String) throws {
        let key = try #require(AESGCMKey(material: material))
        let blob = try #require(key.sealedBlob(text, version: 0x0102_0304, authenticating: keyID))
        #expect(blob.count == CiphertextBlob.minimumLength + text.utf8.count)
        let parsed = try parts(blob)
        #expect(parsed.version == 0x0102_0304)
        let box = try AES.GCM.SealedBox(
            nonce: AES.GCM.Nonce(data: parsed.nonce), ciphertext: parsed.ciphertext, tag: parsed.tag)
        let opened = try AES.GCM.open(box, using: SymmetricKey(data: material), authenticating: Data(keyID.utf8))
        #expect(opened == Data(text.utf8))
        #expect(key.open(parsed, authenticating: keyID) == Data(text.utf8))
    }

    @Test func opensWhatSwiftCryptoSealed() throws {
        let key = try #require(AESGCMKey(material: material))
        let box = try AES.GCM.seal(
            Data("plain".utf8), using: SymmetricKey(data: material), authenticating: Data(keyID.utf8))
        let blob = CiphertextBlob(version: 0, nonce: Data(box.nonce), ciphertext: box.ciphertext, tag: box.tag)
        #expect(key.open(blob, authenticating: keyID) == Data("plain".utf8))
    }

    @Test func nothingChangedOpens() throws {
        let key = try #require(AESGCMKey(material: material))
        let other = try #require(AESGCMKey(material: Data(material.reversed())))
        let blob = try parts(try #require(key.sealedBlob("some text", version: 0, authenticating: keyID)))
        #expect(key.open(blob, authenticating: keyID) == Data("some text".utf8))
        #expect(other.open(blob, authenticating: keyID) == nil)
        #expect(key.open(blob, authenticating: "another key id") == nil)
        for field in 0..<3 {
            var changed = blob
            switch field {
            case 0: changed.nonce[changed.nonce.startIndex] ^= 1
            case 1: changed.ciphertext[changed.ciphertext.startIndex] ^= 0x80
            default: changed.tag[changed.tag.endIndex - 1] ^= 1
            }
            #expect(key.open(changed, authenticating: keyID) == nil, "field \(field)")
        }
        // A failed opening does not spoil the key for the next call.
        #expect(key.open(blob, authenticating: keyID) == Data("some text".utf8))
    }

    @Test func onlyA256BitKeyIsTaken() {
        #expect(AESGCMKey(material: Data(count: 16)) == nil)
        #expect(AESGCMKey(material: Data(count: 33)) == nil)
    }

    @Test func concurrentCallsEachGetTheirOwnContextAndNonce() async throws {
        let key = try #require(AESGCMKey(material: material))
        let blobs = await withTaskGroup(of: [Data].self) { group in
            for worker in 0..<8 {
                group.addTask {
                    (0..<200).compactMap { round in
                        let text = "worker \(worker) round \(round)"
                        guard let blob = key.sealedBlob(text, version: 1, authenticating: keyID),
                            let parsed = try? CiphertextBlob.parse(base64: blob.base64EncodedString()).get(),
                            key.open(parsed, authenticating: keyID) == Data(text.utf8)
                        else { return nil }
                        return blob
                    }
                }
            }
            return await group.reduce(into: []) { $0 += $1 }
        }
        #expect(blobs.count == 1600)
        let nonces = Set(blobs.map { $0.dropFirst(4).prefix(12) })
        #expect(nonces.count == 1600)
        // Contexts used hundreds of times still seal what an independent implementation opens.
        let swiftCryptoOpens = try blobs.allSatisfy { blob in
            let parsed = try parts(blob)
            let box = try AES.GCM.SealedBox(
                nonce: AES.GCM.Nonce(data: parsed.nonce), ciphertext: parsed.ciphertext, tag: parsed.tag)
            let opened = try? AES.GCM.open(box, using: SymmetricKey(data: material), authenticating: Data(keyID.utf8))
            return opened.map { String(decoding: $0, as: UTF8.self).hasPrefix("worker ") } ?? false
        }
        #expect(swiftCryptoOpens)
    }

    /// Nonces come from a reserve drawn a batch at a time: each is handed out once, across draws, and a counted fork
    /// (which leaves the child a copy of the parent's reserve) makes the next take draw afresh. The fork is counted
    /// as the handler counts it, not made: a child of this many-threaded test process could wait forever on a lock
    /// another thread held.
    @Test func theNonceReserveHandsOutEachNonceOnceAndRedrawsAfterACountedFork() {
        let reserve = NonceReserve()
        var nonces = Set<[UInt8]>()
        for _ in 0..<(NonceReserve.batch * 3 + 7) {
            var nonce = [UInt8](repeating: 0, count: AESGCMKey.nonceLength)
            #expect(nonce.withUnsafeMutableBufferPointer { reserve.take(into: $0.baseAddress!) })
            nonces.insert(nonce)
        }
        #expect(nonces.count == NonceReserve.batch * 3 + 7)
        #expect(reserve.remaining == NonceReserve.batch - 7)
        NonceReserve.noteFork()
        var nonce = [UInt8](repeating: 0, count: AESGCMKey.nonceLength)
        #expect(nonce.withUnsafeMutableBufferPointer { reserve.take(into: $0.baseAddress!) })
        #expect(reserve.remaining == NonceReserve.batch - 1)
        #expect(!nonces.contains(nonce))
    }
}
