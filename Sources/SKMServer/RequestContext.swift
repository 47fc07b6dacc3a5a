import Hummingbird
import NIOCore

/// The per-request context: Hummingbird's core storage plus the connection, for the peer address and certificate.
package struct SKMRequestContext: RequestContext {
    package var coreContext: CoreRequestContextStorage
    package let channel: any Channel

    package init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}
