import COpenSSL
import Foundation
import Synchronization

/// An AES-256-GCM key made ready once for the data calls: OpenSSL cipher contexts that hold its expanded key, so that
/// sealing or opening a blob only sets a nonce. Each call borrows a context of its own, so concurrent calls never
/// share one; a context that failed is freed rather than lent again.
///
/// Nonces are 96 random bits from OpenSSL's generator (seeded by the system, reseeded after a fork), drawn through a
/// ``NonceReserve``. Nothing of the key, the nonce or the text reaches an error or a log.
package final class AESGCMKey: Sendable {
    package static let keyLength = 32
    package static let nonceLength = 12
    package static let tagLength = 16

    /// The cipher, fetched from OpenSSL's provider once: fetching it for every context would search the provider.
    private static let cipher = Handle(EVP_CIPHER_fetch(nil, "AES-256-GCM", nil))

    private let material: Data
    private let sealers = Pool()
    private let openers = Pool()

    /// `nil` unless `material` is 32 bytes.
    package init?(material: Data) {
        guard material.count == Self.keyLength, Self.cipher.pointer != nil else { return nil }
        self.material = material
    }

    deinit {
        for pool in [sealers, openers] {
            for context in pool.drain() { EVP_CIPHER_CTX_free(context.pointer) }
        }
    }

    /// SKM's ciphertext blob of `plaintext` (`version ‖ nonce ‖ ciphertext ‖ tag`, see ``CiphertextBlob``),
    /// authenticating `associatedData`; `nil` when OpenSSL fails.
    package func sealedBlob(_ plaintext: String, version: UInt32, authenticating associatedData: String) -> Data? {
        var plaintext = plaintext
        var associatedData = associatedData
        return plaintext.withUTF8 { text in
            associatedData.withUTF8 { extra in
                sealedBlob(
                    UnsafeRawBufferPointer(text), version: version, authenticating: UnsafeRawBufferPointer(extra))
            }
        }
    }

    private func sealedBlob(
        _ plaintext: UnsafeRawBufferPointer, version: UInt32, authenticating associatedData: UnsafeRawBufferPointer
    ) -> Data? {
        let prefix = CiphertextBlob.headerLength + Self.nonceLength
        var blob = Data(count: prefix + plaintext.count + Self.tagLength)
        let sealed = blob.withUnsafeMutableBytes { (output: UnsafeMutableRawBufferPointer) -> Bool in
            withUnsafeBytes(of: version.bigEndian) { output.copyMemory(from: $0) }
            let bytes = output.bindMemory(to: UInt8.self)
            let nonce = bytes.baseAddress! + CiphertextBlob.headerLength
            guard NonceReserve.shared.take(into: nonce) else { return false }
            return withContext(sealing: true) { context in
                guard EVP_EncryptInit_ex2(context, nil, nil, nonce, nil) == 1,
                    update(context, associatedData, into: nil),
                    update(context, plaintext, into: bytes.baseAddress! + prefix)
                else { return false }
                var written: Int32 = 0
                let tag = bytes.baseAddress! + prefix + plaintext.count
                return EVP_EncryptFinal_ex(context, tag, &written) == 1 && written == 0
                    && EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_AEAD_GET_TAG, Int32(Self.tagLength), tag) == 1
            }
        }
        return sealed ? blob : nil
    }

    /// The plaintext of a blob's parts; `nil` when they do not authenticate (another key, other associated data, a
    /// changed byte) or OpenSSL fails.
    package func open(_ blob: CiphertextBlob, authenticating associatedData: String) -> Data? {
        guard blob.nonce.count == Self.nonceLength, blob.tag.count == Self.tagLength else { return nil }
        var associatedData = associatedData
        var tag = [UInt8](blob.tag)
        var plaintext = Data(count: blob.ciphertext.count)
        let opened = associatedData.withUTF8 { extra in
            blob.nonce.withUnsafeBytes { nonce in
                blob.ciphertext.withUnsafeBytes { ciphertext in
                    plaintext.withUnsafeMutableBytes { output in
                        withContext(sealing: false) { context in
                            guard
                                EVP_DecryptInit_ex2(
                                    context, nil, nil, nonce.bindMemory(to: UInt8.self).baseAddress, nil) == 1,
                                update(context, UnsafeRawBufferPointer(extra), into: nil),
                                update(
                                    context, ciphertext,
                                    into: output.baseAddress?.assumingMemoryBound(to: UInt8.self)),
                                EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_AEAD_SET_TAG, Int32(Self.tagLength), &tag) == 1
                            else { return false }
                            var written: Int32 = 0
                            var end: UInt8 = 0
                            return EVP_DecryptFinal_ex(context, &end, &written) == 1 && written == 0
                        }
                    }
                }
            }
        }
        return opened ? plaintext : nil
    }

    /// Feeds `input` to the cipher; associated data when `output` is `nil`. Empty input needs no call.
    private func update(
        _ context: OpaquePointer?, _ input: UnsafeRawBufferPointer, into output: UnsafeMutablePointer<UInt8>?
    ) -> Bool {
        guard let start = input.baseAddress, input.count > 0 else { return true }
        var written: Int32 = 0
        guard
            EVP_CipherUpdate(context, output, &written, start.assumingMemoryBound(to: UInt8.self), Int32(input.count))
                == 1
        else { return false }
        return output == nil || Int(written) == input.count
    }

    /// Runs `body` with a context of this key for sealing or opening, borrowed from the pool or made.
    private func withContext(sealing: Bool, _ body: (OpaquePointer?) -> Bool) -> Bool {
        let pool = sealing ? sealers : openers
        guard let context = pool.take() ?? makeContext(sealing: sealing) else { return false }
        if body(context.pointer) {
            pool.give(context)
            return true
        }
        EVP_CIPHER_CTX_free(context.pointer)
        return false
    }

    private func makeContext(sealing: Bool) -> Handle? {
        guard let context = EVP_CIPHER_CTX_new() else { return nil }
        let ready = material.withUnsafeBytes { key in
            EVP_CipherInit_ex2(
                context, Self.cipher.pointer, key.bindMemory(to: UInt8.self).baseAddress, nil, sealing ? 1 : 0, nil)
        }
        guard ready == 1 else {
            EVP_CIPHER_CTX_free(context)
            return nil
        }
        return Handle(context)
    }

    /// An OpenSSL object owned by one holder at a time: the pool, or the call that borrowed it.
    private struct Handle: @unchecked Sendable {
        let pointer: OpaquePointer?
        init(_ pointer: OpaquePointer?) { self.pointer = pointer }
    }

    /// Contexts not lent out; a few, as many as calls ran at once, up to ``limit``.
    private final class Pool: Sendable {
        static let limit = 16
        private let idle = Mutex<[Handle]>([])

        func take() -> Handle? {
            idle.withLock { $0.popLast() }
        }

        func give(_ context: Handle) {
            let kept = idle.withLock { idle -> Bool in
                guard idle.count < Self.limit else { return false }
                idle.append(context)
                return true
            }
            if !kept { EVP_CIPHER_CTX_free(context.pointer) }
        }

        func drain() -> [Handle] {
            idle.withLock { idle in
                defer { idle = [] }
                return idle
            }
        }
    }
}

/// GCM nonces drawn from OpenSSL's generator several hundred at a time, each handed out once.
///
/// A call to `RAND_bytes` costs about as much as sealing a short plaintext (it looks up the generator, checks for a
/// fork and takes its locks), whatever the number of bytes it makes; one call per nonce was a tenth of an encrypt.
/// What is kept is only nonces, which every blob shows in the clear: their secrecy protects nothing, their uniqueness
/// everything. So a nonce leaves the reserve once, and a forked child, which holds a copy of the reserve its parent
/// goes on using, discards it before it takes one (a handler registered with `pthread_atfork` counts forks).
/// SKM itself never forks (it starts other programs with `posix_spawn`). Two limits follow from counting forks that
/// way: a copy of the process made without the handlers (`_Fork`, a raw `clone`) would share the reserve, and a child
/// forked while another thread was inside ``take(into:)`` would wait forever there.
package final class NonceReserve: Sendable {
    package static let shared = NonceReserve()

    /// Nonces per draw from the generator.
    package static let batch = 340

    private struct State {
        var bytes = [UInt8](repeating: 0, count: NonceReserve.batch * AESGCMKey.nonceLength)
        /// Where the next nonce starts; at the end, the reserve is spent.
        var next = NonceReserve.batch * AESGCMKey.nonceLength
        /// The fork count the reserve was drawn under.
        var forks = 0
    }

    private let state = Mutex(State())
    /// Forks of this process made since it started, counted in the child.
    private static let forks = Atomic<Int>(0)
    private static let watchingForks: Void = {
        // Without the handler a forked child would hand out its parent's nonces: no reserve at all, then.
        precondition(pthread_atfork(nil, nil) { NonceReserve.noteFork() } == 0, "cannot watch for forks")
    }()

    package init() {
        _ = Self.watchingForks
    }

    /// Counts a fork: run in the child by the handler, and by tests.
    package static func noteFork() {
        forks.add(1, ordering: .relaxed)
    }

    /// Nonces left before the next draw.
    package var remaining: Int {
        state.withLock { ($0.bytes.count - $0.next) / AESGCMKey.nonceLength }
    }

    /// Writes a fresh 12-byte nonce at `nonce`; `false` when the generator fails.
    package func take(into nonce: UnsafeMutablePointer<UInt8>) -> Bool {
        let forks = Self.forks.load(ordering: .relaxed)
        return state.withLock { state in
            if state.next == state.bytes.count || state.forks != forks {
                let drawn = state.bytes.withUnsafeMutableBufferPointer {
                    RAND_bytes($0.baseAddress, Int32($0.count)) == 1
                }
                guard drawn else {
                    state.next = state.bytes.count
                    return false
                }
                state.next = 0
                state.forks = forks
            }
            state.bytes.withUnsafeBufferPointer {
                nonce.update(from: $0.baseAddress! + state.next, count: AESGCMKey.nonceLength)
            }
            state.next += AESGCMKey.nonceLength
            return true
        }
    }
}
