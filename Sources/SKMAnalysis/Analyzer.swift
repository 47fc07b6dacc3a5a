import Foundation
import SKMCore
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
}

/// Reads captures, diagnoses every failed request and triages the findings, streaming: memory is bounded by the
/// number of triage groups, not by the size of the logs.
package struct Analyzer: Sendable {
    package let diagnoser: Diagnoser
    package var filter: AnalysisFilter
    package var harReader: HARReader

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
        var summary = InputSummary(path: path == "-" ? "<stdin>" : path, format: format.rawValue)
        func consume(_ item: CaptureItem) {
            summary.items += 1
            if format == .har, summary.items % 100_000 == 0 {
                progress(AnalysisProgress(path: summary.path, items: summary.items))
            }
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
                result.triage.add(diagnoser.diagnose(request))
            case .problem(let problem):
                summary.problems += 1
                result.problemCount += 1
                if problem.damage { result.damaged.append(problem) }
                if result.problems.count < AnalysisResult.problemsKept { result.problems.append(problem) }
            }
        }
        try read(path, format: format, consume: consume) { read, size in
            progress(AnalysisProgress(path: summary.path, items: summary.items, bytesRead: read, totalBytes: size))
        }
        result.inputs.append(summary)
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
        case .requestLog:
            try RequestLogReader(requestID: requestID).read(path, consume: consume, progress: progress)
        }
    }

    package enum Format: String, Sendable {
        case requestLog = "jsonl"
        case har
    }

    /// HAR by extension or by content; anything else is read as the request log.
    static func format(of path: String) throws(InputError) -> Format {
        let lower = path.lowercased()
        if lower.hasSuffix(".har") || lower.hasSuffix(".har.json") { return .har }
        if lower.hasSuffix(".jsonl") || lower.hasSuffix(".gz") || lower.hasSuffix(".log") || path == "-" {
            return .requestLog
        }
        // A pipe or a device cannot be read twice: what is sniffed would be lost. It is read as a request log.
        guard isRegularFile(path) else { return .requestLog }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            let exists = FileManager.default.fileExists(atPath: path)
            throw InputError(exists ? .unreadable : .missing, subject: path, exists ? "cannot open" : "no such file")
        }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: 256)) ?? Data()
        return HARReader.looksLikeHAR(head) ? .har : .requestLog
    }

    /// Whether `path` is a regular file (not a pipe, a device or a directory).
    static func isRegularFile(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
    }

    /// A HAR input's bytes: a file is mapped, not read, once its size is known to be within the limit; standard
    /// input and pipes are read up to the limit and refused beyond it.
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
                return data
            }
            let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0
            guard size <= limit else {
                throw InputError(.tooLarge, subject: path, "capture is \(size) bytes, over the limit of \(limit)")
            }
            return try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch let error as InputError {
            throw error
        } catch {
            throw InputError(.unreadable, subject: path, "cannot read: \(error.localizedDescription)")
        }
    }
}
