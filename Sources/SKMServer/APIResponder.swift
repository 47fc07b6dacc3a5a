import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import SKMCore
import SKMPrimitives
import SKMWire
import Synchronization

/// Answers every HTTP request: routes it, builds the engine request and the client identity, renders the envelope,
/// and records the request in the log and the metrics.
struct APIResponder: HTTPResponder {
    typealias Context = SKMRequestContext

    let engine: Engine
    let identities: ClientIdentityResolver
    let maxBodyBytes: Int
    let maxHeaderBytes: Int
    let log: RequestLogWriter?
    let metrics: Metrics
    let logger: Logger

    func respond(to request: Hummingbird.Request, context: SKMRequestContext) async throws -> Response {
        let started = ContinuousClock.now
        let time = engine.configuration.clock.now
        // Read once: the URI makes a new string of its path each time it is asked.
        let path = request.uri.path
        let route = APIRoute.match(method: request.method.rawValue, path: path)
        let loggedPath = APIRoute.loggedPath(path)
        switch route {
        case .health:
            return json(status: 200, ["status": "UP"], requestID: nil)
        case .metrics:
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(
                status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: metrics.render())))
        default:
            break
        }
        let requestID = Self.newRequestID()
        let identity = await identities.identity(of: request, on: context.channel)
        let outcome: Outcome
        let engineRequest: APIRequest?
        let headerSize = headerBytes(request.headers)
        let bodySize = BodySize()
        if headerSize > maxHeaderBytes {
            engineRequest = nil
            outcome = .failure(.headersTooLarge(headerSize, limit: maxHeaderBytes))
        } else {
            switch route {
            case .api(let call):
                let built = try await makeRequest(call, request, size: bodySize)
                engineRequest = built
                outcome = await engine.execute(built, from: identity)
            case .token:
                let built = try await makeTokenRequest(request, size: bodySize)
                engineRequest = built
                outcome = await engine.execute(built, from: identity)
            default:
                // Read (and bound) the body even here: a request cut off mid-body gets the parser's refusal only.
                guard await body(of: request, form: false, size: bodySize) != nil else {
                    throw HTTPProblemHandler.IncompleteRequest()
                }
                engineRequest = nil
                outcome = .failure(.unrouted(method: request.method.rawValue, path: loggedPath))
            }
        }
        let seconds = Double((ContinuousClock.now - started) / .nanoseconds(1)) / 1e9
        if case .api(let call) = route {
            engine.noteCall(
                appkey: call.appkey, keyId: call.keyId, operation: call.operation, error: outcome.error, at: time)
        }
        let operationName = engineRequest?.operation.rawValue ?? "unknown"
        if let rejection = outcome.rejection {
            if rejection.error == .internalError {
                logger.error("request \(requestID) failed: \(rejection.reason)")
            } else {
                logger.debug(
                    "request \(requestID) refused: \(rejection.error.resultMessage) (\(rejection.check.id)): \(rejection.reason)"
                )
            }
        }
        metrics.record(operation: operationName, resultCode: outcome.error?.resultCode ?? 0, seconds: seconds)
        if let log {
            await log.append(
                record(
                    engineRequest, route: route, identity: identity, outcome: outcome, time: time, requestID: requestID,
                    method: request.method.rawValue, path: loggedPath, seconds: seconds,
                    bodyBytes: bodySize.value, headerBytes: headerSize,
                    clientDate: request.headers[.date].flatMap(Timestamp.parseHTTPDate)))
        }
        return render(outcome, requestID: requestID)
    }

    /// The answer to a request the HTTP parser refused, logged like any other: the status, the JSON envelope and the
    /// request id. `method` and `path` come from the raw request line, when it could be read.
    func answerRefusedByParser(
        _ rejection: Rejection, problem: String, method: String, path: String, peer: String?
    ) async -> (status: Int, body: [UInt8], requestID: String) {
        let requestID = Self.newRequestID()
        let outcome = Outcome.failure(rejection)
        logger.debug(
            "request \(requestID) refused: \(rejection.error.resultMessage) (\(rejection.check.id)): \(rejection.reason)"
        )
        metrics.record(operation: "unknown", resultCode: rejection.error.resultCode, seconds: 0)
        if let log {
            var record = RequestRecord(
                unrouted: .notFound(apiVersion: nil, appkey: nil),
                client: ClientIdentity(
                    address: peer.flatMap { IPv4Address(peer: $0) }, peerAddress: peer, tls: identities.tls),
                outcome: outcome, authority: engine.authority, time: engine.configuration.clock.now,
                requestId: requestID, method: method, path: path, durationMs: 0)
            record.httpProblem = problem
            await log.append(record)
        }
        return (rejection.error.httpStatus, outcome.envelopeBytes, requestID)
    }

    // MARK: - Requests

    /// The engine's request; throws when the body was cut off, so that nothing runs on part of it (the HTTP parser's
    /// refusal answers it).
    func makeRequest(
        _ call: APIRoute.APICall, _ request: Hummingbird.Request, size: BodySize
    ) async throws -> APIRequest {
        guard let body = await body(of: request, form: false, size: size) else {
            throw HTTPProblemHandler.IncompleteRequest()
        }
        var query: [String: String] = [:]
        for (name, value) in request.uri.queryParameters where query[String(name)] == nil {
            query[String(name)] = String(value)
        }
        return APIRequest(
            operation: call.operation, apiVersion: call.apiVersion, appkey: call.appkey, keyId: call.keyId,
            keyStoreId: call.keyStoreId, authKind: call.authKind, resourceName: call.resourceName,
            body: body, query: query,
            credentials: credentials(request.headers))
    }

    func makeTokenRequest(_ request: Hummingbird.Request, size: BodySize) async throws -> APIRequest {
        guard let body = await body(of: request, form: true, size: size) else {
            throw HTTPProblemHandler.IncompleteRequest()
        }
        return APIRequest(
            operation: .createToken, apiVersion: .v1_3, appkey: "",
            body: body,
            credentials: Credentials(basicAuthorization: request.headers[.authorization]))
    }

    func credentials(_ headers: HTTPFields) -> Credentials {
        Credentials(
            accessKeyIDHeader: headers[.userAccessKeyID], accessKeySecretHeader: headers[.userAccessKeySecret],
            nhnAuthorizationHeader: headers[.nhnAuthorization], authorizationHeader: headers[.authorization])
    }

    /// The body as JSON (or a form for token creation), up to the size limit.
    func body(of request: Hummingbird.Request, form: Bool, size: BodySize) async -> SKMCore.RequestBody? {
        // Read part by part rather than through `collect(upTo:)`: its layers of async sequences cost the task an
        // executor hop each time one of them resumes, several per request.
        var buffer = ByteBuffer()
        do {
            var parts = request.body.makeAsyncIterator()
            while let part = try await parts.next() {
                guard buffer.readableBytes + part.readableBytes <= maxBodyBytes else {
                    size.value = maxBodyBytes + 1
                    return .oversized(maxBodyBytes)
                }
                if buffer.readableBytes == 0 {
                    buffer = part
                } else {
                    buffer.writeImmutableBuffer(part)
                }
            }
        } catch {
            // Cut off (the parser refused the rest, or the connection closed): never run on part of a body.
            size.value = nil
            return nil
        }
        size.value = buffer.readableBytes
        return .parse(buffer.readableBytesView, form: form)
    }

    func headerBytes(_ headers: HTTPFields) -> Int {
        headers.reduce(0) { $0 + $1.name.rawName.utf8.count + $1.value.utf8.count + 4 }
    }

    // MARK: - Responses

    func render(_ outcome: Outcome, requestID: String) -> Response {
        if case .success(.file(let bytes, let contentType, let filename)) = outcome.result {
            var headers = HTTPFields()
            headers[.contentType] = contentType
            headers[.contentDisposition] = "attachment; filename=\"\(filename)\""
            headers[.requestID] = requestID
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        return json(status: outcome.error?.httpStatus ?? 200, outcome.envelopeBytes, requestID: requestID)
    }

    func json(status: Int, _ value: JSONValue, requestID: String?) -> Response {
        json(status: status, JSONWriter().bytes(value), requestID: requestID)
    }

    /// Made once: a field checks its value when it is made.
    static let jsonContentType = HTTPField(name: .contentType, value: "application/json;charset=UTF-8")

    func json(status: Int, _ bytes: [UInt8], requestID: String?) -> Response {
        var headers = HTTPFields()
        headers.reserveCapacity(2)
        headers.append(Self.jsonContentType)
        if let requestID { headers.append(HTTPField(name: .requestID, value: requestID)) }
        return Response(
            status: HTTPResponse.Status(code: status), headers: headers,
            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    // MARK: - Log

    func record(
        _ request: APIRequest?, route: APIRoute, identity: ClientIdentity, outcome: Outcome, time: Date,
        requestID: String, method: String, path: String, seconds: Double, bodyBytes: Int?, headerBytes: Int,
        clientDate: Date?
    ) -> RequestRecord {
        if let request {
            return RequestRecord(
                request: request, client: identity, outcome: outcome, authority: engine.authority, time: time,
                requestId: requestID, method: method, path: path, durationMs: seconds * 1000, bodyBytes: bodyBytes,
                headerBytes: headerBytes, token: request.credentials.bearerToken.flatMap(engine.inspectToken),
                clientDate: clientDate, credentialsRequired: engine.credentialsRequirement(of: request))
        }
        return RequestRecord(
            unrouted: route, client: identity, outcome: outcome, authority: engine.authority, time: time,
            requestId: requestID, method: method, path: path, durationMs: seconds * 1000, headerBytes: headerBytes,
            clientDate: clientDate)
    }

    /// The size of the body read, filled in while reading it.
    final class BodySize: @unchecked Sendable {
        var value: Int?
    }

    private static let counter = Atomic<UInt64>(0)
    private static let prefix = SystemIdentifierSource().randomHex(bytes: 4)

    /// Unique per process run: a random prefix and a counter.
    static func newRequestID() -> String {
        let next = counter.wrappingAdd(1, ordering: .relaxed).newValue
        return "\(prefix)-\(String(next, radix: 16))"
    }
}
