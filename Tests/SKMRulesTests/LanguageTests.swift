import Foundation
import SKMPrimitives
import SKMRules
import SKMTestSupport
import Testing

/// A small schema: `request` with a client, `store` with entries.
enum Schemas {
    static let entry = ObjectType(name: "Entry", fields: [.init("value", .string), .init("status", .string)])
    static let client = ObjectType(name: "Client", fields: [.init("ip", .string), .init("macHeader", .string)])
    static let request = ObjectType(
        name: "Request", fields: [.init("client", .object("Client")), .init("bytes", .int)])
    static let store = ObjectType(
        name: "Store", fields: [.init("name", .string), .init("macs", .list(.object("Entry")))])
    static let schema = FactSchema(
        variables: [.init("request", .object("Request")), .init("store", .object("Store"))],
        objects: [entry, client, request, store])

    static func activation(
        ip: Value? = .string("10.0.0.1"), mac: Value? = nil, macs: [(String, String)] = []
    ) -> Activation {
        let client = ObjectValue(type: Schemas.client, fields: [ip, mac])
        let entries = macs.map { Value.object(ObjectValue(type: entry, fields: [.string($0.0), .string($0.1)])) }
        return Activation(
            schema: schema,
            values: [
                "request": .object(ObjectValue(type: request, fields: [.object(client), .int(10)])),
                "store": .object(ObjectValue(type: store, fields: [.string("payments"), .list(entries)])),
            ])
    }
}

func evaluate(_ text: String, _ activation: Activation = Schemas.activation()) throws -> Value {
    let program = try Compiler.compile(Source(text: text), schema: Schemas.schema).get()
    return program.evaluate(activation)
}

/// A store named `name` (any value, or absent) holding `entries`, and a request without a client.
func storeFacts(name: Value?, entries: [Value]) -> Activation {
    Activation(
        schema: Schemas.schema,
        values: [
            "request": .object(ObjectValue(type: Schemas.request, fields: [nil, .int(1)])),
            "store": .object(ObjectValue(type: Schemas.store, fields: [name, .list(entries)])),
        ])
}

/// Expects each program, evaluated without evidence (where the paths that read values in place run), to give what it
/// gives with evidence (the general reading), and strictly the same where neither reading fails; and read for its
/// truth alone (as the replay reads conditions), true or false exactly when the general reading is that bool.
/// `facts` describes the activation in a failure's message.
func expectPlainReadingAgrees(
    _ programs: [Program], on activation: Activation, _ facts: String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    for program in programs {
        let general = program.evaluateWithEvidence(activation).0
        let plain = program.evaluate(activation)
        #expect(
            "\(plain)" == "\(general)", "\(program.source.text) with \(facts)", sourceLocation: sourceLocation)
        #expect(
            program.truth(activation) == general.boolValue, "truth: \(program.source.text) with \(facts)",
            sourceLocation: sourceLocation)
        let strict = program.evaluateStrictly(activation)
        if !general.isError && !strict.isError {
            #expect(
                "\(strict)" == "\(general)", "strictly: \(program.source.text) with \(facts)",
                sourceLocation: sourceLocation)
        }
    }
}

@Suite struct LanguageTests {
    /// `startsWith` and `endsWith` compare scalars: on random texts of ASCII, accented, combining and astral
    /// characters, they agree with a comparison of the scalars themselves, and a scalar is never split.
    @Test func prefixesAndSuffixesCompareScalars() throws {
        let pieces = ["a", "b", "é", "e\u{301}", "\u{301}", "\u{1F431}", "\u{1F600}", "ж"]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            func text() -> String {
                (0..<Int.random(in: 0...4, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }
                    .joined()
            }
            let (whole, part) = (text(), text())
            let program =
                "'\(whole)'.startsWith('\(part)') == \(whole.unicodeScalars.starts(with: part.unicodeScalars))"
                + " && '\(whole)'.endsWith('\(part)') =="
                + " \(whole.unicodeScalars.reversed().starts(with: part.unicodeScalars.reversed()))"
            #expect(try evaluate(program).boolValue == true, "\(program)")
        }
        // Scalars, not characters: `e` begins `e` and a combining acute, not the precomposed `é`.
        #expect(try evaluate("'\u{1F431}x'.startsWith('\u{1F431}')").boolValue == true)
        #expect(try evaluate("'é'.startsWith('e')").boolValue == false)
        #expect(try evaluate("'e\u{301}'.startsWith('e')").boolValue == true)
        #expect(try evaluate("'e\u{301}'.endsWith('\u{301}')").boolValue == true)
    }

    /// `startsWith`, `endsWith` and `contains` with a literal compare UTF-8 bytes in place, which agrees with
    /// comparing scalars: on random texts read from a comprehension variable, a fact's field, a field of a
    /// comprehension variable and a literal, plainly and with evidence (which reads the receiver as every operand is).
    /// A receiver that is not a string gives what the general call gives.
    @Test func literalMatchesInPlaceAgreeWithScalars() throws {
        let pieces = ["a", "b", "é", "e\u{301}", "\u{301}", "\u{1F431}", "ж", ":"]
        func scalarsContain(_ whole: String, _ part: String) -> Bool {
            let (w, p) = (Array(whole.unicodeScalars), Array(part.unicodeScalars))
            if p.isEmpty { return true }
            guard w.count >= p.count else { return false }
            return (0...(w.count - p.count)).contains { Array(w[$0..<($0 + p.count)]) == p }
        }
        func compile(_ text: String) throws -> Program {
            try Compiler.compile(Source(text: text), schema: Schemas.schema).get()
        }
        for seed in 0..<500 as Range<UInt64> {
            var generator = SeededGenerator(seed: seed)
            func text() -> String {
                (0..<Int.random(in: 0...4, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }
                    .joined()
            }
            let (whole, part) = (text(), text())
            let expected: [(String, Bool)] = [
                ("startsWith", whole.unicodeScalars.starts(with: part.unicodeScalars)),
                ("endsWith", whole.unicodeScalars.reversed().starts(with: part.unicodeScalars.reversed())),
                ("contains", scalarsContain(whole, part)),
            ]
            let entry = Value.object(ObjectValue(type: Schemas.entry, fields: [.string(whole), .string("x")]))
            let activation = Activation(
                schema: Schemas.schema,
                values: ["store": .object(ObjectValue(type: Schemas.store, fields: [.string(whole), .list([entry])]))])
            for (function, holds) in expected {
                // In place (a fact's field, a comprehension variable, a field of one), from a literal, with
                // evidence, and through the library's general call (the part is not a literal there).
                for text in [
                    "store.name.\(function)('\(part)')", "'\(whole)'.\(function)('\(part)')",
                    "[store.name].exists(f, f.\(function)('\(part)'))",
                    "store.macs.exists(e, e.value.\(function)('\(part)'))",
                    "store.name.\(function)('\(part)' + '')",
                ] {
                    let program = try compile(text)
                    #expect(program.evaluate(activation).boolValue == holds, "seed \(seed): \(text)")
                    #expect(program.evaluateWithEvidence(activation).0.boolValue == holds, "seed \(seed): \(text)")
                }
            }
        }
        // Not a string: the same unknown, default or error as the library's general call, in place or not.
        let unknown = Value.unknown(Unknown(path: "store.name", settle: "give it"))
        for name in [Value?.none, unknown, .int(3), .string("payments")] {
            let entry = Value.object(ObjectValue(type: Schemas.entry, fields: [name, .string("x")]))
            let activation = Activation(
                schema: Schemas.schema,
                values: ["store": .object(ObjectValue(type: Schemas.store, fields: [name, .list([entry])]))])
            for (literal, general) in [
                ("store.name.startsWith('pay')", "store.name.startsWith('pay' + '')"),
                ("[store.name].all(f, f.endsWith('s'))", "[store.name].all(f, f.endsWith('s' + ''))"),
                ("store.macs.all(e, e.value.contains('y'))", "store.macs.all(e, e.value.contains('y' + ''))"),
            ] {
                let (fast, slow) = (try compile(literal), try compile(general))
                let label = "\(literal) with \(String(describing: name))"
                #expect("\(fast.evaluate(activation))" == "\(slow.evaluate(activation))", "\(label)")
                #expect(
                    "\(fast.evaluateWithEvidence(activation).0)" == "\(slow.evaluateWithEvidence(activation).0)",
                    "with evidence: \(label)")
                #expect(
                    "\(fast.evaluateStrictly(activation))" == "\(slow.evaluateStrictly(activation))",
                    "strictly: \(label)")
            }
        }
    }

    /// Whether a filter's list is empty (`size(missing) == 0`, through a definition, kept in the request's cache or
    /// not) and whether a comprehension variable's text is in a list field (`f in request.body.fields`) are read for
    /// their truth without making the list or copying the field: true or false exactly when the value is that bool,
    /// on lists of texts, of other values and with unknown items, on a field without a value, and under either branch
    /// of the definition's choice. The operation's constants are read as the steps made for it read them.
    @Test func emptinessAndMembershipReadInPlaceAgreeWithTheirValue() throws {
        let body = ObjectType(name: "Body", fields: [.init("fields", .list(.string))])
        let request = ObjectType(
            name: "Request", fields: [.init("body", .object("Body")), .init("operation", .string)])
        let schema = FactSchema(variables: [.init("request", .object("Request"))], objects: [body, request])
        var definitions = Definitions()
        try definitions.add(
            name: "missing",
            source: Source(text: "request.operation == 'a' ? ['x', 'y'].filter(f, !(f in request.body.fields)) : []"),
            schema: schema
        ).get()
        let programs = try [
            "size(missing) == 0", "size(missing) != 0", "0 == size(['x'].filter(f, f in request.body.fields))",
            "['x', 'y'].exists(f, f in request.body.fields)", "['x', 'y'].all(f, f in request.body.fields)",
        ].map { try Compiler.compile(Source(text: $0), schema: schema, definitions: definitions).get() }
        let unknown = Value.unknown(Unknown(path: "request.body.fields", settle: "give it"))
        let lists: [Value?] = [
            .list([]), .list([.string("x")]), .list([.string("y"), .string("x")]), .list([.int(1), .string("x")]),
            .list([unknown]), .list([.string("x"), unknown]), .list([unknown, .string("y"), .string("x")]), unknown,
            nil,
        ]
        var compared = 0
        for operation in ["a", "b"] {
            let assumption = Assumption(path: ["request", "operation"], value: operation)
            for list in lists {
                let facts = Activation(
                    schema: schema,
                    values: [
                        "request": .object(
                            ObjectValue(
                                type: request,
                                fields: [.object(ObjectValue(type: body, fields: [list])), .string(operation)]))
                    ])
                for program in programs {
                    let value = program.evaluate(facts)
                    let text = "\(program.source.text) on \(String(describing: list)) under \(operation)"
                    #expect(program.truth(facts) == value.boolValue, "\(text)")
                    let warm = DefinitionCache()
                    _ = program.evaluate(facts, cache: warm)
                    #expect(program.truth(facts, cache: warm) == value.boolValue, "kept: \(text)")
                    if let made = program.testing(assuming: assumption, schema: schema, definitions: definitions) {
                        #expect(made.program.truth(facts) == value.boolValue, "made for the operation: \(text)")
                    }
                    compared += 1
                }
            }
        }
        #expect(compared == 90)
    }

    /// A list written out, a sum and an unknown function's operands run in order whatever their number: a few
    /// through closures that hold one another, many (past 16) through a loop, with the same values.
    /// Chains of `&&` and `||` of up to nine operands, however they nest, read for their truth (in groups of four
    /// and more) as they evaluate: the first operand that decides, decides, whatever comes after it; an unknown or an
    /// error before it does not.
    @Test func chainsOfAndsAndOrsReadForTheirTruthAsTheyEvaluate() throws {
        let atoms = ["true", "false", "request.client.ip == '10.0.0.1'", "int('x') == 1", "has(request.client.ip)"]
        var generator = SeededGenerator(seed: 7)
        var programs: [Program] = []
        for _ in 0..<400 {
            let parts = (0..<Int.random(in: 1...9, using: &generator)).map { _ in
                atoms.randomElement(using: &generator)!
            }
            let joiner = Bool.random(using: &generator) ? " && " : " || "
            var text = parts.joined(separator: joiner)
            switch Int.random(in: 0..<3, using: &generator) {
            case 0 where parts.count > 2:
                text = parts[0] + joiner + "(" + parts.dropFirst().joined(separator: joiner) + ")"
            case 1:
                // Both operators, as precedence groups them.
                text = parts.dropFirst().reduce(parts[0]) {
                    $0 + (Bool.random(using: &generator) ? " && " : " || ") + $1
                }
            default: break
            }
            programs.append(try Compiler.compile(Source(text: text), schema: Schemas.schema).get())
        }
        let unknown = Value.unknown(Unknown(path: "request.client.ip", settle: "give it"))
        for ip in [Value.string("10.0.0.1"), .string("10.0.0.2"), unknown] {
            expectPlainReadingAgrees(programs, on: Schemas.activation(ip: ip), "address \(ip)")
        }
        expectPlainReadingAgrees(programs, on: Schemas.activation(ip: nil), "no address")
    }

    @Test func longListsAndSumsGiveWhatShortOnesGive() throws {
        for count in [1, 2, 15, 16, 17, 40] {
            let names = (0..<count).map { "(store.name + '\($0)')" }
            let list = try evaluate("[\(names.joined(separator: ", "))]")
            let sum = try evaluate(names.joined(separator: " + "))
            let expected = (0..<count).map { "payments\($0)" }
            guard case .list(let items) = list else {
                Issue.record("\(count) items: \(list)")
                continue
            }
            #expect(items.compactMap(\.stringValue) == expected, "\(count) items")
            #expect(sum.stringValue == expected.joined(), "\(count) terms")
        }
    }

    /// A sum of strings is the texts one after another, byte for byte: empty, ASCII, accented, combining, astral and
    /// long texts, from literals and from a field, in 300 seeded sums of one to seven terms.
    @Test func sumsOfStringsJoinTheirTermsExactly() throws {
        let pieces = ["", "a", "é", "e\u{301}", "\u{301}", "\u{1F431}", "ж", "key 0123456789abcdef0123456789abcdef"]
        var generator = SeededGenerator(seed: 7)
        for round in 0..<300 {
            let name = pieces.randomElement(using: &generator)!
            var terms: [String] = []
            var expected = ""
            for _ in 0..<Int.random(in: 1...7, using: &generator) {
                if Bool.random(using: &generator) {
                    terms.append("store.name")
                    expected += name
                } else {
                    let piece = pieces.randomElement(using: &generator)!
                    terms.append("'\(piece)'")
                    expected += piece
                }
            }
            let text = terms.joined(separator: " + ")
            let activation = Activation(
                schema: Schemas.schema,
                values: ["store": .object(ObjectValue(type: Schemas.store, fields: [.string(name), .list([])]))])
            let sum = try Compiler.compile(Source(text: text), schema: Schemas.schema).get().evaluate(activation)
            #expect(Array(sum.stringValue?.utf8 ?? "-".utf8) == Array(expected.utf8), "round \(round): \(text)")
        }
    }

    /// `normalizeMAC` gives what parsing the address and writing it out gives: on canonical addresses (returned as
    /// they are), on upper case, dashes, mixed separators, surrounding spaces and tabs, and on near misses.
    @Test func normalizedMACsAreWhatParsingGives() throws {
        let digits = Array("0123456789abcdefABCDEFgz")
        var generator = SeededGenerator(seed: 3)
        for round in 0..<2_000 {
            var text = ""
            let separator = Int.random(in: 0..<8, using: &generator)
            for octet in 0..<6 {
                if octet > 0 {
                    text += separator == 0 ? "-" : separator == 1 && octet == 3 ? "-" : separator == 2 ? "." : ":"
                }
                let uncommon = Int.random(in: 0..<40, using: &generator) == 0
                let pool = uncommon ? digits : Array(digits[0..<16])
                text += String(pool.randomElement(using: &generator)!) + String(pool.randomElement(using: &generator)!)
            }
            switch Int.random(in: 0..<10, using: &generator) {
            case 0: text = " " + text
            case 1: text += "\t"
            case 2: text = String(text.dropLast())
            case 3: text += "0"
            default: break
            }
            let expected = MACAddress(text)?.description ?? ""
            let literal = text.replacingOccurrences(of: "\t", with: "\\t")
            #expect(try evaluate("normalizeMAC('\(literal)')").stringValue == expected, "round \(round): \(text)")
        }
    }

    /// A conversion of a literal, made once when the expression is compiled, gives what converting the same text
    /// read from a field gives: valid, out of range and malformed texts, for every conversion.
    @Test func conversionsOfLiteralsGiveWhatConversionsOfFieldsGive() throws {
        let texts = [
            "168h", "-60s", "1.5h", "0s", "x", "", "2026-12-04T08:30:00Z", "2026-12-04T08:30:00.5+09:00",
            "10000-01-01T00:00:00Z",
            "42", "-7", "1e3", "0x10", "3.25", "true", "é",
        ]
        for function in ["duration", "timestamp", "int", "double", "string"] {
            for text in texts {
                let activation = Activation(
                    schema: Schemas.schema,
                    values: ["store": .object(ObjectValue(type: Schemas.store, fields: [.string(text), .list([])]))])
                let folded = try evaluate("\(function)('\(text)')", activation)
                let converted = try evaluate("\(function)(store.name)", activation)
                #expect("\(folded)" == "\(converted)", "\(function)('\(text)')")
            }
        }
    }

    /// `size` of a text counts its Unicode scalars, as CEL does: on texts of ASCII, accented, combining, astral and
    /// Hangul characters, it is Swift's count of the scalars.
    @Test func sizesOfTextsCountScalars() throws {
        let pieces = ["", "a", "é", "e\u{301}", "\u{301}", "\u{1F431}", "ж", "한국어", "key-0123456789abcdef"]
        var generator = SeededGenerator(seed: 9)
        for round in 0..<300 {
            let text = (0..<Int.random(in: 0...6, using: &generator)).map { _ in
                pieces.randomElement(using: &generator)!
            }.joined()
            let activation = Activation(
                schema: Schemas.schema,
                values: ["store": .object(ObjectValue(type: Schemas.store, fields: [.string(text), .list([])]))])
            #expect(
                try evaluate("size(store.name)", activation).intValue == Int64(text.unicodeScalars.count),
                "round \(round): \(text)")
        }
    }

    /// `join` gives Swift's `joined(separator:)` of the texts, byte for byte, for lists of no to five texts (empty,
    /// ASCII, accented, combining, astral, Hangul) and any separator.
    @Test func joinJoinsTextsAsSwiftDoes() throws {
        let pieces = ["", "a", "é", "e\u{301}", "\u{1F431}", "10.0.0.0/8", "한국"]
        var generator = SeededGenerator(seed: 5)
        for round in 0..<300 {
            let items = (0..<Int.random(in: 0...5, using: &generator)).map { _ in
                pieces.randomElement(using: &generator)!
            }
            let separator = [", ", "", "·", " | "].randomElement(using: &generator)!
            let list = "[" + items.map { "'\($0)'" }.joined(separator: ", ") + "]"
            let joined = try evaluate("\(list).join('\(separator)')")
            #expect(
                Array(joined.stringValue?.utf8 ?? "-".utf8) == Array(items.joined(separator: separator).utf8),
                "round \(round): \(list).join('\(separator)')")
        }
    }

    /// `lowerAscii` lowers A–Z and nothing else, byte for byte, on texts of capitals, small letters, accented
    /// capitals, combining marks, astral characters and Hangul, with and without a capital to lower.
    @Test func lowerAsciiLowersOnlyAToZ() throws {
        let pieces = ["", "A", "z", "Z", "É", "e\u{301}", "\u{1F431}", "-09", "한국", "QRS"]
        var generator = SeededGenerator(seed: 11)
        for round in 0..<300 {
            let text = (0..<Int.random(in: 0...6, using: &generator)).map { _ in
                pieces.randomElement(using: &generator)!
            }.joined()
            let expected = String(
                String.UnicodeScalarView(
                    text.unicodeScalars.map { (65...90).contains($0.value) ? Unicode.Scalar($0.value + 32)! : $0 }))
            #expect(
                Array(try evaluate("'\(text)'.lowerAscii()").stringValue?.utf8 ?? "-".utf8) == Array(expected.utf8),
                "round \(round): \(text)")
        }
    }

    /// Times are written in UTC with as many fraction digits as they need, from year 0001 to 9999, and read back
    /// to the same time.
    @Test func timesAreWrittenInRFC3339AndReadBack() throws {
        #expect(CELTime(seconds: 0).rfc3339 == "1970-01-01T00:00:00Z")
        #expect(CELTime(seconds: 1_234_567_890, nanos: 5_000_000).rfc3339 == "2009-02-13T23:31:30.005Z")
        #expect(CELTime(seconds: 1_234_567_890, nanos: 123_456_789).rfc3339 == "2009-02-13T23:31:30.123456789Z")
        #expect(CELTime(seconds: -1, nanos: 100).rfc3339 == "1969-12-31T23:59:59.0000001Z")
        #expect(CELTime(seconds: CELTime.minimumSeconds).rfc3339 == "0001-01-01T00:00:00Z")
        #expect(
            CELTime(seconds: CELTime.maximumSeconds, nanos: 999_999_999).rfc3339 == "9999-12-31T23:59:59.999999999Z")
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let time = CELTime(
                seconds: Int64.random(in: CELTime.minimumSeconds...CELTime.maximumSeconds, using: &generator),
                nanos: Bool.random(using: &generator) ? 0 : Int32.random(in: 0..<1_000_000_000, using: &generator))
            let text = time.rfc3339
            #expect(CELTime(rfc3339: text) == time, "\(text)")
            #expect(!text.contains(".") || !text.hasSuffix("0Z"), "\(text)")
        }
    }

    /// A name table finds what a dictionary finds: names that share a length and their first eight bytes, names
    /// that are prefixes of others, the empty name, and names Swift holds equal though their scalars differ.
    @Test func nameTablesFindWhatDictionariesFind() {
        let names = [
            "getSymmetricKey", "getSymmetricKeys", "getPrivateKey", "getPublicKey", "decrypt", "encrypt", "", "a",
            "caf\u{E9}", "data", "management",
        ]
        let dictionary = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($0.element, $0.offset) })
        let table = NameTable(dictionary)
        let probes =
            names + [
                "getSymmetricKeyX", "getSymmetricKe", "getPrivateKez", "Decrypt", "decrypt ", "cafe\u{301}",
                "get\u{212A}ey", "getSymmetric\u{212A}ey", "\u{1F431}", "managemen", "managementt",
            ]
        for probe in probes {
            #expect(table[probe] == dictionary[probe], "\(probe.debugDescription)")
        }
        // Canonically equal spellings reach the same value, as in a dictionary.
        #expect(table["getSymmetric\u{212A}ey"] == dictionary["getSymmetricKey"])
        #expect(table["cafe\u{301}"] == dictionary["caf\u{E9}"])
        // And the other way: a name that is not ASCII is found by the ASCII spelling equal to it (a Kelvin sign is
        // a K, a Greek question mark a semicolon), beside names that are ASCII.
        let others = NameTable(["get\u{212A}ey": 1, "a\u{037E}": 2, "decrypt": 3])
        #expect(others["getKey"] == 1)
        #expect(others["a;"] == 2)
        #expect(others["decrypt"] == 3)
        #expect(others["encrypt"] == nil)
    }

    /// A sum of lists is one list of their elements in order, whichever terms are empty, as adding them pairwise
    /// gives; an unknown term makes the sum unknown, and a term of another type is an error.
    @Test func sumsOfListsJoinTheirElementsInOrder() throws {
        let cases: [(String, Value)] = [
            ("[] + [] + []", .list([])),
            ("['a'] + [] + []", .list([.string("a")])),
            ("[] + [] + ['c']", .list([.string("c")])),
            ("['a'] + ['b'] + [] + ['c', 'd']", .list(["a", "b", "c", "d"].map(Value.string))),
            (
                "(store.name == 'payments' ? ['a'] : []) + [] + (request.bytes > 5 ? ['b'] : [])",
                .list(["a", "b"].map(Value.string))
            ),
            ("[1] + [2] + [3]", .list([.int(1), .int(2), .int(3)])),
        ]
        for (text, expected) in cases {
            #expect(Format.literal(try evaluate(text)) == Format.literal(expected), "\(text)")
        }
        // Absent from these facts, so unknown: the sum is too.
        let unknownFacts = Activation(schema: Schemas.schema, values: [:])
        #expect(try evaluate("['a'] + [] + store.macs.map(e, e.value)", unknownFacts).isUnknown)
        let withEntries = try evaluate(
            "['a'] + [] + store.macs.map(e, e.value)", Schemas.activation(macs: [("aa", "x")]))
        #expect(Format.literal(withEntries) == #"["a", "aa"]"#)
        // A term of another type (which the type checker refuses) is the error adding pairwise gives.
        let mixed = try Compiler.compile(Source(text: "['a'] + [] + 1"), schema: Schemas.schema, checked: false).get()
            .evaluate(Schemas.activation())
        guard case .error(let error) = mixed else {
            Issue.record("['a'] + [] + 1 gave \(Format.literal(mixed))")
            return
        }
        #expect(error.code == .noSuchOverload)
    }

    /// A name table of many names, most sharing their first eight bytes or their length with others, finds each
    /// name's own value and nothing for names it does not hold, as a dictionary does.
    @Test func largeNameTablesFindEveryName() {
        var names: [String] = []
        for length in 0..<24 {
            for variant in 0..<12 {
                // Names of one length that differ in their last byte only, beyond the first eight bytes or within.
                var name = String(repeating: "k", count: length)
                if length > 0 {
                    name.removeLast()
                    name.append(Character(Unicode.Scalar(UInt8(ascii: "a") + UInt8(variant))))
                }
                names.append(name)
            }
        }
        let dictionary = Dictionary(names.enumerated().map { ($0.element, $0.offset) }) { first, _ in first }
        let table = NameTable(dictionary)
        for name in dictionary.keys {
            #expect(table[name] == dictionary[name], "\(name.debugDescription)")
        }
        for probe in ["kkkkkkkkz", "kkkkkkkkkkkkkkkkkkkkkkkkkkkk", "z", "kkkkkkkkkkkkkkkkkkkkkkk\u{212A}", "Kkk"] {
            #expect(table[probe] == dictionary[probe], "\(probe.debugDescription)")
        }
    }

    /// A map of a few entries is searched in turn and a larger one through its index: both find the same keys, with
    /// numbers equal across int and double.
    @Test func smallAndLargeMapsFindTheSameKeys() throws {
        // Unchecked: the type checker refuses most mixed keys before they reach a map.
        func evaluate(_ text: String) throws -> Value {
            try Compiler.compile(Source(text: text), schema: Schemas.schema, checked: false).get()
                .evaluate(Schemas.activation())
        }
        let filler = (0..<12).map { "'k\($0)': \($0)" }.joined(separator: ", ")
        for extra in ["", ", " + filler] {
            #expect(try evaluate("{'a': 1, 'b': 2\(extra)}['b'] == 2").boolValue == true)
            #expect(try evaluate("{1: 'x', 2: 'y'\(extra)}[2.0] == 'y'").boolValue == true)
            #expect(try evaluate("{1.0: 'x', true: 'y'\(extra)}[1] == 'x'").boolValue == true)
            #expect(try evaluate("{1: 'x', true: 'y'\(extra)}[true] == 'y'").boolValue == true)
            #expect(try evaluate("'c' in {'a': 1, 'b': 2\(extra)}").boolValue == false)
            #expect(try evaluate("2.5 in {2: 'x'\(extra)}").boolValue == false)
            #expect(try evaluate("{'a': 1\(extra)}['c']").isError)
        }
        // However a key is written, the two searches agree.
        let small = try evaluate("'e\u{301}' in {'\u{E9}': 1}").boolValue
        let large = try evaluate("'e\u{301}' in {'\u{E9}': 1, \(filler)}").boolValue
        #expect(small != nil && small == large)
    }

    @Test func threeValuedLogicAbsorbsAsCELDoes() throws {
        let unknownIP = Schemas.activation(ip: .unknown(Unknown(path: "request.client.ip", settle: "give --client-ip")))
        #expect(try evaluate("request.client.ip == '10.0.0.1'", unknownIP).isUnknown)
        #expect(try evaluate("false && request.client.ip == '10.0.0.1'", unknownIP).boolValue == false)
        #expect(try evaluate("request.client.ip == '10.0.0.1' || true", unknownIP).boolValue == true)
        #expect(try evaluate("true && request.client.ip == 'x'", unknownIP).isUnknown)
        #expect(try evaluate("has(request.client.ip)", unknownIP).isUnknown)
        // Unknown wins over error when neither side decides.
        #expect(try evaluate("request.client.ip == 'x' && 1 / 0 == 1", unknownIP).isUnknown)
        guard case .unknown(let unknown) = try evaluate("ipInCidr(request.client.ip, '10.0.0.0/8')", unknownIP) else {
            Issue.record("not unknown")
            return
        }
        #expect(unknown.facts == [.init(path: "request.client.ip", settle: "give --client-ip")])
    }

    @Test func absentFieldsReadAsDefaultsAndHasTellsThemApart() throws {
        #expect(try evaluate("has(request.client.macHeader)").boolValue == false)
        #expect(try evaluate("request.client.macHeader == ''").boolValue == true)
        #expect(try evaluate("has(request.client.macHeader)", Schemas.activation(mac: .string(""))).boolValue == true)
    }

    @Test func macrosAndExtensions() throws {
        let activation = Schemas.activation(
            mac: .string("AA-BB-CC-DD-EE-FF"), macs: [("aa:bb:cc:dd:ee:ff", "PENDING_DELETION")])
        #expect(
            try evaluate("store.macs.exists(m, m.value == normalizeMAC(request.client.macHeader))", activation)
                .boolValue == true)
        #expect(try evaluate("store.macs.all(m, m.status == 'IN_SERVICE')", activation).boolValue == false)
        #expect(try evaluate("store.macs.map(m, m.status).join(', ')", activation).stringValue == "PENDING_DELETION")
        #expect(
            try evaluate("ipInCidr('10.0.3.7', '10.0.3.0/24') && !ipInCidr('10.0.4.7', '10.0.3.0/24')").boolValue
                == true)
        #expect(try evaluate("isPrivateIP('10.1.2.3') && !isPrivateIP('203.0.113.5')").boolValue == true)
        #expect(try evaluate("isMAC('aa:bb:cc:dd:ee:ff') && !isMAC('aa:bb:cc:dd:ee')").boolValue == true)
        #expect(
            try evaluate("days(timestamp('2026-01-10T00:00:00Z') - timestamp('2026-01-03T12:00:00Z'))").intValue == 6)
        // A name with a quote and a command in it stays one shell word.
        #expect(try evaluate(#"shellQuote("ops'; touch x; echo '")"#).stringValue == #"'ops'\''; touch x; echo '\'''"#)
        // A quote before a combining mark is still a quote to the shell.
        #expect(try evaluate("shellQuote(\"é'\u{301}x\")").stringValue == "'é'\\''\u{301}x'")
        #expect(try evaluate("shellQuote('')").stringValue == "''")
        // Only A–Z change case.
        #expect(try evaluate("'ÀBÇd-Z'.lowerAscii()").stringValue == "ÀbÇd-z")
        #expect(try evaluate("'abc'.lowerAscii()").stringValue == "abc")
        #expect(try evaluate("normalizeMAC('AA-BB-CC-0D-EE-FF')").stringValue == "aa:bb:cc:0d:ee:ff")
        // Impossible times are not times.
        for text in ["timestamp('2026-09-31T00:00:00Z')", "timestamp('2026-09-21T00:00:00+24:00')"] {
            guard case .error = try evaluate(text) else {
                Issue.record("\(text) was read as a time")
                continue
            }
        }
    }

    @Test func evidenceRecordsTheFactsACheckRead() throws {
        let program = try Compiler.compile(
            Source(text: "store.macs.exists(m, m.value == request.client.macHeader) || size(store.name) > 100"),
            schema: Schemas.schema
        ).get()
        let (value, evidence) = program.evaluateWithEvidence(Schemas.activation(mac: .string("aa:bb:cc:dd:ee:ff")))
        #expect(value.boolValue == false)
        #expect(
            evidence.map(\.expression) == [
                "store.macs", "store.macs.exists(m, m.value == request.client.macHeader)", "store.name",
                "size(store.name)",
            ])
        #expect(Format.text(evidence[3].value) == "8")
    }

    @Test(arguments: [
        ("request.client.adress", "1:16: error: undefined field 'adress' of Client; did you mean 'address'?"),
        ("reqest.bytes > 1", "1:1: error: undeclared reference to 'reqest'; did you mean 'request'?"),
        ("request.bytes + 'x'", "1:1: error: found no matching overload for '+' applied to '(int, string)'"),
        (
            "[1, 'a']",
            "1:5: error: unsupported: list elements of different types (int, string) need dyn, which SKM's language leaves out"
        ),
        (
            "size(1u)",
            "1:6: error: unsupported: uint literals are not part of SKM's condition language (no uint or bytes types)"
        ),
        ("request.bytes > ", "1:17: error: unexpected end of expression"),
        ("sizze(store.macs)", "1:1: error: undeclared reference to function 'sizze'; did you mean 'size'?"),
    ])
    func diagnosticsPointAtTheProblem(_ text: String, _ expected: String) {
        let schema = FactSchema(
            variables: Schemas.schema.variables,
            objects: [
                Schemas.entry, Schemas.request, Schemas.store,
                ObjectType(name: "Client", fields: [.init("address", .string)]),
            ])
        switch Compiler.compile(Source(name: "rule.yaml", text: text), schema: schema) {
        case .success: Issue.record("\(text) compiled")
        case .failure(let diagnostics):
            let first = diagnostics.items[0].description
            #expect(first.hasPrefix("rule.yaml:" + expected), "\(first)")
            #expect(first.contains("\n" + text + "\n"))
        }
    }

    @Test func caretSitsUnderTheColumnInTheFile() {
        let file = "id: X\nchecks:\n  - assert: request.bytes >> 2\n"
        let source = Source(name: "Rules/x.yaml", text: "request.bytes >> 2", line: 3, column: 13, fileText: file)
        guard case .failure(let diagnostics) = Compiler.compile(source, schema: Schemas.schema) else {
            Issue.record("compiled")
            return
        }
        #expect(
            diagnostics.items[0].description == """
                Rules/x.yaml:3:28: error: unexpected '>'
                  - assert: request.bytes >> 2
                                           ^
                """)
    }

    @Test func pathologicalExpressionsGetALimitNotACrash() {
        let cases = [
            String(repeating: "(", count: 5000) + "1" + String(repeating: ")", count: 5000),
            String(repeating: "!", count: 5000) + "true",
            String(repeating: "-", count: 5000) + "1",
            (0..<3000).map { _ in "true" }.joined(separator: " || "),
            String(repeating: "[", count: 5000),
            String(repeating: "a.", count: 3000) + "b",
            String(repeating: "x", count: 100_000),
        ]
        for text in cases {
            switch Compiler.compile(Source(text: text), schema: Schemas.schema) {
            case .success: Issue.record("accepted \(text.prefix(20))…")
            case .failure(let diagnostics):
                #expect(!diagnostics.items.isEmpty)
            }
        }
        // A long but flat expression within the limits still works.
        let chain = (0..<200).map { _ in "false" }.joined(separator: " || ") + " || true"
        #expect((try? evaluate(chain))?.boolValue == true)
    }

    @Test func assertionsMustBeBooleans() {
        guard
            case .failure(let diagnostics) = Compiler.compile(
                Source(text: "store.name"), schema: Schemas.schema, expecting: .bool)
        else {
            Issue.record("compiled")
            return
        }
        #expect(diagnostics.items[0].message == "expected a bool, but the expression is a string")
    }

    /// A comparison of a field with string literals reads a string field where it lies. Evaluated with evidence, the
    /// same comparison reads the field as every other expression does: the two agree on every kind of field value,
    /// for a fact's field and a comprehension variable's, and so does the strict reading.
    @Test func comparingAFieldWithLiteralsInPlaceAgreesWithTheGeneralReading() throws {
        let programs = [
            "store.name == 'payments'", "store.name != 'payments'", "'payments' == store.name",
            "'e\u{301}' != store.name", "store.name in ['pay', 'payments', 'é']", "!(store.name in ['x'])",
            "store.macs.exists(e, e.status == 'ENABLED')", "store.macs.all(e, e.status != 'DELETED')",
            "store.macs.exists(e, e.status in ['ENABLED', 'é'])", "store.macs.filter(e, e.value == 'a').size()",
            "store.macs.filter(e, e.status != 'DELETED').exists(e, e.value == 'a')",
        ].map { try! Compiler.compile(Source(text: $0), schema: Schemas.schema).get() }
        let values: [Value?] = [
            .string("payments"), .string("pay"), .string(""), .string("é"), .string("e\u{301}"), .string("ENABLED"),
            .string("DELETED"), .string("a"), nil, .unknown(Unknown(path: "store.name", settle: "give it")),
        ]
        for name in values {
            for status in values {
                let entries = [
                    Value.object(ObjectValue(type: Schemas.entry, fields: [.string("a"), status])),
                    .object(ObjectValue(type: Schemas.entry, fields: [status, .string("ENABLED")])),
                ]
                expectPlainReadingAgrees(
                    programs, on: storeFacts(name: name, entries: entries),
                    "name \(String(describing: name)), status \(String(describing: status))")
            }
        }
        // The in-place reading does decide: a name that is a string compares by code points.
        let equal = try Compiler.compile(Source(text: "store.name == 'é'"), schema: Schemas.schema).get()
        let store = { (name: String) in
            Activation(
                schema: Schemas.schema,
                values: ["store": .object(ObjectValue(type: Schemas.store, fields: [.string(name), .list([])]))])
        }
        #expect(equal.evaluate(store("é")).boolValue == true)
        #expect(equal.evaluate(store("e\u{301}")).boolValue == false)
    }

    /// A key looked up in a map of literals with string keys (`x in {...}`, `{...}[x]`, written out or a
    /// definition's) is found by a scan of the keys. Evaluated with evidence, the same lookup goes through the map
    /// itself: the two agree on every kind of key (a key, a key equal to one only after Unicode normalisation, not a
    /// key, another type, absent, unknown), in a comprehension's range as anywhere, and so does the strict reading.
    @Test func lookupsInMapsOfLiteralsAgreeWithTheGeneralReading() throws {
        let map = "{'payments': 'a', 'pay': 'p', 'é': 'acute', 'ж': 'zhe', '': 'empty'}"
        var definitions = Definitions()
        try definitions.add(name: "names", source: Source(text: map), schema: Schemas.schema).get()
        let programs = [
            "store.name in \(map)", "!(store.name in names)", "\(map)[store.name]", "names[store.name] == 'p'",
            "store.macs.exists(e, e.status in names)", "store.macs.map(e, e.value in names ? names[e.value] : '')",
            "size(names[store.name]) > 0", "size({'pay': ['x'], 'payments': ['y', 'z']}[store.name])",
            // A comprehension's range, which closures that record evidence record.
            "{'pay': ['x'], 'payments': ['y', 'z']}[store.name].filter(x, x != 'y')",
            "store.macs.filter(e, e.status in names && names[e.status] != 'zhe').map(e, e.value)",
        ].map { try! Compiler.compile(Source(text: $0), schema: Schemas.schema, definitions: definitions).get() }
        let values: [Value?] = [
            .string("payments"), .string("pay"), .string(""), .string("é"), .string("e\u{301}"), .string("ж"),
            .string("paymentsX"), .string("Pay"), .int(1), nil,
            .unknown(Unknown(path: "store.name", settle: "give it")),
        ]
        for name in values {
            let entries = [
                Value.object(ObjectValue(type: Schemas.entry, fields: [name, name])),
                .object(ObjectValue(type: Schemas.entry, fields: [.string("pay"), .string("ж")])),
            ]
            expectPlainReadingAgrees(
                programs, on: storeFacts(name: name, entries: entries), "name \(String(describing: name))")
        }
        // The scan does decide: a key equal only after normalisation is the key, as the map's own lookup has it.
        let lookup = try Compiler.compile(
            Source(text: "names['e\u{301}'] == 'acute' && !('paymentsX' in names)"), schema: Schemas.schema,
            definitions: definitions
        ).get()
        #expect(lookup.evaluate(Schemas.activation()).boolValue == true)
    }

    /// A comparison with a field operand reads a string, an integer or a timestamp where it lies. Evaluated with
    /// evidence, the same comparison reads its operands as every other expression does: the two agree for every
    /// relation, both ways round, with a field on one side or both, of a fact or of a comprehension variable, on every
    /// kind of value (absent, unknown, another type, a double beside an integer, strings equal only after Unicode
    /// normalisation); and strictly, as with each field read behind a conditional.
    @Test func relationsInPlaceAgreeWithTheGeneralReading() throws {
        let item = ObjectType(
            name: "Item", fields: [.init("s", .string), .init("i", .int), .init("t", .timestamp), .init("d", .double)])
        let holder = ObjectType(
            name: "Holder",
            fields: [
                .init("s", .string), .init("i", .int), .init("t", .timestamp), .init("d", .double),
                .init("items", .list(.object("Item"))),
            ])
        let schema = FactSchema(
            variables: [.init("a", .object("Holder")), .init("b", .object("Holder"))], objects: [item, holder])
        var texts: [String] = []
        for relation in ["==", "!=", "<", "<=", ">", ">="] {
            texts += [
                "a.s \(relation) b.s", "a.i \(relation) b.i", "a.t \(relation) b.t", "a.i \(relation) 3",
                "3 \(relation) a.i", "a.s \(relation) 'm'", "a.d \(relation) b.d", "a.s \(relation) b.s + ''",
                "b.t + duration('1s') \(relation) a.t", "a.items.exists(e, e.s \(relation) a.s)",
                "a.items.exists(e, e.i \(relation) e.i + 1)", "a.items.all(e, b.t \(relation) e.t)",
            ]
        }
        let programs = try texts.map { try Compiler.compile(Source(text: $0), schema: schema).get() }
        // The same comparisons with every field behind a conditional, which reads it as any operand: the strict
        // reading is held to these (strictly, an absent field is an error, which the general reading never meets).
        let twins = try texts.map { text in
            let twin = text.replacing(/\b([abe])\.([sitd])\b/) { "(true ? \($0.1).\($0.2) : \($0.1).\($0.2))" }
            return try Compiler.compile(Source(text: twin), schema: schema).get()
        }
        let unknown = Value.unknown(Unknown(path: "a.s", settle: "give it"))
        let strings: [Value?] = [
            .string("m"), .string("a"), .string("z"), .string("é"), .string("e\u{301}"), nil, unknown,
        ]
        let ints: [Value?] = [.int(3), .int(-7), .int(4), .double(3), nil, unknown, .string("3")]
        let times: [Value?] = [
            .timestamp(CELTime(seconds: 100)), .timestamp(CELTime(seconds: 100, nanos: 1)),
            .timestamp(CELTime(seconds: 99)), nil, unknown,
        ]
        let doubles: [Value?] = [.double(1.5), .int(2), .double(.nan), nil]
        var generator = SeededGenerator(seed: 12)
        for round in 0..<400 {
            func object(_ type: ObjectType, items: Bool) -> ObjectValue {
                var fields: [Value?] = [
                    strings.randomElement(using: &generator)!, ints.randomElement(using: &generator)!,
                    times.randomElement(using: &generator)!, doubles.randomElement(using: &generator)!,
                ]
                if items {
                    fields.append(
                        .list(
                            (0..<Int.random(in: 0...3, using: &generator)).map { _ in
                                .object(object(item, items: false))
                            }))
                }
                return ObjectValue(type: type, fields: fields)
            }
            let activation = Activation(
                schema: schema,
                values: [
                    "a": .object(object(holder, items: true)), "b": .object(object(holder, items: true)),
                ])
            for (program, twin) in zip(programs, twins) {
                let inPlace = program.evaluate(activation)
                #expect(
                    "\(inPlace)" == "\(program.evaluateWithEvidence(activation).0)",
                    "round \(round): \(program.source.text)")
                #expect(
                    program.truth(activation) == inPlace.boolValue, "round \(round), truth: \(program.source.text)")
                #expect(twin.truth(activation) == inPlace.boolValue, "round \(round), truth: \(twin.source.text)")
                #expect("\(inPlace)" == "\(twin.evaluate(activation))", "round \(round): \(twin.source.text)")
                #expect(
                    "\(program.evaluateStrictly(activation))" == "\(twin.evaluateStrictly(activation))",
                    "round \(round), strictly: \(program.source.text)")
            }
        }
    }

    /// Texts compare code point by code point however they are held: short ones in place, long ones in storage, and
    /// short ones in storage of their own (a text that grew from an empty one with room reserved), ASCII or not.
    @Test func textsCompareByTheirCodePointsHoweverTheyAreHeld() throws {
        func grown(_ text: String) -> String {
            var grown = String()
            grown.reserveCapacity(64)
            grown += text
            return grown
        }
        let bases = ["", "a", "abc", "abd", "é", "e\u{301}", "fifteen bytes!!", "sixteen bytes!!!", "Kelvin \u{212A}"]
        var texts: [String] = []
        for base in bases {
            texts += [
                base, grown(base), String(decoding: Array(base.utf8), as: UTF8.self), base + "x", grown(base + "x"),
            ]
        }
        let holder = ObjectType(name: "Holder", fields: [.init("s", .string)])
        let schema = FactSchema(
            variables: [.init("a", .object("Holder")), .init("b", .object("Holder"))], objects: [holder])
        let program = try Compiler.compile(Source(text: "a.s == b.s"), schema: schema).get()
        for x in texts {
            for y in texts {
                let facts = Activation(
                    schema: schema,
                    values: [
                        "a": .object(ObjectValue(type: holder, fields: [.string(x)])),
                        "b": .object(ObjectValue(type: holder, fields: [.string(y)])),
                    ])
                let same = Array(x.utf8) == Array(y.utf8)
                #expect(program.evaluate(facts).boolValue == same, "\(x.debugDescription) == \(y.debugDescription)")
                #expect(program.truth(facts) == same, "truth: \(x.debugDescription) == \(y.debugDescription)")
            }
        }
    }

    /// `has()` of a fact's field, or of a field a chain of fields from a fact reaches, tests the field where it lies.
    /// A deferred fact is read as usual, so the two readings are held to each other on the same values: every kind of
    /// value on the way (an object of the type, none, an unknown, another type) and in the field, plainly, with
    /// evidence and strictly; and per-request reads are noted alike.
    @Test func presenceInPlaceAgreesWithTheGeneralReading() throws {
        let programs = [
            "has(request.client)", "has(request.client.ip)", "has(request.client.macHeader)",
            "!has(request.client.ip) || request.client.ip == '10.0.0.1'", "has(store.name) && has(request.bytes)",
        ].map { try! Compiler.compile(Source(text: $0), schema: Schemas.schema).get() }
        let unknown = Value.unknown(Unknown(path: "request.client", settle: "give it"))
        let fields: [Value?] = [.string("10.0.0.1"), .string(""), nil, unknown, .int(3)]
        var clients: [Value?] = [nil, unknown, .string("not an object")]
        for ip in fields {
            for mac in fields { clients.append(.object(ObjectValue(type: Schemas.client, fields: [ip, mac]))) }
        }
        var decided = 0
        for client in clients {
            let request = Value.object(ObjectValue(type: Schemas.request, fields: [client, .int(1)]))
            let store = Value.object(ObjectValue(type: Schemas.store, fields: [.string("payments"), .list([])]))
            for program in programs {
                let stored = Activation(schema: Schemas.schema, values: ["request": request, "store": store])
                let deferred = Activation(
                    schema: Schemas.schema, values: ["store": store], deferred: ["request": { request }])
                let label = "\(program.source.text) with client \(String(describing: client))"
                #expect("\(program.evaluate(stored))" == "\(program.evaluate(deferred))", "\(label)")
                #expect(program.truth(stored) == program.evaluate(stored).boolValue, "truth: \(label)")
                #expect(program.truth(deferred) == program.evaluate(stored).boolValue, "truth, deferred: \(label)")
                #expect(
                    "\(program.evaluateWithEvidence(stored).0)" == "\(program.evaluateWithEvidence(deferred).0)",
                    "with evidence: \(label)")
                #expect(
                    "\(program.evaluateStrictly(stored))" == "\(program.evaluateStrictly(deferred))",
                    "strictly: \(label)")
                if program.evaluate(stored).boolValue != nil { decided += 1 }
            }
        }
        // The readings decide most of these, both ways.
        #expect(decided > clients.count * 2)
        let ip = try Compiler.compile(Source(text: "has(request.client.ip)"), schema: Schemas.schema).get()
        #expect(ip.evaluate(Schemas.activation(ip: .string("10.0.0.1"))).boolValue == true)
        #expect(ip.evaluate(Schemas.activation(ip: nil)).boolValue == false)
        #expect(ip.evaluate(Schemas.activation(ip: unknown)).isUnknown)

        // A chain through an object with a per-request field notes a per-request read, in place as before.
        let timed = ObjectType(name: "Timed", fields: [.init("at", .int, perRequest: true), .init("id", .string)])
        let holder = ObjectType(name: "Holder", fields: [.init("timed", .object("Timed"))])
        let schema = FactSchema(variables: [.init("holder", .object("Holder"))], objects: [timed, holder])
        let value = Value.object(
            ObjectValue(type: holder, fields: [.object(ObjectValue(type: timed, fields: [.int(1), nil]))]))
        for (text, notes) in [("has(holder.timed.id)", true), ("has(holder.timed)", false)] {
            let program = try Compiler.compile(Source(text: text), schema: schema).get()
            for deferring in [false, true] {
                var activation =
                    deferring
                    ? Activation(schema: schema, values: [:], deferred: ["holder": { value }])
                    : Activation(schema: schema, values: ["holder": value])
                let reads = ReadLog()
                activation.reads = reads
                #expect(program.evaluate(activation).boolValue == (text == "has(holder.timed)"))
                #expect(reads.readPerRequest == notes, "\(text), deferred: \(deferring)")
                // Read for its truth alone, it notes the same.
                let truthReads = ReadLog()
                activation.reads = truthReads
                #expect(program.truth(activation) == (text == "has(holder.timed)"))
                #expect(truthReads.readPerRequest == notes, "truth: \(text), deferred: \(deferring)")
            }
        }
    }
}
