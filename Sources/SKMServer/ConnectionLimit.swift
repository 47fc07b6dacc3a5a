import NIOCore
import Synchronization

/// How many connections are open, shared by every connection of a server: past `maximum`, a new connection is closed
/// as soon as it is set up, so that no number of idle or slow clients can take all the server's memory or files.
final class ConnectionLimit: Sendable {
    let maximum: Int
    private let open = Mutex(0)

    init(maximum: Int) {
        self.maximum = maximum
    }

    /// Takes a place; `false` when the server is full.
    func acquire() -> Bool {
        open.withLock { count in
            guard count < maximum else { return false }
            count += 1
            return true
        }
    }

    func release() {
        open.withLock { $0 = max(0, $0 - 1) }
    }
}

/// Holds one place of a ``ConnectionLimit`` for as long as its connection is set up.
final class ConnectionLimitHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    let limit: ConnectionLimit
    private var holding = false

    init(limit: ConnectionLimit) {
        self.limit = limit
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if limit.acquire() {
            holding = true
        } else {
            context.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        if holding {
            holding = false
            limit.release()
        }
    }
}
