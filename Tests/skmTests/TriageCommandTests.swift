import Foundation
import SKMCore
import SKMTestSupport
import Testing

/// `skm triage` as a user starts it, driven over loopback with curl: what it refuses, what it keeps, and that it
/// removes the uploads when it stops. (scripts/triage-check.sh drives the same pages in a browser.)
@Suite(.serialized) struct TriageCommandTests {
    /// A running `skm triage --max-upload 1` and its address.
    struct Triage {
        let process: Subprocess
        let base: String
        let port: Int

        static func start(_ cli: CommandLine) async throws -> Triage {
            let process = try Subprocess(
                CommandLine.binary,
                ["triage", "--port", "0", "--max-upload", "1", "--rules", packageRoot.path + "/Rules"],
                directory: cli.directory, environment: cli.environment)
            // The first line: "SKM triage on http://127.0.0.1:PORT/".
            let deadline = ContinuousClock.now + .seconds(60)
            while !process.output.contains("\n"), process.isRunning, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            let line = String(process.output.prefix { $0 != "\n" })
            let port = try #require(line.split(separator: ":").last.flatMap { Int($0.dropLast()) }, "\(line)")
            return Triage(process: process, base: "http://127.0.0.1:\(port)", port: port)
        }

        /// Status, headers and body of a curl call.
        func curl(_ cli: CommandLine, _ arguments: [String]) async throws -> (status: Int, head: String, body: String) {
            let text = try await cli.curl(["-i"] + arguments)
            let parts = text.components(separatedBy: "\r\n\r\n")
            let head = parts.first ?? ""
            let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
            return (status, head, parts.dropFirst().joined(separator: "\r\n\r\n"))
        }
    }

    /// The state read through a running key manager's API from the page, as `skm snapshot fetch` reads it: the
    /// secret goes to that URL alone and shows nowhere, plain HTTP is refused but to this machine.
    @Test func theStateIsReadThroughTheKeyManagersAPI() async throws {
        let cli = try CommandLine.fresh()
        try await cli.run(["init"])
        let created = try await cli.json(["appkey", "create", "--name", "remote"])
        let appkey = try #require(created["appkey"]?.stringValue)
        let uakId = try #require(created["userAccessKeyId"]?.stringValue)
        let secret = try #require(created["userAccessKeySecret"]?.stringValue)
        try await cli.run(["keystore", "create", "--name", "payments", "--ip4-auth", "Y"])
        let key = try #require(
            try await cli.json(["key", "create", "--keystore", "payments", "--type", "symmetric", "--name", "k"])[
                "key"]?["id"]?.stringValue)
        // A refused call in the server's own log, from an address the store does not know.
        let (server, port) = try await cli.serve(
            ports: 58000..<60000, arguments: ["--request-log", "requests.jsonl", "--request-log-sync", "always"])
        defer { if server.isRunning { server.terminate() } }
        _ = try await cli.curl([
            "--cacert", "ca.pem", "-H", "Content-Type: application/json", "-d", #"{"plaintext":"hi"}"#,
            "https://127.0.0.1:\(port)/keymanager/v1.2/appkey/\(appkey)/symmetric-keys/\(key)/encrypt",
        ])
        let triage = try await Triage.start(cli)
        defer { if triage.process.isRunning { triage.process.terminate() } }
        func post(_ fields: [String]) async throws -> (status: Int, head: String, body: String) {
            try await triage.curl(
                cli, ["-F", "log=@requests.jsonl"] + fields.flatMap { ["-F", $0] } + [triage.base + "/analyses"])
        }
        let url = "https://127.0.0.1:\(port)"
        let fields = ["state-appkey=\(appkey)", "state-uak-id=\(uakId)", "state-uak-secret=\(secret)"]
        let fetched = try await post(["state-url=\(url)", "state-cacert=@ca.pem"] + fields)
        #expect(fetched.status == 303, "\(fetched.body)")
        let location = try #require(
            fetched.head.split(separator: "\r\n").first { $0.hasPrefix("Location: ") }?.dropFirst("Location: ".count))
        let page = try await triage.curl(cli, [triage.base + location])
        #expect(page.body.contains("1 failed"), "\(page.body.prefix(2000))")
        #expect(page.body.contains("IPv4 Auth Failure"))
        #expect(!page.body.contains(secret))
        let json = try await triage.curl(cli, [triage.base + location + "/report.json"])
        #expect(json.body.contains("\"source\": \"api\""))
        #expect(!json.body.contains(secret))
        // A wrong secret, said on the page without the secret; plain HTTP to another host; fields missing.
        let wrong = try await post(
            [
                "state-url=\(url)", "state-cacert=@ca.pem", "state-appkey=\(appkey)", "state-uak-id=\(uakId)",
                "state-uak-secret=not-the-secret-at-all",
            ])
        #expect(wrong.status == 400 && wrong.body.contains("Unauthorized"), "\(wrong.body)")
        #expect(!wrong.body.contains("not-the-secret-at-all"))
        let plain = try await post(["state-url=http://127.0.0.1.example:\(port)"] + fields)
        #expect(plain.status == 400 && plain.body.contains("Plain HTTP would send"), "\(plain.body)")
        let missing = try await post(["state-url=\(url)", "state-appkey=\(appkey)"])
        #expect(
            missing.status == 400 && missing.body.contains("give the appkey, the User Access Key id and its secret"))
    }

    @Test func uploadsAreCheckedKeptPrivateAndRemovedOnExit() async throws {
        let cli = try CommandLine.fresh()
        let triage = try await Triage.start(cli)
        defer { if triage.process.isRunning { triage.process.terminate() } }
        let fixture = packageRoot.appendingPathComponent("Fixtures/mixed-traffic").path
        let folders = try FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory()).filter {
            $0.hasPrefix("skm-triage-\(triage.process.processIdentifier)-")
        }
        let uploads = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent(try #require(folders.first))
        #expect(try FileManager.default.attributesOfItem(atPath: uploads.path)[.posixPermissions] as? Int == 0o700)

        // The form, with the policy and headers every page carries.
        let form = try await triage.curl(cli, [triage.base + "/"])
        #expect(form.status == 200)
        #expect(form.head.contains("Content-Security-Policy: default-src 'none'"))
        #expect(form.head.contains("frame-ancestors 'none'"))
        #expect(form.head.contains("X-Content-Type-Options: nosniff"))
        #expect(form.body.contains("enctype=\"multipart/form-data\""))
        let head = try await triage.curl(cli, ["-I", triage.base + "/"])
        #expect(head.status == 200)
        #expect(head.body.isEmpty)

        // An upload: analysed, and its report downloadable in every format.
        let upload = try await triage.curl(
            cli,
            ["-F", "log=@\(fixture)/requests.jsonl", "-F", "state=@\(fixture)/state.json", triage.base + "/analyses"])
        #expect(upload.status == 303)
        let location = try #require(
            upload.head.split(separator: "\r\n").first { $0.hasPrefix("Location: ") }?.dropFirst("Location: ".count))
        let page = try await triage.curl(cli, [triage.base + location])
        #expect(page.status == 200)
        #expect(page.body.contains("<nav class=\"triage\""))
        #expect(page.body.contains("requests.jsonl against state.json"))
        for (file, type) in [
            ("report.json", "application/json"), ("report.md", "text/markdown"), ("report.xml", "application/xml"),
            ("report.html", "text/html"),
        ] {
            let download = try await triage.curl(cli, [triage.base + location + "/" + file])
            #expect(download.status == 200, "\(file)")
            #expect(download.head.contains("Content-Type: \(type)"), "\(file)")
            #expect(download.head.contains("attachment; filename=\"skm-\(file)\""), "\(file)")
        }
        let filtered = try await triage.curl(cli, [triage.base + location + "/report.json?verdict=mismatch"])
        #expect(filtered.body.contains("\"verdict mismatch (groups)\""))
        // Filters with the same values under other names are other analyses (a first version kept one for both),
        // and each counts what skm analyze counts with that filter.
        let time = "2026-09-21T15:00:00Z"
        for name in ["since", "until", "since", "until"] {
            let answer = try await triage.curl(cli, [triage.base + location + "/report.json?\(name)=\(time)"])
            let page = try JSONParser().parse(answer.body)
            let expected = try await cli.run([
                "analyze", "\(fixture)/requests.jsonl", "--state", "\(fixture)/state.json", "--\(name)", time, "--json",
                cli.directory.appendingPathComponent("\(name).json").path, "--rules", packageRoot.path + "/Rules",
            ])
            #expect(expected.status == 1)
            let report = try JSONParser().parse(
                try String(contentsOf: cli.directory.appendingPathComponent("\(name).json"), encoding: .utf8))
            #expect(page["summary"]?["failures"] == report["summary"]?["failures"], "\(name)")
            #expect(page["summary"]?["requests"] == report["summary"]?["requests"], "\(name)")
        }

        // Refused: over the limit (nothing kept), another host's name, another site's post, an unknown analysis.
        let large = cli.directory.appendingPathComponent("large.jsonl")
        try Data(repeating: 0x41, count: 2 << 20).write(to: large)
        let before = try FileManager.default.contentsOfDirectory(atPath: uploads.path).count
        // The one upload of megabytes: on a machine busy with other tests it may need more than curl's usual 5 s.
        let tooLarge = try await triage.curl(
            cli,
            [
                "--max-time", "30", "-F", "log=@\(large.path)", "-F", "state=@\(fixture)/state.json",
                triage.base + "/analyses",
            ])
        #expect(tooLarge.status == 413)
        #expect(tooLarge.body.contains("larger than 1 MB"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: uploads.path).count == before)
        let rebound = try await triage.curl(cli, ["-H", "Host: attacker.example:\(triage.port)", triage.base + "/"])
        #expect(rebound.status == 421)
        let crossSite = try await triage.curl(
            cli,
            [
                "-H", "Sec-Fetch-Site: cross-site", "-F", "log=@\(fixture)/requests.jsonl", "-F",
                "state=@\(fixture)/state.json", triage.base + "/analyses",
            ])
        #expect(crossSite.status == 403)
        let missingState = try await triage.curl(
            cli, ["-F", "log=@\(fixture)/requests.jsonl", triage.base + "/analyses"])
        #expect(missingState.status == 400)
        #expect(missingState.body.contains("Choose the state snapshot"))
        let notSnapshot = try await triage.curl(
            cli,
            [
                "-F", "log=@\(fixture)/requests.jsonl", "-F", "state=@\(fixture)/requests.jsonl",
                triage.base + "/analyses",
            ])
        #expect(notSnapshot.status == 400)
        #expect(notSnapshot.body.contains("requests.jsonl: not a state snapshot"))
        var fields: [String] = []
        for index in 0..<17 { fields += ["-F", "note\(index)=x"] }
        let manyFields = try await triage.curl(cli, fields + [triage.base + "/analyses"])
        #expect(manyFields.status == 400)
        #expect(manyFields.body.contains("more than 16 form fields"))
        let gone = try await triage.curl(cli, [triage.base + "/analyses/" + String(repeating: "0", count: 32)])
        #expect(gone.status == 404)

        // Stopped as Ctrl-C stops it: the uploads are gone.
        triage.process.interrupt()
        await triage.process.waitUntilExit()
        #expect(!FileManager.default.fileExists(atPath: uploads.path))
    }
}
