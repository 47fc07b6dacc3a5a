/// The functions and operators of the condition language, with their static signatures.
///
/// CEL's standard functions on the supported types, plus SKM's extensions for addresses and times:
/// `ipInCidr(ip, cidr)`, `isIPv4(s)`, `isPrivateIP(ip or cidr)`, `ipKind(ip or cidr)`, `isCIDR(s)`, `canonicalCIDR(s)`, `isMAC(s)`, `isDay(s)`, `normalizeMAC(s)`, `shellQuote(s)`, `s.lowerAscii()`,
/// `list.join(separator)`, `first(list)`, `last(list)`, `days(duration)`, `hours(duration)`.
enum Library {
    struct Overload {
        var receiver: Bool
        var parameters: [CELType]
        var result: CELType
    }

    private static func global(_ parameters: [CELType], _ result: CELType) -> Overload {
        Overload(receiver: false, parameters: parameters, result: result)
    }

    private static func method(_ parameters: [CELType], _ result: CELType) -> Overload {
        Overload(receiver: true, parameters: parameters, result: result)
    }

    static let a = CELType.parameter(-1)
    static let b = CELType.parameter(-2)

    static let overloads: [String: [Overload]] = {
        let comparable: [CELType] = [.int, .double, .string, .bool, .timestamp, .duration]
        var table: [String: [Overload]] = [
            "_&&_": [global([.bool, .bool], .bool)],
            "_||_": [global([.bool, .bool], .bool)],
            "!_": [global([.bool], .bool)],
            "-_": [global([.int], .int), global([.double], .double), global([.duration], .duration)],
            "_?_:_": [global([.bool, a, a], a)],
            "_==_": [global([a, a], .bool)],
            "_!=_": [global([a, a], .bool)],
            "@in": [global([a, .list(a)], .bool), global([a, .map(a, b)], .bool)],
            "_[_]": [global([.list(a), .int], a), global([.map(a, b), a], b)],
            "_+_": [
                global([.int, .int], .int), global([.double, .double], .double), global([.string, .string], .string),
                global([.list(a), .list(a)], .list(a)), global([.timestamp, .duration], .timestamp),
                global([.duration, .timestamp], .timestamp), global([.duration, .duration], .duration),
            ],
            "_-_": [
                global([.int, .int], .int), global([.double, .double], .double),
                global([.timestamp, .timestamp], .duration), global([.timestamp, .duration], .timestamp),
                global([.duration, .duration], .duration),
            ],
            "_*_": [global([.int, .int], .int), global([.double, .double], .double)],
            "_/_": [global([.int, .int], .int), global([.double, .double], .double)],
            "_%_": [global([.int, .int], .int)],
            "size": [
                global([.string], .int), global([.list(a)], .int), global([.map(a, b)], .int),
                method([.string], .int), method([.list(a)], .int), method([.map(a, b)], .int),
            ],
            "contains": [method([.string, .string], .bool)],
            "startsWith": [method([.string, .string], .bool)],
            "endsWith": [method([.string, .string], .bool)],
            "matches": [method([.string, .string], .bool), global([.string, .string], .bool)],
            "int": [
                global([.int], .int), global([.double], .int), global([.string], .int), global([.timestamp], .int),
            ],
            "double": [global([.double], .double), global([.int], .double), global([.string], .double)],
            "string": [
                global([.string], .string), global([.int], .string), global([.double], .string),
                global([.bool], .string), global([.timestamp], .string), global([.duration], .string),
            ],
            "timestamp": [global([.string], .timestamp), global([.int], .timestamp), global([.timestamp], .timestamp)],
            "duration": [global([.string], .duration), global([.duration], .duration)],
            // SKM extensions.
            "ipInCidr": [global([.string, .string], .bool)],
            "isIPv4": [global([.string], .bool)],
            "isPrivateIP": [global([.string], .bool)],
            "ipKind": [global([.string], .string)],
            "isCIDR": [global([.string], .bool)],
            "canonicalCIDR": [global([.string], .string)],
            "isMAC": [global([.string], .bool)],
            "isDay": [global([.string], .bool)],
            "normalizeMAC": [global([.string], .string)],
            "shellQuote": [global([.string], .string)],
            "lowerAscii": [method([.string], .string)],
            "join": [method([.list(.string), .string], .string)],
            "first": [global([.list(a)], a)],
            "last": [global([.list(a)], a)],
            "days": [global([.duration], .int)],
            "hours": [global([.duration], .int)],
        ]
        for name in ["_<_", "_<=_", "_>_", "_>=_"] {
            table[name] = comparable.map { global([$0, $0], .bool) }
        }
        return table
    }()

    /// Functions CEL has that this language deliberately leaves out.
    static let unsupported: [String: String] = [
        "uint": "the uint type", "bytes": "the bytes type", "dyn": "dyn (values without a static type)",
        "type": "type values",
    ]

    static let operatorNames: [String: String] = [
        "_&&_": "&&", "_||_": "||", "!_": "!", "-_": "-", "_?_:_": "?:", "_==_": "==", "_!=_": "!=", "@in": "in",
        "_[_]": "[]", "_+_": "+", "_-_": "-", "_*_": "*", "_/_": "/", "_%_": "%", "_<_": "<", "_<=_": "<=",
        "_>_": ">", "_>=_": ">=",
    ]

    static func isOperator(_ name: String) -> Bool { operatorNames[name] != nil }
}
