import Foundation
import Logging
import SKMCore
import ServiceLifecycle
import Synchronization

/// Appends request records to a JSON Lines file: buffered, flushed at least every second and when the service
/// shuts down, and synced to disk on shutdown. The file is created owner-readable only (0600).
public final class RequestLogWriter: Service, Sendable {
    private let descriptor: Int32
    private let buffer = Mutex<[UInt8]>([])
    private let writeLock = Mutex(())
    private let logger: Logger
    public let path: String
    /// A buffer this large is written at once rather than at the next tick.
    static let highWater = 1 << 20

    public init(path: String, logger: Logger) throws {
        self.path = path
        self.logger = logger
        let descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw ServerError("cannot open the request log \(path): \(String(cString: strerror(errno)))")
        }
        self.descriptor = descriptor
    }

    deinit {
        close(descriptor)
    }

    /// Adds one record to the buffer.
    public func append(_ record: RequestRecord) {
        let line = record.jsonLine
        let full = buffer.withLock { buffer -> Bool in
            buffer.append(contentsOf: line)
            return buffer.count >= Self.highWater
        }
        if full { flush() }
    }

    /// Writes everything buffered so far.
    public func flush() {
        writeLock.withLock { _ in
            let chunk = buffer.withLock { buffer -> [UInt8] in
                defer { buffer.removeAll(keepingCapacity: true) }
                return buffer
            }
            var offset = 0
            while offset < chunk.count {
                let written = chunk.withUnsafeBytes { bytes in
                    Foundation.write(descriptor, bytes.baseAddress! + offset, chunk.count - offset)
                }
                if written < 0 {
                    if errno == EINTR { continue }
                    logger.error("request log \(path): write failed: \(String(cString: strerror(errno)))")
                    return
                }
                offset += written
            }
        }
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await cancelWhenGracefulShutdown {
                try await Task.sleep(for: .seconds(1))
            }
            flush()
        }
        flush()
        fsync(descriptor)
    }
}
