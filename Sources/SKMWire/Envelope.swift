import SKMCore
import SKMPrimitives

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

    /// ``envelope``'s bytes as ``JSONWriter`` writes them, without building the envelope first: the server writes
    /// one per request.
    package var envelopeBytes: [UInt8] {
        var output = ByteWriter(capacity: 256)
        let writer = JSONWriter()
        switch result {
        case .success(.body(let body)):
            output.append(Self.successHeader)
            writer.write(body, to: &output)
            output.append(UInt8(ascii: "}"))
        case .success(.bare(let body)):
            writer.write(body, to: &output)
        case .success(.file):
            output.append(Self.successHeader)
            output.append("null}")
        case .failure(let rejection):
            output.append(#"{"header":{"resultCode":"#)
            output.append(decimal: rejection.error.resultCode)
            output.append(#","resultMessage":"#)
            writer.writeString(rejection.error.resultMessage, to: &output)
            output.append(#","isSuccessful":false},"body":null}"#)
        }
        return output.finish()
    }

    /// A successful envelope up to its body.
    private static let successHeader: StaticString =
        #"{"header":{"resultCode":0,"resultMessage":"success","isSuccessful":true},"body":"#

    static func header(code: Int, message: String, successful: Bool) -> JSONValue {
        ["resultCode": .int(code), "resultMessage": .string(message), "isSuccessful": .bool(successful)]
    }
}
