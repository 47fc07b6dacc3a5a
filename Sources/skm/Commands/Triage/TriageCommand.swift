import ArgumentParser
import Foundation
import Logging
import SKMPrimitives
import SKMServer
import SKMTriage

struct TriageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "triage",
        abstract: "Serve the triage page: drop a log and a state snapshot in a browser, read and filter the report.",
        discussion: """
            Serves plain HTTP on 127.0.0.1 and a free port (printed), for this machine's browser: requests that name \
            another host than a loopback one (while --host is one) and uploads posted from another site are refused. Upload request logs or captures \
            (HAR, curl -v or --trace-ascii output, nginx or Envoy JSON access logs) with the state snapshot (skm \
            snapshot export or fetch) or the key manager's URL and a User Access Key to read it; the page shows the report, filters \
            its groups by error, verdict, key, client and time, opens each request's evidence, and downloads the \
            report as HTML, XML, JSON and Markdown.

            Uploads are streamed to a temporary folder (mode 0700) that is removed when skm triage stops (Ctrl-C, \
            SIGTERM or a closed terminal); nothing is sent anywhere. The last --keep analyses of the session are kept. \
            A compressed log that expands to more than 64 times its size, a HAR entry over 16 MB and a state \
            snapshot over 128 MB are refused.
            """)

    @Option(help: "The address to listen on (a loopback address unless the page is to be reached from elsewhere).")
    var host = "127.0.0.1"

    @Option(help: "The port (0: a free port).")
    var port = 0

    @Option(help: ArgumentHelp("The most one upload may hold, in MB.", valueName: "MB"))
    var maxUpload = 1024

    @Option(help: ArgumentHelp("Analyses kept in this session.", valueName: "n"))
    var keep = 20

    @Option(
        name: .long, help: ArgumentHelp("Rule files or directory (default: Rules, or SKM_RULES).", valueName: "path"))
    var rules: [String] = []

    @Flag(name: .long, help: "Show appkeys and User Access Key ids in full (they are masked by default).")
    var noRedact = false

    @Flag(name: .customLong("open"), help: "Open the page in the default browser (xdg-open).")
    var openBrowser = false

    @Option(help: ArgumentHelp("The operator log's level: debug, info, notice, warning or error.", valueName: "level"))
    var logLevel = "notice"

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be from 0 to 65535") }
        guard (1...1_048_576).contains(maxUpload) else {
            throw ValidationError("--max-upload must be from 1 to 1048576 (MB)")
        }
        guard (1...1000).contains(keep) else { throw ValidationError("--keep must be from 1 to 1000") }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be debug, info, notice, warning or error")
        }
    }

    func run() async throws {
        let ruleSet = try RulePaths(paths: rules).load()
        let level = Logger.Level(rawValue: logLevel) ?? .notice
        LoggingSystem.bootstrap { label in
            var handler = PrintableLogHandler(StreamLogHandler.standardError(label: label))
            handler.logLevel = level
            return handler
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "skm-triage-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString)")
        do {
            try FileManager.default.createDirectory(
                at: directory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        } catch {
            throw CommandFailure.setup("cannot create a temporary folder for uploads: \(error.localizedDescription)")
        }
        defer { try? FileManager.default.removeItem(at: directory) }
        var configuration = TriageConfiguration(
            rules: ruleSet, directory: directory, version: SKMCommand.configuration.version,
            logger: Logger(label: "skm.triage"))
        configuration.host = host
        configuration.port = port
        configuration.maxUploadBytes = maxUpload << 20
        configuration.maxAnalyses = keep
        configuration.redact = !noRedact
        let shown = host.contains(":") ? "[\(host)]" : host
        let open = openBrowser
        configuration.onListening = { port in
            let url = "http://\(shown):\(port)/"
            // The one line a script waits for; the rest of the notes follow it.
            FileHandle.standardOutput.write(Data("SKM triage on \(url)\n".utf8))
            Terminal.note("Uploads are kept in \(directory.path) until skm triage stops (Ctrl-C).")
            if !(host == "localhost" || host == "::1" || host.hasPrefix("127.")) {
                Terminal.note(
                    "Listening on \(PrintableText.escaped(host)): the page is plain HTTP to anyone who can reach this "
                        + "address, by any host name, and uploads carry request logs.")
            }
            if open { Self.openInBrowser(url) }
        }
        // Ctrl-C, kill and a closed terminal stop it at once, an analysis under way or not, and take the uploads
        // with it: nothing needs finishing, and a stop that waited for a long analysis would be answered with kill -9,
        // which would leave them behind.
        let stops = [SIGINT, SIGTERM, SIGHUP].map { number -> any DispatchSourceSignal in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                try? FileManager.default.removeItem(at: directory)
                _exit(0)
            }
            source.resume()
            return source
        }
        defer { stops.forEach { $0.cancel() } }
        try await buildTriageApplication(configuration).runService(gracefulShutdownSignals: [])
    }

    static func openInBrowser(_ url: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["xdg-open", url]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            Terminal.note("Could not open a browser (\(error.localizedDescription)); open \(url) yourself.")
        }
    }
}
