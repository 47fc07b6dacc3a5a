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
///
/// Only a line shaped like a request line (`METHOD SP target SP HTTP/x.y`, the method an upper-case token) is kept:
/// a header line can never be, so no header (a secret among them) is ever taken for the request line, whatever the
/// bytes' timing. When the refused request's line went by unseen (it came in one packet with the request before),
/// method and path are left empty.
final class RequestLineRecorder: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// The longest line examined; a longer one is not a request line SKM could have answered.
    static let limit = 8 * 1024

    private struct State {
        var line: [UInt8] = []
        /// Whether the line being read is still a candidate (not over the limit).
        var candidate = true
        /// The request line found, as read: it is parsed only when a refusal needs it.
        var found: [UInt8]?
        /// Whether a request's first byte has come.
        var started = false
        /// Whether its head has been read whole (or the connection closed).
        var headRead = false
        var headDeadline: Scheduled<Void>?

        /// Adds the next bytes of the line being read, up to the limit.
        mutating func take(_ bytes: UnsafeRawBufferPointer) {
            guard candidate else { return }
            if line.count + bytes.count > RequestLineRecorder.limit {
                candidate = false
                line = []
            } else {
                line.append(contentsOf: bytes)
            }
        }
    }

    /// How long a request's head may take to arrive once its first byte has: a client that trickles its headers
    /// holds a connection only this long (an idle connection between requests is the idle timeout's).
    static let headDeadline: TimeAmount = .seconds(30)

    private let state = Mutex(State())

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        state.withLock { state in
            if !state.started, buffer.readableBytes > 0 { state.started = true }
            guard state.found == nil else { return }
            buffer.withUnsafeReadableBytes { bytes in
                var start = 0
                while start < bytes.count {
                    let rest = UnsafeRawBufferPointer(rebasing: bytes[start...])
                    guard let newline = rest.firstIndex(of: UInt8(ascii: "\n")) else {
                        state.take(rest)
                        return
                    }
                    state.take(UnsafeRawBufferPointer(rebasing: rest[..<newline]))
                    if state.candidate, Self.isShapedLikeRequestLine(state.line[...]) {
                        state.found = state.line
                        state.line = []
                        return
                    }
                    state.line.removeAll(keepingCapacity: true)
                    state.candidate = true
                    start += newline + 1
                }
            }
        }
        context.fireChannelRead(data)
    }

    /// The head's deadline starts once the bytes read so far have been passed on and the head is not among them:
    /// most requests arrive whole in one read, and need no timer at all.
    func channelReadComplete(context: ChannelHandlerContext) {
        let channel = context.channel
        let eventLoop = context.eventLoop
        state.withLock { state in
            guard state.started, !state.headRead, state.headDeadline == nil else { return }
            state.headDeadline = eventLoop.scheduleTask(in: Self.headDeadline) { channel.close(promise: nil) }
        }
        context.fireChannelReadComplete()
    }

    /// The next bytes begin a new request.
    func reset() {
        state.withLock { state in
            state.headDeadline?.cancel()
            state = State()
        }
    }

    /// The head was read whole: its deadline is over.
    func headArrived() {
        state.withLock { state in
            state.headRead = true
            state.headDeadline?.cancel()
            state.headDeadline = nil
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        headArrived()
        context.fireChannelInactive()
    }

    /// The method and path (without query, fragment or user information) of the refused request's line, when it was
    /// seen.
    var methodAndPath: (method: String, path: String) {
        state.withLock { $0.found }.flatMap(Self.requestLine) ?? ("", "")
    }

    /// `METHOD SP target SP HTTP/d.d`, the method of upper-case letters (a header line never is: its name ends in a
    /// colon).
    static func isShapedLikeRequestLine(_ bytes: ArraySlice<UInt8>) -> Bool {
        var line = bytes
        if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
        guard let firstSpace = line.firstIndex(of: UInt8(ascii: " ")),
            let lastSpace = line.lastIndex(of: UInt8(ascii: " ")), firstSpace < lastSpace,
            (1...16).contains(firstSpace - line.startIndex),
            line[..<firstSpace].allSatisfy({ $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }),
            !line[(firstSpace + 1)..<lastSpace].contains(UInt8(ascii: " "))
        else { return false }
        let version = line[(lastSpace + 1)...]
        return version.count == 8 && version.starts(with: "HTTP/".utf8)
    }

    /// The method and the target's path of a request line (see ``isShapedLikeRequestLine(_:)``); `nil` for any other
    /// line, or a target without a path.
    static func requestLine(_ bytes: [UInt8]) -> (method: String, path: String)? {
        guard isShapedLikeRequestLine(bytes[...]) else { return nil }
        var line = bytes[...]
        if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
        let parts = line.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        var target = String(decoding: parts[1], as: UTF8.self)
        // Absolute form (`http://user:password@host/path`): the path only.
        if let scheme = target.range(of: "://") {
            let rest = target[scheme.upperBound...]
            target = rest.firstIndex(of: "/").map { String(rest[$0...]) } ?? "/"
        }
        let path = target.split(whereSeparator: { $0 == "?" || $0 == "#" }).first.map(String.init) ?? ""
        guard path.hasPrefix("/") else { return nil }
        return (String(decoding: parts[0], as: UTF8.self), String(path.prefix(2048)))
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
    /// Whether the last request's head was read and its end not yet: its body is still arriving.
    private var incomplete = false
    /// Whether the request being read was cut off: its processing is stopped and its answer is the refusal.
    private var aborted = false
    /// Whether the cut-off request's body is still to be ended in an error: after the refusal is sent, so that
    /// stopping its processing cannot close the connection before the client has the answer.
    private var abortPending = false
    /// The end of the client's input, held back while the cut-off request's refusal is being sent: passed on, it
    /// would end that request's body as if it were whole.
    private var heldInputClosed = false
    /// A refusal waiting for the answers before it.
    private var deferred: (Rejection, String)?
    private var refused = false

    /// What the body of a request the parser refused, or the connection cut, ends with: the request is not run.
    struct IncompleteRequest: Error {}

    /// How long a request may take to arrive once its head is read: a client that trickles its body holds the
    /// connection and the memory of what it sent only this long.
    static let bodyDeadline: TimeAmount = .seconds(30)
    private var deadline: Scheduled<Void>?

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
        case .head:
            requestLine.headArrived()
            unanswered += 1
            incomplete = true
        case .end:
            incomplete = false
            deadline?.cancel()
            deadline = nil
            requestLine.reset()
        case .body: break
        }
        context.fireChannelRead(data)
    }

    /// The body's deadline starts once the bytes read so far have been decoded and the request's end is not among
    /// them: most requests arrive whole in one read, and need no timer at all.
    func channelReadComplete(context: ChannelHandlerContext) {
        if incomplete, deadline == nil, !aborted, !refused {
            let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            deadline = context.eventLoop.scheduleTask(in: Self.bodyDeadline) {
                handler.value.bodyTimedOut(context: bound.value)
            }
        }
        context.fireChannelReadComplete()
    }

    /// A connection closed in the middle of a request's body: the body must not end as if it were whole, or the
    /// request would run on part of it.
    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
        if (incomplete && !aborted) || abortPending {
            aborted = true
            abortPending = false
            context.fireErrorCaught(IncompleteRequest())
        }
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // (The decoder has seen the end of input first: a body cut short is already a parser refusal by now.)
        if case ChannelEvent.inputClosed = event {
            if abortPending {
                heldInputClosed = true
                return
            }
            if incomplete, !aborted {
                aborted = true
                context.fireErrorCaught(IncompleteRequest())
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let isEnd: Bool
        if case .end = unwrapOutboundIn(data) { isEnd = true } else { isEnd = false }
        // After the refusal, and for a cut-off request (whose answer is the refusal), nothing else is sent.
        if refused || (aborted && unanswered <= 1) {
            promise?.fail(ChannelError.outputClosed)
            if isEnd, !refused, let (rejection, problem) = deferred {
                deferred = nil
                refuse(context: context, rejection, problem: problem)
            }
            return
        }
        context.write(data, promise: promise)
        guard isEnd else { return }
        unanswered = max(0, unanswered - 1)
        let waitingFor = aborted ? 1 : 0
        if unanswered <= waitingFor, let (rejection, problem) = deferred {
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
        refuseInTurn(context: context, rejection, problem: problem)
    }

    /// Refuses the request being read, after the answers of the requests before it. One whose head was read is cut
    /// off: it is not run (its body ends in an error) and its answer is the refusal; one answered already, without
    /// waiting for its body, gets no second answer: the connection just ends.
    private func refuseInTurn(context: ChannelHandlerContext, _ rejection: Rejection, problem: String) {
        if incomplete, unanswered == 0 {
            refused = true
            closeAfterAnswer(context.channel)
            return
        }
        if incomplete, !aborted {
            aborted = true
            abortPending = true
        }
        if unanswered > (aborted ? 1 : 0) {
            deferred = (rejection, problem)
        } else {
            refuse(context: context, rejection, problem: problem)
        }
    }

    /// A body still arriving at the deadline: refused like one the parser cut (logged as `malformed-http`: it never
    /// arrived whole), and never run.
    private func bodyTimedOut(context: ChannelHandlerContext) {
        deadline = nil
        guard incomplete, !aborted, !refused, deferred == nil else { return }
        let rejection = Rejection(
            .httpWellFormed,
            "the request's body did not arrive within \(Self.bodyDeadline.nanoseconds / 1_000_000_000) s")
        refuseInTurn(context: context, rejection, problem: "malformed-http")
    }

    /// Logs the refusal, then writes its answer and closes the connection, on the channel's event loop.
    private func refuse(context: ChannelHandlerContext, _ rejection: Rejection, problem: String) {
        refused = true
        let (method, path) = requestLine.methodAndPath
        let peer = context.channel.remoteAddress?.ipAddress
        let loop = context.eventLoop
        let bound = NIOLoopBound(context, eventLoop: loop)
        let boundSelf = NIOLoopBound(self, eventLoop: loop)
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
                    let handler = boundSelf.value
                    if handler.abortPending {
                        handler.abortPending = false
                        bound.value.fireErrorCaught(IncompleteRequest())
                    }
                    if handler.heldInputClosed {
                        handler.heldInputClosed = false
                        bound.value.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
                    }
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
