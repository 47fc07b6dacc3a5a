import Crypto
import Foundation

extension Engine {
    /// Answers an API request from `client` with a result or exactly one catalogue error, following the decision
    /// procedure of DESIGN §6. Never throws: a storage failure becomes Internal Error, with its reason kept for
    /// operators only.
    package func execute(_ request: APIRequest, from client: ClientIdentity) async -> Outcome {
        do {
            return try await decide(request, client)
        } catch let rejection as Rejection {
            return .failure(rejection)
        } catch let error as StorageError where error.code == .duplicate {
            return .failure(Rejection(.otherwiseMalformed, error.reason))
        } catch let error as StorageError where error.code == .actorRevoked {
            return .failure(Rejection(.accessKeyInService, error.reason))
        } catch {
            return .failure(Rejection(.serverFailed, String(describing: error)))
        }
    }

    func decide(_ request: APIRequest, _ client: ClientIdentity) async throws -> Outcome {
        let operation = request.operation
        // 1. The route exists in this API version.
        guard operation.availableVersions.contains(request.apiVersion) else {
            throw Rejection(
                .operationInVersion, "\(operation.rawValue) is not part of API \(request.apiVersion.rawValue)")
        }
        if operation == .createToken { return try await createToken(request) }
        // 2. The appkey exists.
        let appkey = try await existingAppkey(request.appkey)
        switch operation.category {
        case .confirm:
            return Outcome(.success(.body(confirmation(of: client))))
        case .management:
            // 3. A valid User Access Key or bearer token of this appkey (v1.0 reads: the appkey alone, unless the
            // server is told otherwise).
            guard credentialsRequirement(of: request) != false else {
                var outcome = try await manage(request, actor: "appkey")
                if case .success(.body(let body)) = outcome.result {
                    outcome.result = .success(.body(Self.withoutCredentials(body)))
                }
                return outcome
            }
            let actor = try await authenticate(request.credentials, appkey: appkey.id)
            return try await manage(request, actor: actor)
        case .data:
            return try await performDataCall(request, client)
        case .token:
            return try await createToken(request)
        }
    }

    /// An answer for a caller that showed no credentials: certificate passwords withheld (`null`), and User Access
    /// Key ids in creation and change stamps reduced to `uak` (an id is half a credential).
    static func withoutCredentials(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let object):
            return .object(
                JSONObject(
                    object.members.map { member in
                        if member.key == "password" { return JSONObject.Member(key: member.key, value: .null) }
                        return JSONObject.Member(key: member.key, value: withoutCredentials(member.value))
                    }))
        case .array(let items):
            return .array(items.map(withoutCredentials))
        case .string(let text) where text.hasPrefix("uak:"):
            return .string("uak")
        default:
            return value
        }
    }

    /// For the v1.0 reads, whether step 3 applies (the request log records it, for the analyser); `nil` for every
    /// other operation, whose need for credentials never varies.
    package func credentialsRequirement(of request: APIRequest) -> Bool? {
        guard request.apiVersion == .v1_0, request.operation.isSettingsRead else { return nil }
        return configuration.v1_0ReadsNeedCredentials
    }

    /// What `GET …/confirm` echoes: the address, MAC header and certificate the server observed.
    func confirmation(of client: ClientIdentity) -> JSONValue {
        [
            "clientIp": .optional(client.address?.description ?? client.peerAddress),
            "clientMacHeader": .optional(client.macHeader),
            "clientSentCertificate": .bool(!client.certificateChain.isEmpty),
        ]
    }
}
