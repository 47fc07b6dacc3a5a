import Foundation

extension RequestRecord {
    /// The JSON object of one log line. Absent values are left out.
    public var json: JSONValue {
        var object: JSONObject = [
            "time": .string(Timestamp.rfc3339(time)), "requestId": .string(requestId), "method": .string(method),
            "path": .string(path),
        ]
        object["apiVersion"] = apiVersion.map(JSONValue.string)
        object["operation"] = operation.map(JSONValue.string)
        object["appkey"] = appkey.map(JSONValue.string)
        object["keyId"] = keyId.map(JSONValue.string)
        object["keyStoreId"] = keyStoreId.map(JSONValue.string)
        object["keyStoreName"] = keyStoreName.map(JSONValue.string)
        object["authKind"] = authKind.map(JSONValue.string)
        object["requestedKeyVersion"] = requestedKeyVersion.map(JSONValue.int)
        object["authScheme"] = authScheme.map(JSONValue.string)
        object["userAccessKeyId"] = userAccessKeyId.map(JSONValue.string)
        var clientObject: JSONObject = ["tls": .bool(client.tls)]
        clientObject["ip"] = client.ip.map(JSONValue.string)
        clientObject["peer"] = client.peer.map(JSONValue.string)
        clientObject["forwardedFor"] = client.forwardedFor.map(JSONValue.string)
        clientObject["macHeader"] = client.macHeader.map(JSONValue.string)
        var cert: JSONObject = ["present": .bool(client.cert.present)]
        cert["subject"] = client.cert.subject.map(JSONValue.string)
        cert["issuer"] = client.cert.issuer.map(JSONValue.string)
        cert["serial"] = client.cert.serial.map(JSONValue.string)
        cert["sha256"] = client.cert.sha256.map(JSONValue.string)
        cert["notBefore"] = client.cert.notBefore.map { .string(Timestamp.rfc3339($0)) }
        cert["notAfter"] = client.cert.notAfter.map { .string(Timestamp.rfc3339($0)) }
        cert["chainVerified"] = client.cert.chainVerified.map(JSONValue.bool)
        clientObject["cert"] = .object(cert)
        object["client"] = .object(clientObject)
        object["inputs"] = .array(
            inputs.map { input in
                var item: JSONObject = ["field": .string(input.field), "bytes": .int(input.bytes)]
                item["base64Valid"] = input.base64Valid.map(JSONValue.bool)
                item["decodedBytes"] = input.decodedBytes.map(JSONValue.int)
                item["embeddedVersion"] = input.embeddedVersion.map(JSONValue.int)
                item["innerBase64"] = input.innerBase64.map(JSONValue.bool)
                return .object(item)
            })
        var responseObject: JSONObject = [
            "httpStatus": .int(response.httpStatus), "resultCode": .int(response.resultCode),
            "resultMessage": .string(response.resultMessage), "isSuccessful": .bool(response.isSuccessful),
        ]
        responseObject["keyVersion"] = response.keyVersion.map(JSONValue.int)
        object["response"] = .object(responseObject)
        object["durationMs"] = .double((durationMs * 1000).rounded() / 1000)
        return .object(object)
    }

    /// One log line, newline included.
    public var jsonLine: [UInt8] {
        var bytes = JSONWriter().bytes(json)
        bytes.append(0x0A)
        return bytes
    }

    /// Why a log line is not a request record: the JSON path of the field and what is wrong with it.
    public struct DecodingFailure: Error, Sendable, Hashable, CustomStringConvertible {
        public var field: String
        public var problem: String
        public var description: String { "field '\(field)': \(problem)" }
    }

    /// Reads a record from a parsed log line. Unknown members are ignored; required ones must be present and typed.
    public init(json value: JSONValue) throws(DecodingFailure) {
        guard let object = value.objectValue else {
            throw DecodingFailure(field: "$", problem: "a log line must be a JSON object, not \(value.typeName)")
        }
        func string(_ object: JSONObject, _ name: String, _ path: String) throws(DecodingFailure) -> String {
            guard let member = object[name] else { throw DecodingFailure(field: path, problem: "is missing") }
            guard let text = member.stringValue else {
                throw DecodingFailure(field: path, problem: "must be a string, not \(member.typeName)")
            }
            return text
        }
        func optionalString(_ object: JSONObject, _ name: String, _ path: String) throws(DecodingFailure) -> String? {
            guard let member = object[name], !member.isNull else { return nil }
            guard let text = member.stringValue else {
                throw DecodingFailure(field: path, problem: "must be a string, not \(member.typeName)")
            }
            return text
        }
        func optionalInt(_ object: JSONObject, _ name: String, _ path: String) throws(DecodingFailure) -> Int? {
            guard let member = object[name], !member.isNull else { return nil }
            guard let number = member.intValue else {
                throw DecodingFailure(field: path, problem: "must be an integer, not \(member.typeName)")
            }
            return number
        }
        func optionalBool(_ object: JSONObject, _ name: String, _ path: String) throws(DecodingFailure) -> Bool? {
            guard let member = object[name], !member.isNull else { return nil }
            guard let flag = member.boolValue else {
                throw DecodingFailure(field: path, problem: "must be true or false, not \(member.typeName)")
            }
            return flag
        }
        func optionalDate(_ object: JSONObject, _ name: String, _ path: String) throws(DecodingFailure) -> Date? {
            guard let text = try optionalString(object, name, path) else { return nil }
            guard let date = Timestamp.parse(text) else {
                throw DecodingFailure(field: path, problem: "is not an RFC 3339 time")
            }
            return date
        }
        guard let time = Timestamp.parse(try string(object, "time", "time")) else {
            throw DecodingFailure(field: "time", problem: "is not an RFC 3339 time")
        }
        guard let responseObject = object["response"]?.objectValue else {
            throw DecodingFailure(field: "response", problem: "is missing or not an object")
        }
        guard let httpStatus = try optionalInt(responseObject, "httpStatus", "response.httpStatus"),
            let resultCode = try optionalInt(responseObject, "resultCode", "response.resultCode"),
            let isSuccessful = try optionalBool(responseObject, "isSuccessful", "response.isSuccessful")
        else {
            throw DecodingFailure(field: "response", problem: "needs httpStatus, resultCode and isSuccessful")
        }
        var client = Client()
        if let clientObject = object["client"]?.objectValue {
            client.ip = try optionalString(clientObject, "ip", "client.ip")
            client.peer = try optionalString(clientObject, "peer", "client.peer")
            client.forwardedFor = try optionalString(clientObject, "forwardedFor", "client.forwardedFor")
            client.macHeader = try optionalString(clientObject, "macHeader", "client.macHeader")
            client.tls = try optionalBool(clientObject, "tls", "client.tls") ?? false
            if let cert = clientObject["cert"]?.objectValue {
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
        if let items = object["inputs"]?.arrayValue {
            for (index, item) in items.enumerated() {
                let path = "inputs[\(index)]"
                guard let input = item.objectValue else {
                    throw DecodingFailure(field: path, problem: "must be an object")
                }
                inputs.append(
                    Input(
                        field: try string(input, "field", "\(path).field"),
                        bytes: try optionalInt(input, "bytes", "\(path).bytes") ?? 0,
                        base64Valid: try optionalBool(input, "base64Valid", "\(path).base64Valid"),
                        decodedBytes: try optionalInt(input, "decodedBytes", "\(path).decodedBytes"),
                        embeddedVersion: try optionalInt(input, "embeddedVersion", "\(path).embeddedVersion"),
                        innerBase64: try optionalBool(input, "innerBase64", "\(path).innerBase64")))
            }
        }
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
            requestedKeyVersion: try optionalInt(object, "requestedKeyVersion", "requestedKeyVersion"),
            authScheme: try optionalString(object, "authScheme", "authScheme"),
            userAccessKeyId: try optionalString(object, "userAccessKeyId", "userAccessKeyId"), client: client,
            inputs: inputs,
            response: Response(
                httpStatus: httpStatus, resultCode: resultCode,
                resultMessage: try optionalString(responseObject, "resultMessage", "response.resultMessage") ?? "",
                isSuccessful: isSuccessful,
                keyVersion: try optionalInt(responseObject, "keyVersion", "response.keyVersion")),
            durationMs: (object["durationMs"].flatMap { value -> Double? in
                if case .double(let number) = value { return number }
                return value.intValue.map(Double.init)
            }) ?? 0)
    }
}
