import Foundation

/// Limits of step 4 of the decision procedure.
package enum Limits {
    /// Secrets and encrypt plaintexts: 32 KB of UTF-8 text.
    package static let textBytes = 32 * 1024
    /// Legacy sign/verify plaintexts: the RSA-2048 PKCS#1 v1.5 block limit.
    package static let legacySignBytes = 245
    /// sign-standard/verify-standard messages, after Base64 decoding.
    package static let standardSignBytes = 64 * 1024
    /// Ciphertexts and signatures submitted for decrypt/verify.
    package static let blobCharacters = 64 * 1024
    /// Names of keys, key stores and certificates.
    package static let nameCharacters = 100
    /// Descriptions.
    package static let descriptionCharacters = 1000
    /// PKCS#12 passwords.
    package static let passwordBytes = 1024
    /// Certificate lifetimes in days.
    package static let certificateLifetimeDays = 1...3650
    /// The smallest automatic rotation period other than 0 (off), in days.
    package static let minimumRotationPeriod = 30
    /// The largest automatic rotation period, in days.
    package static let maximumRotationPeriod = 3650
}

/// The members (name and JSON type) a request body must have, per operation and, for auth-entry operations, per kind
/// of entry: the first thing step 4 checks. The rule files hold the same table (`requiredBodyFields`).
enum BodyShape {
    static func requiredMembers(_ operation: APIOperation, kind: AuthKind?) -> [(name: String, type: String)] {
        switch operation {
        case .encrypt, .sign: return [("plaintext", "string")]
        case .decrypt: return [("ciphertext", "string")]
        case .verify: return [("plaintext", "string"), ("signature", "string")]
        case .signStandard: return [("plaintext", "string"), ("algorithm", "string")]
        case .verifyStandard:
            return [
                ("plaintext", "string"), ("signature", "string"), ("algorithm", "string"), ("keyVersion", "number"),
            ]
        case .putSecret: return [("secretValue", "string")]
        case .createSecret: return [("keyStoreName", "string"), ("name", "string"), ("secretValue", "string")]
        case .createSymmetricKey, .createAsymmetricKey: return [("keyStoreName", "string"), ("name", "string")]
        case .importSymmetricKey: return [("keyStoreName", "string"), ("name", "string"), ("symmetricKey", "string")]
        case .importAuth: return [("keyStoreName", "string"), ("csv", "string")]
        case .addAuth:
            if kind == .certificate {
                return [("keyStoreName", "string"), ("name", "string"), ("password", "string"), ("lifeTime", "number")]
            }
            return [("keyStoreName", "string"), ("value", "string")]
        case .scheduleAuthDeletion, .deleteAuth, .cancelAuthDeletion:
            return [("keyStoreName", "string"), (kind == .certificate ? "name" : "value", "string")]
        case .createKeyStore, .updateKeyStore:
            return [
                ("name", "string"), ("ip4AuthUse", "string"), ("macAuthUse", "string"),
                ("certificateAuthUse", "string"),
            ]
        case .createToken: return [("grant_type", "string")]
        default: return []
        }
    }

    /// Optional members and the type each must have when present (a `null` counts as absent).
    static let optionalMembers: [(name: String, type: String)] = [
        ("description", "string"), ("autoRotationPeriod", "number"), ("authMode", "string"),
        ("skipInvalid", "boolean"), ("validateOnly", "boolean"),
    ]
}

/// Typed access to a request's JSON body and query, producing Invalid Request rejections that name the field and
/// the condition that failed.
///
/// Step 4 runs in the order the rule for Invalid Request lists its checks: the body's size and form, the members
/// the operation needs with their types, the types of optional members, then each value's own limits.
package struct RequestFields {
    let object: JSONObject
    let query: [String: String]

    /// The body, checked for size and form when the operation needs one, and for the members it must have.
    init(_ request: APIRequest, needsBody: Bool) throws(Rejection) {
        query = request.query
        switch request.body {
        case .none:
            object = JSONObject()
            if needsBody { throw Rejection(.bodyIsJSON, "the request has no JSON body") }
        case .oversized(let limit):
            object = JSONObject()
            if needsBody { throw Rejection(.bodyWithinLimit, "the body exceeds \(limit) bytes") }
        case .malformed(let reason):
            if needsBody { throw Rejection(.bodyIsJSON, "the body is not valid JSON: \(reason)") }
            object = JSONObject()
        case .json(let value):
            if let object = value.objectValue {
                self.object = object
            } else if needsBody {
                throw Rejection(.bodyIsJSON, "the body must be a JSON object, not \(value.typeName)")
            } else {
                object = JSONObject()
            }
        }
        guard needsBody else { return }
        for (name, type) in BodyShape.requiredMembers(request.operation, kind: request.authKind) {
            guard let value = object[name], !value.isNull else {
                throw Rejection(.requiredMembers, "field '\(name)' is required", field: name)
            }
            guard value.typeName == type else {
                throw Rejection(
                    .requiredMembers, "field '\(name)' must be a \(type), not \(value.typeName)", field: name)
            }
        }
        for (name, type) in BodyShape.optionalMembers {
            guard let value = object[name], !value.isNull else { continue }
            guard value.typeName == type else {
                throw Rejection(
                    .optionalMembersTyped, "field '\(name)' must be a \(type), not \(value.typeName)", field: name)
            }
        }
    }

    /// A member the shape check already found to be a string.
    func string(_ name: String) -> String {
        object[name]?.stringValue ?? ""
    }

    /// A string member, with a limit on its UTF-8 length that fails as `check`.
    func string(_ name: String, maxBytes: Int, or check: DecisionCheck) throws(Rejection) -> String {
        let text = string(name)
        guard text.utf8.count <= maxBytes else {
            throw Rejection.invalidField(check, name, "is \(text.utf8.count) bytes, over the limit of \(maxBytes)")
        }
        return text
    }

    /// An optional boolean member (its type is already checked); `false` when absent.
    func flagMember(_ name: String) -> Bool {
        if case .bool(let value)? = object[name] { return value }
        return false
    }

    /// An optional string member (its type is already checked).
    func optionalString(_ name: String) -> String? {
        object[name]?.stringValue
    }

    /// A number member that must be a whole number in `range`; otherwise it fails as `check`.
    func integer(_ name: String, in range: ClosedRange<Int>, or check: DecisionCheck) throws(Rejection) -> Int {
        guard let value = object[name], !value.isNull else {
            throw Rejection.invalidField(.requiredMembers, name, "is required")
        }
        return try checkedInteger(name, value, range, check)
    }

    /// An optional number member: a whole number in `range` when present.
    func optionalInteger(
        _ name: String, in range: ClosedRange<Int>? = nil, or check: DecisionCheck
    ) throws(Rejection) -> Int? {
        guard let value = object[name], !value.isNull else { return nil }
        return try checkedInteger(name, value, range, check)
    }

    private func checkedInteger(
        _ name: String, _ value: JSONValue, _ range: ClosedRange<Int>?, _ check: DecisionCheck
    ) throws(Rejection) -> Int {
        guard let number = value.intValue else {
            throw Rejection.invalidField(
                check, name, "must be a whole number, not \(value.typeName == "number" ? "a fraction" : value.typeName)"
            )
        }
        if let range, !range.contains(number) {
            throw Rejection.invalidField(check, name, "is \(number), outside \(range.lowerBound)…\(range.upperBound)")
        }
        return number
    }

    /// A `"Y"`/`"N"` flag of a key store.
    func flag(_ name: String) throws(Rejection) -> Bool {
        switch string(name) {
        case "Y": return true
        case "N": return false
        default: throw Rejection.invalidField(.keyStoreFlagsValid, name, "must be \"Y\" or \"N\"")
        }
    }

    /// A whole number from the query, written as SKM reads it (an optional sign and up to 12 digits), in `range`.
    func queryInteger(_ name: String, in range: ClosedRange<Int>, or check: DecisionCheck) throws(Rejection) -> Int? {
        guard let text = query[name] else { return nil }
        guard let number = Self.wholeNumber(text, maximumDigits: 12), range.contains(number) else {
            throw Rejection.invalidField(
                check, name, "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }

    /// `true` or `false` in the query, in any case; absent is `false`.
    func queryFlag(_ name: String, or check: DecisionCheck) throws(Rejection) -> Bool {
        guard let text = query[name] else { return false }
        switch text.lowercased() {
        case "true": return true
        case "false": return false
        default: throw Rejection.invalidField(check, name, "must be true or false")
        }
    }

    /// An optional sign and 1 to `maximumDigits` decimal digits, as a number.
    package static func wholeNumber(_ text: String, maximumDigits: Int) -> Int? {
        var digits = Substring(text)
        if let first = digits.first, first == "+" || first == "-" { digits = digits.dropFirst() }
        guard (1...maximumDigits).contains(digits.count), digits.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            return nil
        }
        return Int(text)
    }
}
