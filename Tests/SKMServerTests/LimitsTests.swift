import Foundation
import NIOHTTP1
import SKMCore
import SKMTestSupport
import Testing

@Suite struct LimitsTests {
    @Test func clientMistakesGetTheEnvelopeNeverA500() async throws {
        let world = try await HTTPWorld.make()
        let server = world.server
        let client = try server.client()
        let encrypt = server.url(server.api("symmetric-keys/\(world.key.id)/encrypt"))
        let cases: [(String, HTTPMethod, String, String?, [(String, String)], String)] = [
            (
                "body over the limit", .POST, encrypt,
                "{\"plaintext\":\"" + String(repeating: "a", count: 300 * 1024) + "\"}", [], "Invalid Request"
            ),
            ("not JSON", .POST, encrypt, "plaintext=hello", [], "Invalid Request"),
            ("JSON array", .POST, encrypt, "[1,2]", [], "Invalid Request"),
            ("wrong type", .POST, encrypt, #"{"plaintext": {"a": 1}}"#, [], "Invalid Request"),
            ("no body", .POST, encrypt, nil, [], "Invalid Request"),
            ("deep nesting", .POST, encrypt, String(repeating: "[", count: 5000), [], "Invalid Request"),
            ("invalid UTF-8", .POST, encrypt, "{\"plaintext\": \"\u{FFFD}\"}", [], ""),
            ("unknown route", .GET, server.url("/keymanager/v1.2/appkey"), nil, [], "URL NOT FOUND"),
            (
                "unknown version", .GET, server.url("/keymanager/v9.9/appkey/\(server.appkey)/confirm"), nil, [],
                "URL NOT FOUND"
            ),
            ("wrong method", .DELETE, encrypt, nil, [], "URL NOT FOUND"),
            (
                "oversized headers", .POST, encrypt, #"{"plaintext":"x"}"#,
                [("X-Padding", String(repeating: "p", count: 20_000))], "Invalid Request"
            ),
            (
                "bad query", .GET,
                server.url(server.api("symmetric-keys/\(world.key.id)/symmetric-key?keyVersion=abc")), nil, [],
                "Invalid Request"
            ),
            (
                "encoded slash in the key id", .POST, server.url(server.api("symmetric-keys/..%2F..%2Fetc/encrypt")),
                #"{"plaintext":"x"}"#, [], "Invalid Key ID"
            ),
            (
                "hostile appkey", .GET, server.url("/keymanager/v1.2/appkey/%3Cscript%3E/confirm"), nil, [],
                "Invalid Appkey"
            ),
        ]
        for (name, method, url, body, headers, expected) in cases {
            let answer = try await client.send(method, url, raw: body, headers: headers)
            #expect(answer.status != 500, "\(name)")
            if !expected.isEmpty {
                #expect(
                    answer.resultMessage == expected,
                    "\(name): \(String(decoding: answer.body.prefix(200), as: UTF8.self))")
            }
            #expect(answer.json["header"]?["isSuccessful"] != nil, "\(name): no envelope")
        }
        // Headers beyond what the HTTP parser accepts: a bare 400 and a closed connection, still no 500.
        let huge = try await Curl.run([
            "-k", "-H", "X-Padding: " + String(repeating: "p", count: 70_000), server.url(server.api("confirm")),
        ])
        #expect(huge.status == 400 || huge.status == 0)
        // The server still answers afterwards.
        #expect(try await world.encrypt(client).status == 200)
        try await client.shutdown()
        try await server.stop()
    }

    @Test func randomBodiesNeverProduceA500() async throws {
        let world = try await HTTPWorld.make()
        let server = world.server
        let client = try server.client()
        var generator = SplitMix(seed: 7)
        let paths = [
            "symmetric-keys/\(world.key.id)/encrypt", "symmetric-keys/\(world.key.id)/decrypt",
            "asymmetric-keys/\(world.key.id)/verify-standard", "keys/symmetric-keys/create", "auths/ipv4s",
        ]
        let fragments = [
            "{", "}", "[", "]", "\"plaintext\"", "\"ciphertext\"", ":", ",", "null", "true", "1e999", "-0",
            "\"\\u0000\"",
            "\"AAAA\"", "{\"keyVersion\": -1}", "\"keyStoreName\"", "\"\\ud800\"", "9999999999999999999999",
        ]
        for index in 0..<120 {
            let body = (0..<Int(generator.next() % 12)).map { _ in
                fragments[Int(generator.next() % UInt64(fragments.count))]
            }
            .joined()
            let path = paths[index % paths.count]
            let answer = try await client.send(
                .POST, server.url(server.api(path, version: index % 2 == 0 ? "v1.2" : "v1.3")), raw: body,
                headers: [
                    ("X-TC-AUTHENTICATION-ID", server.fixture.accessKeyID),
                    ("X-TC-AUTHENTICATION-SECRET", server.fixture.accessKeySecret),
                ])
            #expect(answer.status != 500, "body \(body)")
        }
        try await client.shutdown()
        try await server.stop()
    }
}

struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
