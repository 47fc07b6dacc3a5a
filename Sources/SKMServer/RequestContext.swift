import Hummingbird
import NIOCore

/// The per-request context: Hummingbird's core storage plus the connection, for the peer address and certificate.
public struct SKMRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}
