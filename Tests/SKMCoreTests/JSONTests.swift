import Foundation
import SKMCore
import SKMPrimitives
import SKMTestSupport
import Testing

@Suite struct JSONTests {
    @Test(arguments: [
        (
            "{\"a\":1,\"b\":[true,false,null],\"c\":\"x\"}",
            JSONValue.object(["a": 1, "b": [true, false, nil], "c": "x"])
        ),
        ("  [1.5, -0, 1e3, -2]  ", .array([.double(1.5), .int(0), .double(1000), .int(-2)])),
        ("\"\\u00e9\\ud83d\\ude00\\n\\\"\"", .string("é😀\n\"")),
        ("\"한국어\"", .string("한국어")),
        ("9223372036854775807", .int(Int.max)),
        ("92233720368547758070", .double(9.223372036854775807e19)),
    ])
    func parses(_ text: String, _ expected: JSONValue) throws {
        #expect(try JSONParser().parse(text) == expected)
    }

    @Test(arguments: [
        ("", "line 1, column 1: unexpected end of input, expected a value"),
        ("{\"a\":}", "line 1, column 6: unexpected '}', expected a value"),
        ("{\"a\":1,}", "line 1, column 8: unexpected '}', expected a member name in double quotes"),
        ("[1,\n 2,,]", "line 2, column 4: unexpected ',', expected a value"),
        ("01", "line 1, column 1: leading zeros are not allowed"),
        ("[-01]", "line 1, column 2: leading zeros are not allowed"),
        ("-", "line 1, column 1: invalid number"), ("[1.]", "line 1, column 2: invalid number"),
        ("1e+", "line 1, column 1: invalid number"), ("-.5", "line 1, column 1: invalid number"),
        ("\"a\u{01}\"", "line 1, column 3: unescaped control character in a string"),
        ("{} x", "line 1, column 4: unexpected 'x' after the JSON value"),
        ("\"\\ud800\"", "line 1, column 8: unpaired surrogate in \\u escape"),
        ("tru", "line 1, column 1: invalid literal"),
        ("\"abc", "line 1, column 1: unterminated string"),
    ])
    func reportsWhereTheInputWentWrong(_ text: String, _ message: String) {
        #expect {
            _ = try JSONParser().parse(text)
        } throws: { error in
            (error as? JSONError)?.description == message
        }
    }

    @Test func deepNestingIsRefusedNotACrash() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONError.self) { _ = try JSONParser().parse(deep) }
        #expect(throws: Never.self) {
            _ = try JSONParser(maximumDepth: 100).parse(
                String(repeating: "[", count: 100) + String(repeating: "]", count: 100))
        }
    }

    @Test func invalidUTF8IsRejectedOrReplaced() throws {
        let bytes: [UInt8] = [0x22, 0x61, 0xFF, 0x62, 0x22]
        #expect(throws: JSONError.self) { _ = try JSONParser().parse(bytes) }
        #expect(try JSONParser(invalidUTF8: .replace).parse(bytes) == .string("a\u{FFFD}b"))
    }

    @Test func writerEscapesAndKeepsOrder() {
        let value: JSONValue = ["z": "a\"b\\c\n\u{01}</script>", "a": [1, 2.5, nil]]
        #expect(JSONWriter().string(value) == "{\"z\":\"a\\\"b\\\\c\\n\\u0001</script>\",\"a\":[1,2.5,null]}")
        #expect(JSONWriter(escapesHTML: true).string(value).contains("\\u003c/script\\u003e"))
    }

    @Test func writerOutputParsesBack() throws {
        let value: JSONValue = ["text": "tab\there ✓ \u{7F}", "n": -5, "d": 0.1, "o": ["e": [:]], "l": []]
        #expect(try JSONParser().parse(JSONWriter().string(value)) == value)
        #expect(try JSONParser().parse(JSONWriter(indented: true).string(value)) == value)
    }

    @Test func writerEscapesEveryASCIICharacterWhereverItStands() throws {
        for scalar in (0...0x7F).compactMap(Unicode.Scalar.init) {
            for text in ["\(scalar)", "ab\(scalar)", "\(scalar)cd", "é\(scalar)✓\(scalar)"] {
                for writer in [JSONWriter(), JSONWriter(escapesHTML: true)] {
                    let written = writer.string(.string(text))
                    #expect(try JSONParser().parse(written) == .string(text), "\(written)")
                    #expect(!written.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F })
                    if writer.escapesHTML { #expect(!written.contains("<") && !written.contains(">")) }
                }
            }
        }
    }

    /// The writer's output byte for byte against a plain per-byte escaper, for every ASCII character at every
    /// position of strings long enough for the eight-bytes-at-a-time scan, among multi-byte characters and beside
    /// a second character that needs an escape.
    @Test func longStringsEscapeExactlyAsByteByByte() {
        func reference(_ text: String, html: Bool) -> [UInt8] {
            var output: [UInt8] = [UInt8(ascii: "\"")]
            for byte in text.utf8 {
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): output += [0x5C, byte]
                case 0x0A: output += Array("\\n".utf8)
                case 0x0D: output += Array("\\r".utf8)
                case 0x09: output += Array("\\t".utf8)
                case 0..<0x20, 0x7F:
                    output += Array("\\u00".utf8)
                    output += Array(String(byte, radix: 16).leftPadded(to: 2).utf8)
                case _ where html && "<>&".utf8.contains(byte):
                    output += Array("\\u00".utf8)
                    output += Array(String(byte, radix: 16).leftPadded(to: 2).utf8)
                default: output.append(byte)
                }
            }
            output.append(UInt8(ascii: "\""))
            return output
        }
        let fillers = ["abcdefghijklmnopqrstuvwx", "é✓ключ-0123456789abcdefghi", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"]
        for scalar in (0...0x7F).compactMap(Unicode.Scalar.init) {
            for filler in fillers {
                let characters = Array(filler)
                for position in 0...characters.count {
                    for second in ["", "\"", "\u{01}"] {
                        var text = characters
                        text.insert(Character(scalar), at: position)
                        let string = String(text) + second
                        for html in [false, true] {
                            var written = ByteWriter()
                            JSONWriter(escapesHTML: html).writeString(string, to: &written)
                            #expect(written.finish() == reference(string, html: html), "\(string.debugDescription)")
                        }
                    }
                }
            }
        }
    }

    @Test func timestampsRoundTrip() {
        let date = Date(timeIntervalSince1970: 1_790_000_000.123)
        #expect(Timestamp.rfc3339(date) == "2026-09-21T14:13:20.123Z")
        #expect(Timestamp.api(date) == "2026-09-21T14:13:20.123")
        #expect(Timestamp.parse("2026-09-21T14:13:20.123Z")?.millisecondsSince1970 == date.millisecondsSince1970)
        #expect(Timestamp.parse("2026-09-21T23:13:20.123+09:00")?.millisecondsSince1970 == date.millisecondsSince1970)
        #expect(Timestamp.parse("2026-09-21T14:13:20")?.timeIntervalSince1970 == 1_790_000_000)
        #expect(Timestamp.rfc3339(Date(timeIntervalSince1970: -1)) == "1969-12-31T23:59:59.000Z")
        for (seconds, text) in [
            (-62_135_596_800.0, "0001-01-01T00:00:00.000Z"), (253_402_300_799.999, "9999-12-31T23:59:59.999Z"),
        ] {
            let date = Date(timeIntervalSince1970: seconds)
            #expect(Timestamp.rfc3339(date) == text)
            var line = ByteWriter(capacity: 4)
            line.append("time:")
            Timestamp.appendRFC3339(date, to: &line)
            #expect(String(decoding: line.finish(), as: UTF8.self) == "time:" + text)
        }
        for bad in ["", "2026-13-01T00:00:00Z", "2026-09-21", "2026-09-21T14:13:20.Z", "2026-09-21T14:13:20+9"] {
            #expect(Timestamp.parse(bad) == nil, "\(bad)")
        }
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}

/// The byte writer behind the request log and the JSON answers, against `String` and `Array`.
@Suite struct ByteWriterTests {
    @Test func writesWhatAnArrayWouldHoldAcrossGrowth() {
        for seed in 0..<200 as Range<UInt64> {
            var generator = SeededGenerator(seed: seed)
            var writer = ByteWriter(capacity: Int.random(in: 0...40, using: &generator))
            var expected: [UInt8] = []
            for _ in 0..<Int.random(in: 0...60, using: &generator) {
                switch Int.random(in: 0..<5, using: &generator) {
                case 0:
                    let byte = UInt8.random(in: 0...255, using: &generator)
                    writer.append(byte)
                    expected.append(byte)
                case 1:
                    let bytes = (0..<Int.random(in: 0...90, using: &generator)).map { UInt8(truncatingIfNeeded: $0) }
                    bytes.withUnsafeBufferPointer { writer.append($0) }
                    expected += bytes
                case 2:
                    writer.append("key\":")
                    expected += Array("key\":".utf8)
                case 3:
                    let text = ["", "é✓", String(repeating: "ключ", count: 20)].randomElement(using: &generator)!
                    writer.append(utf8: text)
                    expected += Array(text.utf8)
                default:
                    let number = [0, 7, -7, 10, -10, 99, 100, Int.max, Int.min, Int.random(in: .min ... .max)]
                        .randomElement(using: &generator)!
                    writer.append(decimal: number)
                    expected += Array(String(number).utf8)
                }
                #expect(writer.count == expected.count, "seed \(seed)")
            }
            writer.withBytes { #expect(Array($0) == expected, "seed \(seed)") }
            #expect(writer.finish() == expected, "seed \(seed)")
        }
    }

    @Test func inPlaceWritesCountOnlyWhatWasWritten() {
        var writer = ByteWriter(capacity: 1)
        writer.append("ab")
        writer.write(atMost: 30) { room in
            #expect(room.count == 30)
            room[0] = UInt8(ascii: "c")
            return 1
        }
        writer.append(UInt8(ascii: "d"))
        #expect(String(decoding: writer.finish(), as: UTF8.self) == "abcd")
    }
}

/// Texts joined without a second check of their UTF-8 are the strings Swift would make of the same bytes: equal to
/// them, hashed alike, equal to their canonical equivalents, counted alike in characters and scalars.
@Suite struct JoinedTextTests {
    @Test func joinedTextsAreTheStringsOfTheirBytes() {
        let pieces = ["", "a", "key-1", "é", "e\u{301}", "\u{301}", "\u{1F431}", "ж", "한국어 키", "\u{1100}\u{1161}"]
        for seed in 0..<300 as Range<UInt64> {
            var generator = SeededGenerator(seed: seed)
            let parts = (0..<Int.random(in: 0...6, using: &generator)).map { _ in
                pieces.randomElement(using: &generator)!
            }
            let expected = parts.joined()
            let capacity = expected.utf8.count + Int.random(in: 0...3, using: &generator)
            let joined = String(joiningValidUTF8: capacity) { output in
                var written = 0
                for part in parts {
                    for byte in part.utf8 {
                        output[written] = byte
                        written += 1
                    }
                }
                return written
            }
            #expect(Array(joined.utf8) == Array(expected.utf8), "seed \(seed)")
            #expect(joined == expected && joined.hashValue == expected.hashValue, "seed \(seed)")
            #expect(joined.count == expected.count && joined.unicodeScalars.count == expected.unicodeScalars.count)
            let composed = expected.precomposedStringWithCanonicalMapping
            #expect(joined == composed, "seed \(seed): canonical equivalents are equal strings")
        }
    }
}
