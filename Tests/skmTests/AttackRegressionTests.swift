import Foundation
import SKMCore
import SKMTestSupport
import Testing

/// What an attack on the server, the command line and the analyser found, each reproduced and refused.
@Suite struct AttackRegressionTests {
    /// Starts a Python script in the installation's directory.
    static func python(_ script: String, in cli: CommandLine, arguments: [String] = []) throws -> Subprocess {
        try Subprocess(
            URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", script] + arguments, directory: cli.directory)
    }

    /// A redirect to plain HTTP must not take the User Access Key secret with it.
    @Test func snapshotFetchFollowsNoRedirect() async throws {
        let cli = try CommandLine.fresh()
        let port = Int.random(in: 30000..<40000)
        // One port redirects every request to the next; the next one notes any request that reaches it.
        let server = try Self.python(
            """
            import http.server, sys, threading
            port = int(sys.argv[1])
            class Redirect(http.server.BaseHTTPRequestHandler):
                def do_GET(self):
                    self.send_response(302)
                    self.send_header('Location', 'http://127.0.0.1:%d/elsewhere' % (port + 1))
                    self.end_headers()
                def log_message(self, *args): pass
            class Target(http.server.BaseHTTPRequestHandler):
                def do_GET(self):
                    open('reached', 'w').write(self.headers.get('X-TC-AUTHENTICATION-SECRET', ''))
                    self.send_response(200); self.end_headers()
                def log_message(self, *args): pass
            threading.Thread(target=http.server.HTTPServer(('127.0.0.1', port + 1), Target).serve_forever, daemon=True).start()
            http.server.HTTPServer(('127.0.0.1', port), Redirect).serve_forever()
            """, in: cli, arguments: [String(port)])
        defer { server.terminate() }
        try await Task.sleep(for: .milliseconds(500))
        let result = try await cli.run(
            [
                "snapshot", "fetch", "--url", "http://127.0.0.1:\(port)", "--appkey", "Appkey0000000000", "--uak-id",
                "ABCDEFGHIJ0123456789", "--allow-plain-http",
            ], environment: ["SKM_UAK_SECRET": "the-secret-value"])
        #expect(result.status == 2)
        #expect(result.error.contains("redirect") && result.error.contains("not followed"), "\(result.error)")
        #expect(!FileManager.default.fileExists(atPath: cli.directory.appendingPathComponent("reached").path))
        #expect(!result.error.contains("the-secret-value"))
    }

    /// A fresh installation with certificate `c1` issued in key store `s`, its password read from the file
    /// `password` holding `text`: the installation and the file.
    static func certificateIssued(passwordFile text: String) async throws -> (CommandLine, URL) {
        let cli = try CommandLine.fresh()
        try await cli.run(["init"])
        try await cli.run(["appkey", "create", "--name", "p12"])
        try await cli.run(["keystore", "create", "--name", "s", "--cert-auth", "Y"])
        let passwordFile = cli.directory.appendingPathComponent("password")
        try Data(text.utf8).write(to: passwordFile)
        let issued = try await cli.run([
            "auth", "issue-cert", "--keystore", "s", "--name", "c1", "--password-file", passwordFile.path,
        ])
        #expect(issued.status == 0, "\(issued.error)")
        return (cli, passwordFile)
    }

    /// A PKCS#12 password is a C string: one with a NUL is refused at export as at issue.
    @Test func aCertificateExportPasswordWithANulIsRefused() async throws {
        let (cli, passwordFile) = try await Self.certificateIssued(passwordFile: "fine-password\n")
        try Data([0x00] + Array("secretpassword\n".utf8)).write(to: passwordFile)
        let exported = try await cli.run([
            "cert", "export", "--keystore", "s", "--name", "c1", "--out", "c1.p12", "--password-file",
            passwordFile.path,
        ])
        #expect(exported.status != 0)
        #expect(exported.error.contains("control character"), "\(exported.error)")
        #expect(!FileManager.default.fileExists(atPath: cli.directory.appendingPathComponent("c1.p12").path))
    }

    /// A password file written on Windows starts with a byte order mark and ends its line with CR LF: the password
    /// is the line without them, for the PKCS#12 file as for the database.
    @Test func aPasswordFileWrittenOnWindowsGivesThePassword() async throws {
        let (cli, _) = try await Self.certificateIssued(passwordFile: "\u{FEFF}fine-password\r\nnot the password\r\n")
        let exported = try await cli.run(["cert", "export", "--keystore", "s", "--name", "c1", "--out", "c1.p12"])
        #expect(exported.status == 0, "\(exported.error)")
        let bytes = try Data(contentsOf: cli.directory.appendingPathComponent("c1.p12"))
        #expect(try PKCS12.certificates(in: [UInt8](bytes), password: "fine-password").count == 1)

        guard TestPostgres.isAvailable, let password = TestPostgres.password else { return }
        let location = try await TestPostgres.freshDatabase()
        let databasePasswordFile = cli.directory.appendingPathComponent("db-password")
        try Data(("\u{FEFF}" + password + "\r\n").utf8).write(to: databasePasswordFile)
        var environment = cli.environment
        environment["SKM_DB"] = "\(location.description)?sslmode=disable"
        environment["SKM_DB_PASSWORD_FILE"] = databasePasswordFile.path
        environment["SKM_ROOT_KEY_FILE"] = cli.directory.appendingPathComponent("pg-root.key").path
        let postgres = CommandLine(directory: cli.directory, environment: environment)
        let initialised = try await postgres.run(["init"])
        #expect(initialised.status == 0, "\(initialised.error)")
        let created = try await postgres.run(["appkey", "create", "--name", "on-postgres"])
        #expect(created.status == 0, "\(created.error)")
    }

    /// A process substitution or a FIFO is read once: nothing is lost to format detection.
    @Test func aPipedLogLosesNothing() async throws {
        let cli = try CommandLine.fresh()
        let folder = AnalyzeCommandTests.fixtures.appendingPathComponent("client-behind-nat")
        let piped = try await Subprocess.run(
            URL(fileURLWithPath: "/bin/bash"),
            [
                "-c", "exec \"$0\" analyze <(cat \"$1\") --state \"$2\" --rules \"$3\" --color never",
                CommandLine.binary.path, folder.appendingPathComponent("requests.jsonl").path,
                folder.appendingPathComponent("state.json").path, AnalyzeCommandTests.rules,
            ], directory: cli.directory)
        let direct = try await cli.run([
            "analyze", folder.appendingPathComponent("requests.jsonl").path, "--state",
            folder.appendingPathComponent("state.json").path, "--rules", AnalyzeCommandTests.rules, "--color", "never",
        ])
        #expect(piped.status == direct.status)
        let count = { (text: String) in text.split(separator: "\n").first { $0.contains(" requests: ") } }
        #expect(count(piped.output) != nil && count(piped.output) == count(direct.output), "\(piped.output)")
        #expect(!piped.output.contains("not a JSON object"))
    }

    /// Millions of tiny entries: the reader hands each over and keeps nothing per entry, so a 600 MB address space
    /// is plenty (it kept about 1.3 KB an entry).
    @Test func aHARWithMillionsOfEntriesRunsInBoundedMemory() async throws {
        let cli = try CommandLine.fresh()
        let har = cli.directory.appendingPathComponent("many.har")
        var text = "{\"log\":{\"entries\":["
        text += Array(repeating: "0", count: 2_000_000).joined(separator: ",")
        text += "]}}"
        try Data(text.utf8).write(to: har)
        let state = AnalyzeCommandTests.fixtures.appendingPathComponent("client-behind-nat/state.json").path
        let result = try await Subprocess.run(
            URL(fileURLWithPath: "/bin/bash"),
            [
                "-c", "ulimit -v 700000; exec \"$0\" analyze \"$1\" --state \"$2\" --rules \"$3\" --color never",
                CommandLine.binary.path, har.path, state, AnalyzeCommandTests.rules,
            ], directory: cli.directory)
        // Not one entry is an SKM API call: the input is not a capture SKM reads, which the exit status says.
        #expect(result.status == 2, "\(result.error.prefix(500))")
        #expect(result.error.contains("none of its 2000000 entries is an SKM API call"), "\(result.error.prefix(500))")
        #expect(result.output.contains("2,000,000 problems in the inputs"), "\(result.output.prefix(800))")
    }
}
