import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SKMAnalysis
import SKMCore
import SKMPrimitives
import SKMReport
import SKMRules
import Synchronization

/// What `skm triage` serves and where.
package struct TriageConfiguration: Sendable {
    package var host = "127.0.0.1"
    /// 0 for a free port.
    package var port = 0
    package var rules: RuleSet
    /// Where uploads go: a folder only this process uses, which the caller removes on exit.
    package var directory: URL
    package var maxUploadBytes = 1 << 30
    /// Analyses kept; the oldest are dropped, with their files.
    package var maxAnalyses = 20
    package var redact = true
    package var workers: Int?
    package var version: String
    package var logger: Logger
    /// Called once listening, with the port.
    package var onListening: (@Sendable (Int) async -> Void)?

    package init(rules: RuleSet, directory: URL, version: String, logger: Logger) {
        self.rules = rules
        self.directory = directory
        self.version = version
        self.logger = logger
    }
}

/// The triage page: upload a request log or HAR capture and a state snapshot, see the report, filter its groups,
/// open a request's evidence and download the report in every format. Plain HTTP on loopback by default; every
/// page carries a Content-Security-Policy that allows only its own style and script, and requests naming another
/// host (DNS rebinding) or posted from another origin are refused.
package func buildTriageApplication(_ configuration: TriageConfiguration) -> some ApplicationProtocol {
    let site = TriageSite(configuration)
    let router = Router(context: BasicRequestContext.self)
    router.add(middleware: TriageGuard(site: site))
    router.get("/") { _, _ in await site.uploadPage() }
    // HEAD: what GET answers, without the body.
    router.head("/") { _, _ in await site.uploadPage().withoutBody() }
    router.head("/analyses/{id}") { request, context in
        await site.reportPage(context.parameters.get("id") ?? "", query: request.uri.queryParameters).withoutBody()
    }
    router.post("/analyses") { request, _ in await site.upload(request) }
    router.get("/analyses/{id}") { request, context in
        await site.reportPage(context.parameters.get("id") ?? "", query: request.uri.queryParameters)
    }
    router.get("/analyses/{id}/{file}") { request, context in
        await site.download(
            context.parameters.get("id") ?? "", file: context.parameters.get("file") ?? "",
            query: request.uri.queryParameters)
    }
    return Application(
        router: router,
        // A connection that sends nothing for 30 s is closed: a half-sent request cannot hold one for ever.
        server: .http1(configuration: .init(idleTimeout: .seconds(30))),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "SKM"),
        onServerRunning: { channel in
            let port = channel.localAddress?.port ?? configuration.port
            site.listening(on: port)
            await configuration.onListening?(port)
        },
        logger: configuration.logger)
}

extension Response {
    func withoutBody() -> Response {
        var response = self
        response.body = .init()
        return response
    }
}

/// Refuses what a page of this site never sends, and adds the headers every answer carries.
struct TriageGuard: RouterMiddleware {
    typealias Context = BasicRequestContext
    let site: TriageSite

    func handle(
        _ request: Request, context: Context, next: @concurrent (Request, Context) async throws -> Response
    ) async throws -> Response {
        var response: Response
        if !site.accepts(host: request.head.authority) {
            // Another name for this address: a page of another site reaching it through DNS rebinding.
            response = site.problem("This page answers to 127.0.0.1 and localhost only.", status: .misdirectedRequest)
        } else if request.method == .post, !site.sameOrigin(request.headers) {
            response = site.problem("Uploads come from this page only.", status: .forbidden)
        } else {
            do {
                response = try await next(request, context)
            } catch let error as HTTPError where error.status == .notFound {
                response = site.problem("There is no such page.", status: .notFound)
            }
        }
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        response.headers[.cacheControl] = "no-store"
        response.headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        response.headers[HTTPField.Name("Cross-Origin-Opener-Policy")!] = "same-origin"
        response.headers[HTTPField.Name("Cross-Origin-Resource-Policy")!] = "same-origin"
        if response.headers[.contentSecurityPolicy] == nil {
            response.headers[.contentSecurityPolicy] = TriagePages.headerPolicy
        }
        return response
    }
}

/// The site's pages and the session's analyses.
final class TriageSite: Sendable {
    let configuration: TriageConfiguration
    let store: TriageStore
    private let port = Mutex(0)

    init(_ configuration: TriageConfiguration) {
        self.configuration = configuration
        store = TriageStore(limit: configuration.maxAnalyses)
    }

    func listening(on port: Int) {
        self.port.withLock { $0 = port }
    }

    /// The names this site answers to. On a loopback address: the loopback names with the listening port, so that a
    /// page of another site cannot reach it under a name of its own (DNS rebinding). On another address the operator
    /// chose to be reached from elsewhere, by names this process cannot know: any.
    func accepts(host authority: String?) -> Bool {
        guard let authority else { return false }
        guard Self.isLoopback(configuration.host) else { return true }
        let port = self.port.withLock { $0 }
        let names = ["127.0.0.1", "localhost", "[::1]"]
        return names.contains { authority.lowercased() == "\($0):\(port)" }
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    /// A form post from this site's own page. Browsers say where a request comes from in `Sec-Fetch-Site`; a page
    /// sent with `Referrer-Policy: no-referrer`, as these are, posts with `Origin: null`, so the origin decides only
    /// when the browser gives no `Sec-Fetch-Site` and names one. A client that is not a browser sends neither.
    func sameOrigin(_ headers: HTTPFields) -> Bool {
        if let site = headers[HTTPField.Name("Sec-Fetch-Site")!] { return site == "same-origin" || site == "none" }
        guard let origin = headers[.origin], origin != "null" else { return true }
        guard origin.hasPrefix("http://") else { return false }
        return accepts(host: String(origin.dropFirst("http://".count)))
    }

    func uploadPage(error: String? = nil, status: HTTPResponse.Status = .ok) async -> Response {
        html(
            TriagePages.upload(
                error: error, limit: configuration.maxUploadBytes, recent: await store.recent(),
                version: configuration.version), status: status)
    }

    func problem(_ message: String, status: HTTPResponse.Status) -> Response {
        html(
            TriagePages.upload(
                error: message, limit: configuration.maxUploadBytes, recent: [], version: configuration.version),
            status: status)
    }

    func html(_ bytes: [UInt8], status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "text/html; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    // MARK: - Upload

    /// The largest state snapshot read: parsed, a snapshot takes many times its size in memory.
    static let maximumStateBytes = 128 << 20

    func upload(_ request: Request) async -> Response {
        let id = Self.newIdentifier()
        let directory = configuration.directory.appendingPathComponent(id)
        do {
            try FileManager.default.createDirectory(
                at: directory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        } catch {
            return await uploadPage(
                error: "The upload cannot be stored: \(error.localizedDescription)", status: .internalServerError)
        }
        let received: MultipartUpload
        do {
            received = try await MultipartUpload.receive(
                contentType: request.headers[.contentType], body: request.body, into: directory,
                limits: .init(bytes: configuration.maxUploadBytes))
        } catch {
            try? FileManager.default.removeItem(at: directory)
            let (message, status) = describe(error as? UploadRefusal)
            return await uploadPage(error: message, status: status)
        }
        let refuse = { (message: String) async -> Response in
            try? FileManager.default.removeItem(at: directory)
            return await self.uploadPage(error: message, status: .badRequest)
        }
        let logs = received.files.filter { $0.field == "log" && !($0.name.isEmpty && $0.bytes == 0) }
        guard !logs.isEmpty else { return await refuse("Choose a request log or a capture to analyse.") }
        let clientIP = received.fields["client-ip"]?.trimmingCharacters(in: .whitespaces)
        if let clientIP, !clientIP.isEmpty, IPv4Address(clientIP) == nil {
            return await refuse("The client address '\(clientIP)' is not an IPv4 address (10.0.3.7).")
        }
        let snapshot: StateSnapshot
        let stateName: String
        let stateFile = received.files.first { $0.field == "state" && !$0.name.isEmpty }
        if stateFile != nil, received.fields["state-url"]?.trimmingCharacters(in: .whitespaces).isEmpty == false {
            return await refuse("Give a state snapshot or the key manager's URL to read it from, not both.")
        }
        if let state = stateFile {
            guard state.bytes <= Self.maximumStateBytes else {
                return await refuse(
                    "The state snapshot is over \(Self.maximumStateBytes >> 20) MB, more than a key manager's state "
                        + "takes; analyse it with skm analyze.")
            }
            do {
                snapshot = try StateSnapshot.read(
                    try Data(contentsOf: state.url), name: MultipartUpload.safeName(state.name))
            } catch let error as CoreError {
                return await refuse(error.reason)
            } catch {
                return await refuse("The state snapshot cannot be read: \(error.localizedDescription)")
            }
            stateName = MultipartUpload.safeName(state.name)
        } else if let url = received.fields["state-url"]?.trimmingCharacters(in: .whitespaces), !url.isEmpty {
            switch await fetchState(url, received) {
            case .state(let fetched): snapshot = fetched
            case .refused(let message): return await refuse(message)
            }
            stateName = "the API of \(url.prefix(200))"
        } else {
            return await refuse(
                "Choose the state snapshot the requests are to be explained against, or give the key manager's URL "
                    + "and a User Access Key to read it through its API.")
        }
        let analysis = TriageAnalysis(
            id: id, directory: directory, logs: logs.map(\.url.path),
            prefixes: logs.map { $0.url.deletingLastPathComponent().path + "/" },
            names: logs.map { MultipartUpload.safeName($0.name) }, snapshot: snapshot,
            stateName: stateName,
            clientIP: clientIP?.isEmpty == false ? clientIP : nil)
        let report = await analyse(analysis, TriageFilter())
        await store.add(analysis)
        await store.keep(report, for: id, filter: "")
        configuration.logger.info(
            "Analysed an upload",
            metadata: [
                "analysis": .string(id), "files": .stringConvertible(logs.count),
                "requests": .stringConvertible(report.summary.requests),
                "failures": .stringConvertible(report.summary.failures),
            ])
        return .redirect(to: "/analyses/\(id)", type: .normal)
    }

    /// The state read through the API, or why it could not be, in words for the page.
    enum Fetched {
        case state(StateSnapshot)
        case refused(String)
    }

    /// The state read through the API of the key manager at `url` with the form's User Access Key: plain HTTP only
    /// to this machine, the secret sent to that URL alone and kept nowhere.
    func fetchState(_ url: String, _ received: MultipartUpload) async -> Fetched {
        func field(_ name: String) -> String { received.fields[name]?.trimmingCharacters(in: .whitespaces) ?? "" }
        let (appkey, id, secret) = (field("state-appkey"), field("state-uak-id"), field("state-uak-secret"))
        guard !appkey.isEmpty, !id.isEmpty, !secret.isEmpty else {
            return .refused(
                "To read the state through the API, give the appkey, the User Access Key id and its secret.")
        }
        var fetch = StateFetch(url: url, appkey: appkey, accessKeyID: id, secret: secret)
        // Plain HTTP only to an address of this machine (StateFetch checks the host).
        fetch.allowPlainHTTP = true
        if let ca = received.files.first(where: { $0.field == "state-cacert" && !$0.name.isEmpty }) {
            guard ca.bytes <= 1 << 20, let pem = try? String(contentsOf: ca.url, encoding: .utf8) else {
                return .refused("The CA to trust is not a PEM certificate.")
            }
            fetch.trustedCAPEM = pem
        }
        do {
            return .state(try await fetch.read())
        } catch let error as StateFetchError {
            let message =
                error.code == .plainHTTP
                ? "Plain HTTP would send the User Access Key secret unencrypted: use https://, or a key manager on "
                    + "this machine."
                : error.code == .invalidCA
                    ? "The CA to trust is not a PEM certificate."
                    : error.code == .invalidCredentials ? "The state cannot be read: \(error.reason)." : error.reason
            return .refused(message.replacingOccurrences(of: secret, with: "[secret]"))
        } catch {
            return .refused("The state cannot be read through the API.")
        }
    }

    func describe(_ refusal: UploadRefusal?) -> (String, HTTPResponse.Status) {
        let limit = TriagePages.size(configuration.maxUploadBytes)
        switch refusal?.code {
        case .notMultipart: return ("Send the form of this page (multipart/form-data).", .badRequest)
        case .tooLarge:
            return (
                "The upload is larger than \(limit); nothing was kept. Start skm triage with --max-upload to allow "
                    + "more, or analyse the file with skm analyze.", .contentTooLarge
            )
        case .tooManyFiles: return ("Too many parts at once (\(refusal?.reason ?? "")); nothing was kept.", .badRequest)
        case .fieldTooLong:
            return ("The form field '\(refusal?.subject ?? "")' is too long; nothing was kept.", .badRequest)
        case .malformed:
            return ("The upload could not be read (\(refusal?.reason ?? "")); nothing was kept.", .badRequest)
        case nil: return ("The upload could not be read; nothing was kept.", .badRequest)
        }
    }

    /// A random identifier for an analysis: 128 bits, hex.
    static func newIdentifier() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }

    // MARK: - Reports

    /// The report of an analysis under a filter: the time range, error and key re-run the analysis (so every count
    /// is that of the filtered requests); verdict and client select groups.
    func report(_ analysis: TriageAnalysis, _ filter: TriageFilter) async -> IncidentReport {
        let key = filter.analysisKey
        var report: IncidentReport
        if let kept = await store.report(analysis.id, filter: key) {
            report = kept
        } else {
            report = await analyse(analysis, filter)
            await store.keep(report, for: analysis.id, filter: key)
        }
        filter.selectGroups(&report)
        return report
    }

    /// Runs the analysis on a thread of its own: it reads files and uses the processors.
    func analyse(_ analysis: TriageAnalysis, _ filter: TriageFilter) async -> IncidentReport {
        let configuration = configuration
        return await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(returning: Self.analyseNow(analysis, filter, configuration))
            }
        }
    }

    static func analyseNow(
        _ analysis: TriageAnalysis, _ filter: TriageFilter, _ configuration: TriageConfiguration
    ) -> IncidentReport {
        var analyzer = Analyzer(rules: configuration.rules, snapshot: analysis.snapshot, filter: filter.analysisFilter)
        analyzer.harReader.clientIP = analysis.clientIP
        if let workers = configuration.workers { analyzer.workers = workers }
        analyzer.maximumExpansion = 64
        var unreadable: [InputError] = []
        let result = analyzer.analyze(analysis.logs, unreadable: { unreadable.append($0) })
        var report = IncidentReport(
            analysis: result, rules: configuration.rules, snapshot: analysis.snapshot,
            options: .init(
                toolVersion: configuration.version, generatedAt: Date(), redact: configuration.redact,
                filters: filter.descriptions))
        for error in unreadable {
            report.problems.append(.init(location: error.subject ?? "upload", message: error.reason))
            report.summary.problems += 1
        }
        for prefix in analysis.prefixes { report.removePathPrefix(prefix) }
        return report
    }

    func reportPage(_ id: String, query: Parameters) async -> Response {
        guard let analysis = await analysis(id) else { return gone() }
        let filter = TriageFilter(query)
        let full = await report(analysis, TriageFilter())
        let report = await self.report(analysis, filter)
        let bar = filter.bar(analysis: analysis, full: full, shown: report)
        return html(HTMLReportRenderer().render(report, triage: bar))
    }

    func download(_ id: String, file: String, query: Parameters) async -> Response {
        guard let analysis = await analysis(id) else { return gone() }
        let report = await self.report(analysis, TriageFilter(query))
        let bytes: [UInt8]
        let type: String
        switch file {
        case "report.html": (bytes, type) = (HTMLReportRenderer().render(report), "text/html; charset=utf-8")
        case "report.json": (bytes, type) = (JSONReportRenderer().render(report), "application/json")
        case "report.md": (bytes, type) = (MarkdownReportRenderer().render(report), "text/markdown; charset=utf-8")
        case "report.xml":
            do {
                (bytes, type) = (try XMLReportRenderer().render(report), "application/xml")
            } catch {
                return problem("The XML report could not be written: \(error)", status: .internalServerError)
            }
        default: return problem("There is no such page.", status: .notFound)
        }
        return Response(
            status: .ok,
            headers: [
                .contentType: type, .contentDisposition: "attachment; filename=\"skm-\(file)\"",
                // A downloaded page opened from here runs nothing and loads nothing.
                .contentSecurityPolicy: "default-src 'none'; sandbox",
            ],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    func analysis(_ id: String) async -> TriageAnalysis? {
        guard id.count == 32, id.allSatisfy(\.isHexDigit) else { return nil }
        return await store.analysis(id)
    }

    func gone() -> Response {
        problem(
            "There is no such analysis: skm triage keeps the last \(configuration.maxAnalyses) of this session, "
                + "and none after it stops.", status: .notFound)
    }
}
