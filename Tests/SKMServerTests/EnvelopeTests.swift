import SKMCore
import SKMWire
import Testing

/// The server writes an answer's envelope straight into bytes; they must be the bytes of the envelope as a value.
@Suite struct EnvelopeTests {
    static let bodies: [JSONValue] = [
        .null,
        ["ciphertext": "AAAAAB+/=", "keyVersion": 3],
        ["text": "quote \" backslash \\ newline \n tab \t <script>&", "nested": ["list": [1, 2.5, true, .null]]],
        .array([]),
        ["empty": [:]],
    ]

    @Test(arguments: APIError.allCases)
    func failureEnvelopesAreTheEnvelopeValue(_ error: APIError) {
        let outcome = Outcome.failure(Rejection(DecisionCheck(error, "envelope-test"), "refused"))
        #expect(String(decoding: outcome.envelopeBytes, as: UTF8.self) == JSONWriter().string(outcome.envelope))
    }

    @Test(arguments: bodies)
    func successEnvelopesAreTheEnvelopeValue(_ body: JSONValue) {
        for outcome in [Outcome(.success(.body(body)), keyVersion: 1), Outcome(.success(.bare(body)))] {
            #expect(String(decoding: outcome.envelopeBytes, as: UTF8.self) == JSONWriter().string(outcome.envelope))
        }
    }

    @Test func fileEnvelopeIsTheEnvelopeValue() {
        let outcome = Outcome(
            .success(.file(bytes: [1, 2, 3], contentType: "application/x-pem-file", filename: "a.pem")))
        #expect(String(decoding: outcome.envelopeBytes, as: UTF8.self) == JSONWriter().string(outcome.envelope))
    }
}
