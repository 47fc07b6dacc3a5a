import ArgumentParser
import Foundation
import SKMAnalysis
import SKMCore
import SKMReport

struct ExplainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Show one request's full diagnosis: every check with its evidence.")

    @Argument(
        help: ArgumentHelp(
            "Request logs, HAR captures, curl transcripts or proxy access logs to look in.", valueName: "log"))
    var logs: [String]

    @Option(name: .long, help: ArgumentHelp("The request id (X-Request-Id).", valueName: "id"))
    var request: String

    @OptionGroup var analysis: AnalysisOptions

    @Flag(name: .long, help: "Print the finding as JSON.")
    var json = false

    @Option(name: .long, help: ArgumentHelp("Colour: auto, always or never.", valueName: "when"))
    var color = "auto"

    func run() async throws {
        let (rules, snapshot) = try await analysis.loadRulesAndSnapshot()
        let analyzer = try analysis.analyzer(snapshot: snapshot, rules: rules)
        let found: Finding?
        do {
            found = try analyzer.explain(requestID: request, in: logs)
        } catch {
            throw CommandFailure.setup(error.description)
        }
        guard let found else {
            throw CommandFailure.setup("no request '\(request)' in \(logs.joined(separator: ", "))")
        }
        let response = found.request.record.response
        if response.isSuccessful {
            // Nothing failed: nothing to explain, and no verdict to give.
            let record = found.request.record
            if json {
                printJSON([
                    "requestId": .string(record.requestId), "succeeded": true, "httpStatus": .int(response.httpStatus),
                ])
            } else {
                // The path holds the appkey, masked as reports mask it.
                var redactor = Redactor(enabled: !analysis.noRedact)
                redactor.add(record.appkey)
                redactor.add(record.userAccessKeyId)
                print(
                    "Request \(TerminalText.inert(record.requestId)) (\(TerminalText.inert(record.method)) "
                        + "\(TerminalText.inert(redactor.text(record.path)))) succeeded, HTTP \(response.httpStatus): "
                        + "nothing to explain.")
            }
            return
        }
        let finding = IncidentReport.finding(found, snapshot: snapshot, redact: !analysis.noRedact)
        if json {
            var bytes = JSONWriter(indented: true).bytes(JSONReportRenderer().finding(finding))
            bytes.append(0x0A)
            FileHandle.standardOutput.write(Data(bytes))
        } else {
            let useColor = color == "always" || (color == "auto" && isatty(STDOUT_FILENO) == 1)
            print(
                TextReportRenderer(color: useColor).render(
                    finding, error: response.isSuccessful ? nil : IncidentReport.errorInfo(response.resultCode),
                    httpStatus: response.httpStatus), terminator: "")
        }
        if !response.isSuccessful { throw CommandFailure(message: "", exitCode: 1) }
    }
}
