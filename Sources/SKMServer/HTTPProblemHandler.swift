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
final class HTTPProblemHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundOut = HTTPResponsePart

    /// Builds the answer and logs the refused request: the status, the JSON body and the request id.
    typealias Answer =
        @Sendable (_ rejection: Rejection, _ problem: String, _ method: String, _ path: String, _ peer: String?) ->
        (status: Int, body: [UInt8], requestID: String)

    private let requestLine: RequestLineRecorder
    private let answer: Answer
    private var answered = false

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
        if case .end = unwrapInboundIn(data) { requestLine.reset() }
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        guard !answered else { return }
        answered = true
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
        let (method, path) = requestLine.methodAndPath
        let peer = context.channel.remoteAddress?.ipAddress
        let (status, body, requestID) = answer(rejection, problem, method, path, peer)
        var fields = HTTPFields()
        fields[.contentType] = "application/json;charset=UTF-8"
        fields[.contentLength] = String(body.count)
        fields[.connection] = "close"
        fields[HTTPField.Name("X-Request-Id")!] = requestID
        context.write(
            wrapOutboundOut(.head(HTTPResponse(status: .init(code: status), headerFields: fields))), promise: nil)
        context.write(wrapOutboundOut(.body(ByteBuffer(bytes: body))), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            channel.close(promise: nil)
        }
    }
}
