import Foundation
import SKMCore
import SKMPrimitives

extension RequestRecord {
    /// One log line, newline included. Absent values are left out.
    package var jsonLine: [UInt8] {
        var output = ByteWriter(capacity: 768)
        writeJSONLine(to: &output)
        return output.finish()
    }

    /// Appends ``jsonLine`` to `output`: the server writes one per request, straight into bytes.
    package func writeJSONLine(to output: inout ByteWriter) {
        var line = LineWriter(bytes: output)
        line.open()
        line.time("time", time)
        line.string("requestId", requestId)
        line.string("method", method)
        line.string("path", path)
        line.string("apiVersion", apiVersion)
        line.string("operation", operation)
        line.string("appkey", appkey)
        line.string("keyId", keyId)
        line.string("keyStoreId", keyStoreId)
        line.string("keyStoreName", keyStoreName)
        line.string("authKind", authKind)
        line.string("resourceName", resourceName)
        line.int("requestedKeyVersion", requestedKeyVersion)
        line.string("authScheme", authScheme)
        line.string("userAccessKeyId", userAccessKeyId)
        line.int("userAccessKeyIdBytes", userAccessKeyIdBytes)
        line.bool("credentialsRequired", credentialsRequired)
        if let token {
            line.key("token")
            line.open()
            line.bool("authentic", token.authentic)
            line.string("accessKeyId", token.accessKeyId)
            line.string("expiresAt", token.expiresAt.map(Timestamp.rfc3339))
            line.close()
        }
        line.string("clientDate", clientDate.map(Timestamp.rfc3339))
        line.key("client")
        line.open()
        line.bool("tls", client.tls)
        line.string("ip", client.ip)
        line.string("peer", client.peer)
        line.string("forwardedFor", client.forwardedFor)
        line.string("macHeader", client.macHeader)
        line.key("cert")
        line.open()
        line.bool("present", client.cert.present)
        line.string("subject", client.cert.subject)
        line.string("issuer", client.cert.issuer)
        line.string("serial", client.cert.serial)
        line.string("sha256", client.cert.sha256)
        line.string("notBefore", client.cert.notBefore.map(Timestamp.rfc3339))
        line.string("notAfter", client.cert.notAfter.map(Timestamp.rfc3339))
        line.bool("chainVerified", client.cert.chainVerified)
        line.close()
        line.close()
        line.key("inputs")
        line.bytes.append(UInt8(ascii: "["))
        for (index, input) in inputs.enumerated() {
            if index > 0 { line.bytes.append(UInt8(ascii: ",")) }
            line.first = true
            line.open()
            line.string("field", input.field)
            line.int("bytes", input.bytes)
            line.bool("base64Valid", input.base64Valid)
            line.int("decodedBytes", input.decodedBytes)
            line.int("embeddedVersion", input.embeddedVersion)
            line.bool("innerBase64", input.innerBase64)
            line.bool("controlCharacters", input.controlCharacters)
            line.int("rows", input.rows)
            line.int("invalidRows", input.invalidRows)
            line.close()
        }
        line.bytes.append(UInt8(ascii: "]"))
        line.first = false
        if let body {
            line.key("body")
            line.open()
            line.int("bytes", body.bytes)
            line.bool("json", body.json)
            line.key("fields")
            line.bytes.append(UInt8(ascii: "["))
            for (index, field) in body.fields.enumerated() {
                if index > 0 { line.bytes.append(UInt8(ascii: ",")) }
                line.strings.writeString(field, to: &line.bytes)
            }
            line.bytes.append(UInt8(ascii: "]"))
            line.first = false
            if !body.values.isEmpty {
                line.key("values")
                line.map(body.values)
            }
            line.close()
        }
        if !query.isEmpty {
            line.key("query")
            line.map(query)
        }
        line.int("headerBytes", headerBytes)
        line.string("httpProblem", httpProblem)
        line.key("response")
        line.open()
        line.int("httpStatus", response.httpStatus)
        line.int("resultCode", response.resultCode)
        line.string("resultMessage", response.resultMessage)
        line.bool("isSuccessful", response.isSuccessful)
        line.int("keyVersion", response.keyVersion)
        line.close()
        line.key("durationMs")
        line.bytes.append(utf8: JSONWriter.format((durationMs * 1000).rounded() / 1000))
        line.close()
        line.bytes.append(0x0A)
        output = line.finish()
    }

    /// Reads a record from a parsed log line. Unknown members are ignored; required ones must be present and typed.
    package init(json value: JSONValue) throws(RecordError) {
        guard let object = value.objectValue else {
            throw RecordError(.wrongType, field: "$", "a log line must be a JSON object, not \(value.typeName)")
        }
        func string(_ object: JSONObject, _ name: String, _ path: String) throws(RecordError) -> String {
            guard let member = object[name] else { throw RecordError(.missing, field: path, "is missing") }
            guard let text = member.stringValue else {
                throw RecordError(.wrongType, field: path, "must be a string, not \(member.typeName)")
            }
            return text
        }
        func optionalString(_ object: JSONObject, _ name: String, _ path: String) throws(RecordError) -> String? {
            guard let member = object[name], !member.isNull else { return nil }
            guard let text = member.stringValue else {
                throw RecordError(.wrongType, field: path, "must be a string, not \(member.typeName)")
            }
            return text
        }
        func optionalInt(_ object: JSONObject, _ name: String, _ path: String) throws(RecordError) -> Int? {
            guard let member = object[name], !member.isNull else { return nil }
            guard let number = member.intValue else {
                throw RecordError(.wrongType, field: path, "must be an integer, not \(member.typeName)")
            }
            return number
        }
        func optionalBool(_ object: JSONObject, _ name: String, _ path: String) throws(RecordError) -> Bool? {
            guard let member = object[name], !member.isNull else { return nil }
            guard let flag = member.boolValue else {
                throw RecordError(.wrongType, field: path, "must be true or false, not \(member.typeName)")
            }
            return flag
        }
        func optionalDate(_ object: JSONObject, _ name: String, _ path: String) throws(RecordError) -> Date? {
            guard let text = try optionalString(object, name, path) else { return nil }
            guard let date = Timestamp.parse(text) else {
                throw RecordError(.invalid, field: path, "is not an RFC 3339 time")
            }
            return date
        }
        // A member that holds facts the rules read is an object, a list or a map of texts as the server writes
        // it, or absent: one of another type is refused, not read as empty, which would make up a cause.
        func optionalObject(_ object: JSONObject, _ name: String, _ path: String) throws(RecordError) -> JSONObject? {
            guard let member = object[name], !member.isNull else { return nil }
            guard let found = member.objectValue else {
                throw RecordError(.wrongType, field: path, "must be an object, not \(member.typeName)")
            }
            return found
        }
        func optionalArray(_ object: JSONObject, _ name: String, _ path: String) throws(RecordError) -> [JSONValue]? {
            guard let member = object[name], !member.isNull else { return nil }
            guard let found = member.arrayValue else {
                throw RecordError(.wrongType, field: path, "must be a list, not \(member.typeName)")
            }
            return found
        }
        func texts(_ items: [JSONValue], _ path: String) throws(RecordError) -> [String] {
            var texts: [String] = []
            for (index, item) in items.enumerated() {
                guard let text = item.stringValue else {
                    throw RecordError(.wrongType, field: "\(path)[\(index)]", "must be a string, not \(item.typeName)")
                }
                texts.append(text)
            }
            return texts
        }
        func textMap(_ object: JSONObject, _ name: String, _ path: String) throws(RecordError) -> [String: String] {
            var map: [String: String] = [:]
            for member in try optionalObject(object, name, path)?.members ?? [] {
                guard let text = member.value.stringValue else {
                    throw RecordError(
                        .wrongType, field: "\(path).\(member.key)", "must be a string, not \(member.value.typeName)")
                }
                map[member.key] = text
            }
            return map
        }
        guard let time = Timestamp.parse(try string(object, "time", "time")) else {
            throw RecordError(.invalid, field: "time", "is not an RFC 3339 time")
        }
        guard let responseObject = object["response"]?.objectValue else {
            throw RecordError(.invalid, field: "response", "is missing or not an object")
        }
        guard let httpStatus = try optionalInt(responseObject, "httpStatus", "response.httpStatus"),
            let resultCode = try optionalInt(responseObject, "resultCode", "response.resultCode"),
            let isSuccessful = try optionalBool(responseObject, "isSuccessful", "response.isSuccessful")
        else {
            throw RecordError(.invalid, field: "response", "needs httpStatus, resultCode and isSuccessful")
        }
        var client = Client()
        if let clientObject = try optionalObject(object, "client", "client") {
            client.ip = try optionalString(clientObject, "ip", "client.ip")
            client.peer = try optionalString(clientObject, "peer", "client.peer")
            client.forwardedFor = try optionalString(clientObject, "forwardedFor", "client.forwardedFor")
            client.macHeader = try optionalString(clientObject, "macHeader", "client.macHeader")
            client.tls = try optionalBool(clientObject, "tls", "client.tls") ?? false
            if let cert = try optionalObject(clientObject, "cert", "client.cert") {
                client.cert = CertificateObservation(
                    present: try optionalBool(cert, "present", "client.cert.present") ?? false,
                    subject: try optionalString(cert, "subject", "client.cert.subject"),
                    issuer: try optionalString(cert, "issuer", "client.cert.issuer"),
                    serial: try optionalString(cert, "serial", "client.cert.serial"),
                    sha256: try optionalString(cert, "sha256", "client.cert.sha256"),
                    notBefore: try optionalDate(cert, "notBefore", "client.cert.notBefore"),
                    notAfter: try optionalDate(cert, "notAfter", "client.cert.notAfter"),
                    chainVerified: try optionalBool(cert, "chainVerified", "client.cert.chainVerified"))
            }
        }
        var inputs: [Input] = []
        if let items = try optionalArray(object, "inputs", "inputs") {
            for (index, item) in items.enumerated() {
                let path = "inputs[\(index)]"
                guard let input = item.objectValue else {
                    throw RecordError(.wrongType, field: path, "must be an object")
                }
                inputs.append(
                    Input(
                        field: try string(input, "field", "\(path).field"),
                        bytes: try optionalInt(input, "bytes", "\(path).bytes") ?? 0,
                        base64Valid: try optionalBool(input, "base64Valid", "\(path).base64Valid"),
                        decodedBytes: try optionalInt(input, "decodedBytes", "\(path).decodedBytes"),
                        embeddedVersion: try optionalInt(input, "embeddedVersion", "\(path).embeddedVersion"),
                        innerBase64: try optionalBool(input, "innerBase64", "\(path).innerBase64"),
                        controlCharacters: try optionalBool(
                            input, "controlCharacters", "\(path).controlCharacters"),
                        rows: try optionalInt(input, "rows", "\(path).rows"),
                        invalidRows: try optionalInt(input, "invalidRows", "\(path).invalidRows")))
            }
        }
        var body: Body?
        if let bodyObject = try optionalObject(object, "body", "body") {
            // The server writes the members it read, an empty list for none: without it nothing says what they were.
            guard let fields = try optionalArray(bodyObject, "fields", "body.fields") else {
                throw RecordError(.missing, field: "body.fields", "is missing")
            }
            body = Body(
                bytes: try optionalInt(bodyObject, "bytes", "body.bytes") ?? 0,
                json: try optionalBool(bodyObject, "json", "body.json") ?? false,
                fields: try texts(fields, "body.fields"), values: try textMap(bodyObject, "values", "body.values"))
        }
        var token: TokenObservation?
        if let tokenObject = try optionalObject(object, "token", "token") {
            token = TokenObservation(
                authentic: try optionalBool(tokenObject, "authentic", "token.authentic") ?? false,
                accessKeyId: try optionalString(tokenObject, "accessKeyId", "token.accessKeyId"),
                expiresAt: try optionalDate(tokenObject, "expiresAt", "token.expiresAt"))
        }
        let query = try textMap(object, "query", "query")
        self.init(
            time: time, requestId: try optionalString(object, "requestId", "requestId") ?? "",
            method: try optionalString(object, "method", "method") ?? "",
            path: try optionalString(object, "path", "path") ?? "",
            apiVersion: try optionalString(object, "apiVersion", "apiVersion"),
            operation: try optionalString(object, "operation", "operation"),
            appkey: try optionalString(object, "appkey", "appkey"), keyId: try optionalString(object, "keyId", "keyId"),
            keyStoreId: try optionalString(object, "keyStoreId", "keyStoreId"),
            keyStoreName: try optionalString(object, "keyStoreName", "keyStoreName"),
            authKind: try optionalString(object, "authKind", "authKind"),
            resourceName: try optionalString(object, "resourceName", "resourceName"),
            requestedKeyVersion: try optionalInt(object, "requestedKeyVersion", "requestedKeyVersion"),
            authScheme: try optionalString(object, "authScheme", "authScheme"),
            userAccessKeyId: try optionalString(object, "userAccessKeyId", "userAccessKeyId"),
            credentialsRequired: try optionalBool(object, "credentialsRequired", "credentialsRequired"), token: token,
            clientDate: try optionalDate(object, "clientDate", "clientDate"), client: client,
            inputs: inputs, body: body, query: query,
            headerBytes: try optionalInt(object, "headerBytes", "headerBytes"),
            response: Response(
                httpStatus: httpStatus, resultCode: resultCode,
                resultMessage: try optionalString(responseObject, "resultMessage", "response.resultMessage") ?? "",
                isSuccessful: isSuccessful,
                keyVersion: try optionalInt(responseObject, "keyVersion", "response.keyVersion")),
            durationMs: (object["durationMs"].flatMap { value -> Double? in
                if case .double(let number) = value { return number }
                return value.intValue.map(Double.init)
            }) ?? 0)
        // A duration no request takes (negative, over a day, not finite) is not one the server wrote.
        guard durationMs.isFinite, (0...86_400_000).contains(durationMs) else {
            throw RecordError(.invalid, field: "durationMs", "is not a duration in milliseconds from 0 to a day")
        }
        httpProblem = try optionalString(object, "httpProblem", "httpProblem")
        userAccessKeyIdBytes = try optionalInt(object, "userAccessKeyIdBytes", "userAccessKeyIdBytes")
    }
}

/// Appends object members to a byte buffer.
private struct LineWriter: ~Copyable {
    var bytes: ByteWriter
    var first = true
    let strings = JSONWriter()

    init(bytes: consuming ByteWriter) {
        self.bytes = bytes
    }

    consuming func finish() -> ByteWriter {
        bytes
    }

    mutating func open() {
        bytes.append(UInt8(ascii: "{"))
        first = true
    }

    mutating func close() {
        bytes.append(UInt8(ascii: "}"))
        first = false
    }

    mutating func key(_ name: StaticString) {
        if !first { bytes.append(UInt8(ascii: ",")) }
        first = false
        bytes.append(UInt8(ascii: "\""))
        bytes.append(name)
        bytes.append("\":")
    }

    /// A time in RFC 3339 (`2026-11-27T15:24:50.123Z`), which needs no escape.
    mutating func time(_ name: StaticString, _ value: Date) {
        key(name)
        bytes.append(UInt8(ascii: "\""))
        Timestamp.appendRFC3339(value, to: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func string(_ name: StaticString, _ value: String?) {
        guard let value else { return }
        key(name)
        strings.writeString(value, to: &bytes)
    }

    mutating func int(_ name: StaticString, _ value: Int?) {
        guard let value else { return }
        key(name)
        bytes.append(decimal: value)
    }

    /// A string-to-string map as an object, keys sorted.
    mutating func map(_ values: [String: String]) {
        bytes.append(UInt8(ascii: "{"))
        for (index, key) in values.keys.sorted().enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            strings.writeString(key, to: &bytes)
            bytes.append(UInt8(ascii: ":"))
            strings.writeString(values[key]!, to: &bytes)
        }
        bytes.append(UInt8(ascii: "}"))
        first = false
    }

    mutating func bool(_ name: StaticString, _ value: Bool?) {
        guard let value else { return }
        key(name)
        bytes.append(value ? "true" : "false")
    }
}

/// Why a log line is not a request record; its subject names the field by its JSON path (`field 'response.resultCode'`,
/// `$` for the line itself).
package typealias RecordError = CodedFailure<RecordErrorCode>

package enum RecordErrorCode: String, ErrorCode {
    /// A required member is absent.
    case missing
    /// A member has the wrong JSON type.
    case wrongType
    /// A member is typed right but its value is not valid (a time that is not RFC 3339, …).
    case invalid
}

extension CodedFailure where Code == RecordErrorCode {
    init(_ code: Code, field: String, _ reason: String, file: String = #fileID, line: UInt = #line) {
        self.init(code, subject: "field '\(field)'", reason, file: file, line: line)
    }
}
