import Foundation
import HTTPTypes
import HummingbirdCore
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import SKMCore
import Synchronization

/// The request line of the request being read on a connection, kept from the raw bytes before the HTTP decoder sees
/// them: when the decoder refuses the request, the method and path are all that can be said of it.
final class RequestLineRecorder: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// The longest request line kept; the rest is cut.
    static let limit = 8 * 1024

    private struct State {
        var bytes: [UInt8] = []
        var complete = false
    }

    private let state = Mutex(State())

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        state.withLock { state in
            guard !state.complete else { return }
            for byte in buffer.readableBytesView {
                if byte == UInt8(ascii: "\n") || state.bytes.count >= Self.limit {
                    state.complete = true
                    break
                }
                state.bytes.append(byte)
            }
        }
        context.fireChannelRead(data)
    }

    /// The next bytes begin a new request.
    func reset() {
        state.withLock { $0 = State() }
    }

    /// The method and path (without query) of the request line read so far, if it has them.
    var methodAndPath: (method: String, path: String) {
        let text = state.withLock { String(decoding: $0.bytes, as: UTF8.self) }
        let parts = text.trimmingCharacters(in: .whitespacesAndNewlines).split(
            separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
        guard parts.count >= 2 else { return ("", "") }
        let target = parts[1]
        let path = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? target
        return (String(parts[0].prefix(16)), String(path.prefix(2048)))
    }
}

/// Answers a request the HTTP decoder refused (headers over 64 KB or 200 fields, a NUL or other byte a header may
/// not hold, a malformed request line) with the documented JSON envelope instead of a bare 400, and has it logged:
/// such refusals matter to triage like any other. The connection is closed after the answer, as HTTP requires once
/// the stream cannot be parsed.
///
/// Requests may be pipelined: when the refused one follows a request whose answer is still being written, the
/// refusal waits for that answer, so that each client request gets its own answer in order. The refusal is logged
/// (and, with `--request-log-sync always`, on disk) before it is answered.
final class HTTPProblemHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// Logs the refused request and builds its answer: the status, the JSON body and the request id.
    typealias Answer =
        @Sendable (_ rejection: Rejection, _ problem: String, _ method: String, _ path: String, _ peer: String?) async
        -> (status: Int, body: [UInt8], requestID: String)

    private let requestLine: RequestLineRecorder
    private let answer: Answer
    /// Requests read whose answer has not ended yet.
    private var unanswered = 0
    /// A refusal waiting for the answers before it.
    private var deferred: (Rejection, String)?
    private var refused = false

    init(requestLine: RequestLineRecorder, answer: @escaping Answer) {
        self.requestLine = requestLine
        self.answer = answer
    }

    func handlerAdded(context: ChannelHandlerContext) {
        // The request line is read from the bytes the decoder has not parsed yet.
        if let decoder = try? context.pipeline.syncOperations.handler(
            type: ByteToMessageHandler<HTTPRequestDecoder>.self)
        {
            try? context.pipeline.syncOperations.addHandler(requestLine, position: .before(decoder))
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: unanswered += 1
        case .end: requestLine.reset()
        case .body: break
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let isEnd: Bool
        if case .end = unwrapOutboundIn(data) { isEnd = true } else { isEnd = false }
        context.write(data, promise: promise)
        guard isEnd else { return }
        unanswered = max(0, unanswered - 1)
        if unanswered == 0, let (rejection, problem) = deferred {
            deferred = nil
            refuse(context: context, rejection, problem: problem)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // The rest of a refused request, still arriving: dropped, not an error that would close the connection
        // before the refusal is answered.
        if refused || deferred != nil, case ByteToMessageDecoderError.dataReceivedInErrorState = error { return }
        guard let parserError = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        guard !refused, deferred == nil else { return }
        let rejection: Rejection
        let problem: String
        if case .headerOverflow = parserError {
            problem = "headers-too-large"
            rejection = Rejection(
                .headersWithinLimit, "the request headers are over 64 KB or 200 fields, where the HTTP parser stops")
        } else {
            problem = "malformed-http"
            rejection = Rejection(.httpWellFormed, "the HTTP parser refused the request: \(parserError)")
        }
        if unanswered > 0 {
            deferred = (rejection, problem)
        } else {
            refuse(context: context, rejection, problem: problem)
        }
    }

    /// Logs the refusal, then writes its answer and closes the connection, on the channel's event loop.
    private func refuse(context: ChannelHandlerContext, _ rejection: Rejection, problem: String) {
        refused = true
        let (method, path) = requestLine.methodAndPath
        let peer = context.channel.remoteAddress?.ipAddress
        let loop = context.eventLoop
        let bound = NIOLoopBound(context, eventLoop: loop)
        let answer = self.answer
        Task {
            let (status, body, requestID) = await answer(rejection, problem, method, path, peer)
            loop.execute {
                let context = bound.value
                var fields = HTTPFields()
                fields[.contentType] = "application/json;charset=UTF-8"
                fields[.contentLength] = String(body.count)
                fields[.connection] = "close"
                fields[.requestID] = requestID
                let head = HTTPResponsePart.head(HTTPResponse(status: .init(code: status), headerFields: fields))
                context.write(NIOAny(head), promise: nil)
                context.write(NIOAny(HTTPResponsePart.body(ByteBuffer(bytes: body))), promise: nil)
                let channel = context.channel
                context.writeAndFlush(NIOAny(HTTPResponsePart.end(nil))).whenComplete { _ in
                    closeAfterAnswer(channel)
                }
            }
        }
    }
}

/// Ends the connection after the answer without losing it: closing a socket while the client's bytes are still
/// arriving (the rest of an oversized header, say) resets the connection, and a reset can discard the answer
/// before the client reads it. So only the sending side closes; what still arrives is read and dropped until
/// the client closes too, or for two seconds at most.
func closeAfterAnswer(_ channel: any Channel) {
    channel.close(mode: .output).whenFailure { _ in channel.close(promise: nil) }
    channel.eventLoop.scheduleTask(in: .seconds(2)) { channel.close(promise: nil) }
}
