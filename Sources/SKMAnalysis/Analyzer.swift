import Foundation
import SKMCore
import SKMPrimitives
import SKMRules
import SKMWire
import X509

/// Which requests an analysis looks at.
package struct AnalysisFilter: Sendable {
    package var since: Date?
    package var until: Date?
    package var appkey: String?
    package var keyId: String?
    /// Catalogue codes of the failures to diagnose; empty for all.
    package var errors: Set<Int> = []

    package init(
        since: Date? = nil, until: Date? = nil, appkey: String? = nil, keyId: String? = nil, errors: Set<Int> = []
    ) {
        self.since = since
        self.until = until
        self.appkey = appkey
        self.keyId = keyId
        self.errors = errors
    }

    func admits(time: Date?, appkey: String?, keyId: String?) -> Bool {
        if let since, let time, time < since { return false }
        if let until, let time, time > until { return false }
        if let wanted = self.appkey, appkey != wanted { return false }
        if let wanted = self.keyId, keyId != wanted { return false }
        return true
    }

    func admits(_ request: CapturedRequest) -> Bool {
        let record = request.record
        guard admits(time: record.time, appkey: record.appkey, keyId: record.keyId) else { return false }
        return errors.isEmpty || errors.contains(record.response.resultCode)
    }
}

/// What was read from one input.
package struct InputSummary: Sendable {
    package var path: String
    package var format: String
    package var items = 0
    package var problems = 0
}

/// How far the reading of one input has come.
package struct AnalysisProgress: Sendable {
    package var path: String
    /// Lines or entries read.
    package var items: Int
    /// Bytes read, and the input's size, when they are known (a request-log file; not a HAR or standard input).
    package var bytesRead: Int?
    package var totalBytes: Int?
}

/// The whole result of an analysis: the triage, and an account of the inputs.
package struct AnalysisResult: Sendable {
    package static let problemsKept = 200

    package var triage = Triage()
    package var inputs: [InputSummary] = []
    /// The first ``problemsKept`` unreadable lines or entries; ``problemCount`` counts them all.
    package var problems: [InputProblem] = []
    package var problemCount = 0
    /// The places where an input is damaged (cut off): the analysis of that input is incomplete.
    package var damaged: [InputProblem] = []
    /// Where a shared diagnosis differed from one made afresh, when ``Analyzer/sharing`` is verifying: empty.
    package var disagreements: [String] = []
    /// Requests left out by the filter.
    package var filteredOut = 0
    package var firstTime: Date?
    package var lastTime: Date?

    package init() {}

    mutating func note(_ time: Date?) {
        guard let time else { return }
        firstTime = min(firstTime ?? time, time)
        lastTime = max(lastTime ?? time, time)
    }

    /// Adds what `other` read after what this result read: merging in order the results of reading the parts of
    /// an input gives the result of reading it whole.
    package mutating func merge(_ other: AnalysisResult) {
        triage.merge(other.triage)
        inputs += other.inputs
        problems += other.problems.prefix(max(0, Self.problemsKept - problems.count))
        problemCount += other.problemCount
        damaged += other.damaged
        filteredOut += other.filteredOut
        disagreements += other.disagreements
        note(other.firstTime)
        note(other.lastTime)
    }
}

/// What one reader made of the items it read: the part of an analysis one block of an input gives.
struct Reading: Sendable {
    var result = AnalysisResult()
    var items = 0
    var problems = 0

    mutating func consume(_ item: CaptureItem, filter: AnalysisFilter, memo: SituationMemo) {
        items += 1
        switch item {
        case .success(let observation):
            guard filter.admits(time: observation.time, appkey: observation.appkey, keyId: observation.keyId) else {
                result.filteredOut += 1
                return
            }
            result.note(observation.time)
            result.triage.addSuccess(observation)
        case .request(let request):
            guard filter.admits(request) else {
                result.filteredOut += 1
                return
            }
            result.note(request.record.time)
            result.triage.add(memo.diagnose(request))
        case .problem(let problem):
            problems += 1
            result.problemCount += 1
            if problem.damage { result.damaged.append(problem) }
            if result.problems.count < AnalysisResult.problemsKept { result.problems.append(problem) }
        }
    }

    mutating func merge(_ other: Reading) {
        result.merge(other.result)
        items += other.items
        problems += other.problems
    }
}

/// Reads captures, diagnoses every failed request and triages the findings, streaming: memory is bounded by the
/// number of triage groups, not by the size of the logs.
package struct Analyzer: Sendable {
    package let diagnoser: Diagnoser
    package var filter: AnalysisFilter
    package var harReader: HARReader
    /// Threads that read and diagnose the blocks of a request log; the report is the same for any number.
    package var workers = max(1, ProcessInfo.processInfo.activeProcessorCount)
    /// Whether requests in the same situation share one diagnosis (``SituationMemo``), and whether each shared one
    /// is checked against one made afresh (for tests: ``AnalysisResult/disagreements``).
    package var sharing = Sharing.on
    /// The size of the blocks a request log is read in.
    package var blockBytes = LineReader.chunkBytes
    /// How many times its own size a compressed log may expand to before it is refused; no limit when `nil` (the
    /// triage page sets one: an uploaded gzip bomb would otherwise keep it busy for hours).
    package var maximumExpansion: Int?

    package enum Sharing: Sendable {
        case off
        case on
        case verifying
    }

    package init(rules: RuleSet, snapshot: StateSnapshot, filter: AnalysisFilter = AnalysisFilter()) {
        let timeline = StateTimeline(snapshot)
        diagnoser = Diagnoser(rules: rules, facts: FactBuilder(timeline: timeline))
        self.filter = filter
        harReader = HARReader(
            authority: snapshot.certificateAuthority.flatMap { try? Certificate(pemEncoded: $0.certificatePEM) })
    }

    /// Analyses every input in order; an input that cannot be read at all is reported by `unreadable` and skipped.
    package func analyze(
        _ paths: [String], progress: (AnalysisProgress) -> Void = { _ in },
        unreadable: (InputError) -> Void = { _ in }
    ) -> AnalysisResult {
        var result = AnalysisResult()
        for path in paths {
            do {
                try analyze(path, into: &result, progress: progress)
            } catch {
                unreadable(error)
            }
        }
        finish(&result)
        return result
    }

    /// What needs every input read first: each group replayed against the state as it is now.
    package func finish(_ result: inout AnalysisResult) {
        result.triage.annotateStateNow(with: diagnoser)
    }

    /// Analyses one input into `result`.
    package func analyze(
        _ path: String, into result: inout AnalysisResult, progress: (AnalysisProgress) -> Void = { _ in }
    ) throws(InputError) {
        let format = try Self.format(of: path)
        let name = path == "-" ? "<stdin>" : path
        var reading = Reading()
        switch format {
        case .har:
            let memo = makeMemo()
            try harReader.read(name, data: try Self.contents(of: path), requestID: nil) { item in
                reading.consume(item, filter: filter, memo: memo)
                if reading.items % 100_000 == 0 { progress(AnalysisProgress(path: name, items: reading.items)) }
            }
            result.disagreements += memo.takeDisagreements()
        case .curl:
            let memo = makeMemo()
            try harReader.readTranscript(name, data: try Self.contents(of: path)) { item in
                reading.consume(item, filter: filter, memo: memo)
            }
            result.disagreements += memo.takeDisagreements()
        case .requestLog, .accessLog:
            try readLog(path, name: name, into: &reading, progress: progress)
        }
        result.merge(reading.result)
        result.inputs.append(
            InputSummary(path: name, format: format.rawValue, items: reading.items, problems: reading.problems))
    }

    private func makeMemo() -> SituationMemo {
        SituationMemo(diagnoser, sharing: sharing)
    }

    /// A block of a request log for a worker: whole lines and the first one's number, or an overlong line.
    private enum Block: Sendable {
        case lines([UInt8], first: Int)
        case overlong(Int)
    }

    /// Reads a request log block by block, the blocks read and diagnosed on ``workers`` threads and their readings
    /// merged in the order of the file.
    private func readLog(
        _ path: String, name: String, into reading: inout Reading, progress: (AnalysisProgress) -> Void
    ) throws(InputError) {
        let reader = try LineReader(path: path, chunkBytes: blockBytes, maximumExpansion: maximumExpansion)
        defer { reader.close() }
        let filter = filter
        let analyzer = self
        let access = AccessLogReader(assumptions: harReader)
        let pool = OrderedPool<Block, Reading>(workers: workers, limit: 2 * workers) {
            let memo = analyzer.makeMemo()
            let shapes = analyzer.sharing == .off ? nil : LineShapes(verifying: analyzer.sharing == .verifying)
            let memory = SuccessMemory()
            return { block in
                var reading = Reading()
                switch block {
                case .lines(let bytes, let first):
                    bytes.withUnsafeBufferPointer { lines in
                        LineReader.split(lines, first: first) { line, number in
                            let location = SourceLocation(file: name, number: number)
                            if let item = RequestLogReader.item(
                                line, location: location, shapes: shapes, memory: memory, access: access)
                            {
                                reading.consume(item, filter: filter, memo: memo)
                            }
                        }
                    }
                case .overlong(let number):
                    reading.consume(
                        .problem(RequestLogReader.overlong(SourceLocation(file: name, number: number))),
                        filter: filter, memo: memo)
                }
                reading.result.disagreements = memo.takeDisagreements() + (shapes?.takeDisagreements() ?? [])
                return reading
            }
        }
        defer { pool.close() }
        func deliver(_ part: Reading) {
            reading.merge(part)
            progress(
                AnalysisProgress(path: name, items: reading.items, bytesRead: reader.offset, totalBytes: reader.size))
        }
        let ending = try reader.forEachBlock { block in
            switch block {
            case .lines(let lines, let first): pool.submit(.lines(Array(lines), first: first), deliver: deliver)
            case .overlong(let number): pool.submit(.overlong(number), deliver: deliver)
            }
        }
        pool.finish(deliver: deliver)
        if case .truncated(let lines) = ending {
            reading.consume(
                .problem(RequestLogReader.truncated(file: name, after: lines)), filter: filter, memo: makeMemo())
        }
    }

    /// Finds one request by id in the inputs and diagnoses it, whether it failed or not.
    package func explain(requestID: String, in paths: [String]) throws(InputError) -> Finding? {
        for path in paths {
            var found: CapturedRequest?
            try read(path, format: try Self.format(of: path), requestID: requestID) { item in
                if found == nil, case .request(let request) = item { found = request }
            }
            if let found { return diagnoser.diagnose(found) }
        }
        return nil
    }

    /// The one loop over an input's items, for analysing it and for finding one request in it.
    private func read(
        _ path: String, format: Format, requestID: String? = nil, consume: (CaptureItem) -> Void,
        progress: (_ read: Int, _ size: Int?) -> Void = { _, _ in }
    ) throws(InputError) {
        switch format {
        case .har:
            let name = path == "-" ? "<stdin>" : path
            try harReader.read(name, data: try Self.contents(of: path), requestID: requestID, consume: consume)
        case .curl:
            let name = path == "-" ? "<stdin>" : path
            try harReader.readTranscript(
                name, data: try Self.contents(of: path), requestID: requestID, consume: consume)
        case .requestLog, .accessLog:
            try RequestLogReader(requestID: requestID, access: AccessLogReader(assumptions: harReader)).read(
                path, consume: consume, progress: progress)
        }
    }

    package enum Format: String, Sendable {
        case requestLog = "jsonl"
        case har
        /// `curl -v`, `--trace-ascii` or `--trace` output.
        case curl
        /// A proxy's JSON access log (nginx, Envoy); its lines are read as the request log's are.
        case accessLog = "access-log"
    }

    /// HAR by extension or by content, a curl transcript or a proxy's access log by content; anything else (and a
    /// compressed log, or standard input, which cannot be read twice) is read as the request log, whose reader also
    /// knows an access log's lines.
    static func format(of path: String) throws(InputError) -> Format {
        let lower = path.lowercased()
        if lower.hasSuffix(".har") || lower.hasSuffix(".har.json") { return .har }
        if lower.hasSuffix(".gz") || path == "-" { return .requestLog }
        // A pipe or a device cannot be read twice: what is sniffed would be lost. It is read as a request log.
        guard isRegularFile(path) else { return .requestLog }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            let exists = FileManager.default.fileExists(atPath: path)
            throw InputError(exists ? .unreadable : .missing, subject: path, exists ? "cannot open" : "no such file")
        }
        defer { try? handle.close() }
        let head = ByteOrderMark.utf8Text(of: (try? handle.read(upToCount: 4096)) ?? Data())
        if HARReader.looksLikeHAR(head) { return .har }
        if CurlTranscript.looksLikeTranscript(head) { return .curl }
        if let end = head.firstIndex(of: 0x0A) ?? (head.count < 4096 ? head.endIndex : nil),
            let first = try? JSONParser(invalidUTF8: .replace).parse(head[head.startIndex..<end]),
            AccessLogReader.flavour(of: first) != nil
        {
            return .accessLog
        }
        return .requestLog
    }

    /// Whether `path` is a regular file (not a pipe, a device or a directory).
    static func isRegularFile(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
    }

    /// A HAR or curl input's bytes as UTF-8 (``ByteOrderMark/utf8Text(of:)``): a file is mapped, not read, once its
    /// size is known to be within the limit; standard input and pipes are read up to the limit and refused beyond it.
    static func contents(of path: String) throws(InputError) -> Data {
        let limit = HARReader.maximumBytes
        do {
            if path == "-" || !isRegularFile(path) {
                let handle =
                    path == "-" ? FileHandle.standardInput : try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
                var data = Data()
                while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
                    data.append(chunk)
                    guard data.count <= limit else {
                        throw InputError(
                            .tooLarge, subject: path == "-" ? "<stdin>" : path,
                            "capture is over the limit of \(limit) bytes")
                    }
                }
                return ByteOrderMark.utf8Text(of: data)
            }
            let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0
            guard size <= limit else {
                throw InputError(.tooLarge, subject: path, "capture is \(size) bytes, over the limit of \(limit)")
            }
            return ByteOrderMark.utf8Text(of: try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped))
        } catch let error as InputError {
            throw error
        } catch {
            throw InputError(.unreadable, subject: path, "cannot read: \(error.localizedDescription)")
        }
    }
}
