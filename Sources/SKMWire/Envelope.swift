import SKMCore

/// The JSON envelope every answer of the SKM API is sent in.
extension Outcome {
    /// The response envelope as the server sends it: `{"header": {...}, "body": ...}`.
    package var envelope: JSONValue {
        switch result {
        case .success(.body(let body)):
            return ["header": Self.header(code: 0, message: "success", successful: true), "body": body]
        case .success(.bare(let body)):
            return body
        case .success(.file):
            return ["header": Self.header(code: 0, message: "success", successful: true), "body": .null]
        case .failure(let rejection):
            return [
                "header": Self.header(
                    code: rejection.error.resultCode, message: rejection.error.resultMessage, successful: false),
                "body": .null,
            ]
        }
    }

    static func header(code: Int, message: String, successful: Bool) -> JSONValue {
        ["resultCode": .int(code), "resultMessage": .string(message), "isSuccessful": .bool(successful)]
    }
}
