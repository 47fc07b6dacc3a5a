import Foundation
import Logging
import NIOPosix
import SKMCore
import SKMPrimitives
import SKMWire
import ServiceLifecycle
import Synchronization

/// Appends request records to a JSON Lines file, created owner-readable only (0600).
///
/// How long an answered request may stay off the disk is the ``Sync`` mode's to say: with `.always` a record is
/// written and synced before its answer leaves (concurrent requests share one sync); with `.interval` records are
/// buffered, then written and synced at each tick, so a crash of the process or the machine loses at most the
/// records of the last interval. Shutdown writes and syncs everything.
package final class RequestLogWriter: Service, Sendable, CustomStringConvertible {
    /// When records reach the disk.
    package enum Sync: Sendable, Equatable {
        /// Before the request's answer is sent.
        case always
        /// At least this often.
        case interval(Duration)
    }

    private let descriptor: Int32
    /// Records not yet written.
    private let buffer = Mutex<[UInt8]>([])
    /// Held while writing: the buffer that was written last, emptied, which a flush swaps with ``buffer`` (the two
    /// keep their capacity, so a busy server does not allocate and fault in a fresh buffer per flush), whether
    /// records were written since the last sync, and how far into the file the page cache was told to let go.
    private let written = Mutex<(chunk: [UInt8], unsynced: Bool, dropped: Int)>(([], false, 0))
    /// Whether a write of a full buffer is queued on the blocking pool.
    private let flushQueued = Atomic<Bool>(false)
    private let logger: Logger
    package let path: String
    package let sync: Sync
    package var description: String { "request log writer" }

    /// A buffer this large is written at once rather than at the next tick.
    package static let highWater = 1 << 20

    package init(path: String, sync: Sync = .interval(.seconds(1)), logger: Logger) throws {
        self.path = path
        self.sync = sync
        self.logger = logger
        let descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw ServerError(.requestLog, "cannot open the request log \(path): \(String(cString: strerror(errno)))")
        }
        self.descriptor = descriptor
    }

    deinit {
        close(descriptor)
    }

    /// Adds one record; with `.always`, returns once it is on disk. Otherwise it returns at once, and a full buffer
    /// is written on a thread of NIO's blocking pool, one write queued at a time.
    package func append(_ record: RequestRecord) async {
        var line = ByteWriter(capacity: 1024)
        record.writeJSONLine(to: &line)
        let full = line.withBytes { bytes in
            buffer.withLock { buffer -> Bool in
                buffer.append(contentsOf: bytes)
                return buffer.count >= Self.highWater
            }
        }
        if sync == .always {
            await flushOffLoop(sync: true)
        } else if full, flushQueued.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged {
            NIOThreadPool.singleton.submit { [self] _ in
                // Cleared before the flush takes the buffer: a buffer that fills again during the write queues the next.
                flushQueued.store(false, ordering: .relaxed)
                flush(sync: false)
            }
        }
    }

    /// ``flush(sync:)`` on a thread of NIO's blocking pool. A write of many records, and above all a sync, waits on
    /// the disk; the event loops run the server's tasks, and one that waited would hold up every connection it
    /// serves.
    private func flushOffLoop(sync: Bool) async {
        do {
            try await NIOThreadPool.singleton.runIfActive { self.flush(sync: sync) }
        } catch {
            flush(sync: sync)
        }
    }

    /// Writes everything buffered so far and, when `sync`, waits until it is on disk, with whatever earlier flushes
    /// wrote without syncing. A caller that finds nothing to write or sync was served by the flush before it, which
    /// held the lock until its own sync had finished.
    package func flush(sync: Bool) {
        written.withLock { state in
            state.chunk.removeAll(keepingCapacity: true)
            buffer.withLock { swap(&$0, &state.chunk) }
            var offset = 0
            while offset < state.chunk.count {
                let count = state.chunk.withUnsafeBytes { bytes in
                    Foundation.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                }
                if count < 0 {
                    if errno == EINTR { continue }
                    logger.error("request log \(path): write failed: \(String(cString: strerror(errno)))")
                    break
                }
                offset += count
            }
            if offset > 0 { state.unsynced = true }
            guard sync, state.unsynced else { return }
            guard fsync(descriptor) == 0 else {
                logger.error("request log \(path): sync failed: \(String(cString: strerror(errno)))")
                return
            }
            state.unsynced = false
            dropCachedPages(from: &state.dropped)
        }
    }

    /// Tells the kernel that the file's whole pages from `start` on, all on disk now, need not stay in memory, and
    /// moves `start` past them. The last page, which the next records fill further, stays: dropped, it would have
    /// to be read back from the disk before the next write.
    ///
    /// The log is written once and read again only by an analysis, later; kept in the page cache, a busy server's
    /// log would grow there by tens of megabytes a second and push out pages that are read again (the database's).
    /// The pages it gives back are the ones the next writes fill, where fresh pages would have to be found, which can
    /// cost more than the copy (`docs/architecture.md`). A reader of the file meanwhile reads them from the disk.
    private func dropCachedPages(from start: inout Int) {
        #if os(Linux)
            let end = Int(lseek(descriptor, 0, SEEK_END))
            let page = Int(sysconf(Int32(_SC_PAGESIZE)))
            guard end > 0, page > 0 else { return }
            let whole = end - end % page
            // A file cut short meanwhile starts over.
            if whole < start { start = 0 }
            guard whole > start else { return }
            if posix_fadvise(descriptor, off_t(start), off_t(whole - start), POSIX_FADV_DONTNEED) == 0 {
                start = whole
            }
        #endif
    }

    package func run() async throws {
        let interval: Duration
        switch sync {
        case .always: interval = .seconds(1)
        case .interval(let every): interval = every
        }
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await cancelWhenGracefulShutdown {
                try await Task.sleep(for: interval)
            }
            await flushOffLoop(sync: true)
        }
        flush(sync: true)
    }
}
