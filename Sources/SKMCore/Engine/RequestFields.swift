import Foundation

/// Limits of step 4 of the decision procedure.
public enum Limits {
    /// Secrets and encrypt plaintexts: 32 KB of UTF-8 text.
    public static let textBytes = 32 * 1024
    /// Legacy sign/verify plaintexts: the RSA-2048 PKCS#1 v1.5 block limit.
    public static let legacySignBytes = 245
    /// sign-standard/verify-standard messages, after Base64 decoding.
    public static let standardSignBytes = 64 * 1024
    /// Ciphertexts and signatures submitted for decrypt/verify.
    public static let blobCharacters = 64 * 1024
    /// Names of keys, key stores and certificates.
    public static let nameCharacters = 100
    /// Descriptions.
    public static let descriptionCharacters = 1000
    /// PKCS#12 passwords.
    public static let passwordBytes = 1024
    /// Certificate lifetimes in days.
    public static let certificateLifetimeDays = 1...3650
    /// The smallest automatic rotation period other than 0 (off), in days.
    public static let minimumRotationPeriod = 30
    /// The largest automatic rotation period, in days.
    public static let maximumRotationPeriod = 3650
}

/// Typed access to a request's JSON body and query, producing Invalid Request rejections that name the field.
struct RequestFields {
    let object: JSONObject
    let query: [String: String]

    init(_ request: Request, needsBody: Bool) throws(Rejection) {
        query = request.query
        switch request.body {
        case .none:
            object = JSONObject()
            if needsBody { throw Rejection(.invalidRequest, "the request has no JSON body") }
        case .malformed(let reason):
            if needsBody { throw Rejection(.invalidRequest, "the body is not valid JSON: \(reason)") }
            object = JSONObject()
        case .json(let value):
            if let object = value.objectValue {
                self.object = object
            } else if needsBody {
                throw Rejection(.invalidRequest, "the body must be a JSON object, not \(value.typeName)")
            } else {
                object = JSONObject()
            }
        }
    }

    func string(_ name: String, maxBytes: Int? = nil, maxCharacters: Int? = nil) throws(Rejection) -> String {
        guard let value = object[name], !value.isNull else { throw Rejection.invalidField(name, "is required") }
        guard let text = value.stringValue else {
            throw Rejection.invalidField(name, "must be a string, not \(value.typeName)")
        }
        if let maxBytes, text.utf8.count > maxBytes {
            throw Rejection.invalidField(name, "is \(text.utf8.count) bytes, over the limit of \(maxBytes)")
        }
        if let maxCharacters, text.count > maxCharacters {
            throw Rejection.invalidField(name, "is \(text.count) characters, over the limit of \(maxCharacters)")
        }
        return text
    }

    func optionalString(_ name: String, maxCharacters: Int? = nil) throws(Rejection) -> String? {
        guard let value = object[name], !value.isNull else { return nil }
        return try string(name, maxCharacters: maxCharacters)
    }

    func name(_ field: String) throws(Rejection) -> String {
        let text = try string(field, maxCharacters: Limits.nameCharacters)
        guard !text.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw Rejection.invalidField(field, "must not be empty")
        }
        guard !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw Rejection.invalidField(field, "must not contain control characters")
        }
        return text
    }

    func integer(_ name: String, in range: ClosedRange<Int>? = nil) throws(Rejection) -> Int {
        guard let value = object[name], !value.isNull else { throw Rejection.invalidField(name, "is required") }
        return try checkedInteger(name, value, range)
    }

    func optionalInteger(_ name: String, in range: ClosedRange<Int>? = nil) throws(Rejection) -> Int? {
        guard let value = object[name], !value.isNull else { return nil }
        return try checkedInteger(name, value, range)
    }

    private func checkedInteger(
        _ name: String, _ value: JSONValue, _ range: ClosedRange<Int>?
    ) throws(Rejection)
        -> Int
    {
        guard let number = value.intValue else {
            throw Rejection.invalidField(name, "must be an integer, not \(value.typeName)")
        }
        if let range, !range.contains(number) {
            throw Rejection.invalidField(name, "is \(number), outside \(range.lowerBound)…\(range.upperBound)")
        }
        return number
    }

    /// A `"Y"`/`"N"` flag.
    func flag(_ name: String) throws(Rejection) -> Bool {
        let text = try string(name)
        switch text {
        case "Y": return true
        case "N": return false
        default: throw Rejection.invalidField(name, "must be \"Y\" or \"N\"")
        }
    }

    func queryInteger(_ name: String, in range: ClosedRange<Int>) throws(Rejection) -> Int? {
        guard let text = query[name] else { return nil }
        guard let number = Int(text), range.contains(number) else {
            throw Rejection.invalidField(name, "must be an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }

    func queryFlag(_ name: String) throws(Rejection) -> Bool {
        guard let text = query[name] else { return false }
        switch text.lowercased() {
        case "true": return true
        case "false": return false
        default: throw Rejection.invalidField(name, "must be true or false")
        }
    }
}

extension Rejection {
    static func invalidVersion(_ reason: String) -> Rejection {
        Rejection(.invalidKeyVersion, reason)
    }
}
