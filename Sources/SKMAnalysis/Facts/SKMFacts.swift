import Foundation
import SKMCore
import SKMRules

/// The facts the analyser builds for each request, and that rule files refer to.
///
/// Every fact is an observation: what the request log or HAR capture recorded, and what the key manager's state
/// was at the request's time (rebuilt from audit events). Nothing here is a verdict; deciding which check failed is
/// the rules' job. A fact the capture does not hold is unknown, with what would settle it.
package enum SKMFacts {
    package static let event = ObjectType(
        name: "Event", documentation: "An audit event: a state change.",
        fields: [
            .init("sequence", .int, "Position in the audit log."), .init("time", .timestamp),
            .init("actor", .string, "cli:<user>, uak:<id>, system:purge, …"),
            .init("action", .string, "key.scheduleDeletion, keyVersion.purge, auth.add, …"),
            .init("targetKind", .string, "appkey, keyStore, key, keyVersion, authEntry, accessKey."),
            .init("targetId", .string), .init("keyId", .string, "The key concerned, if any."),
            .init("keyVersion", .int, "The key version concerned, if any."),
            .init("keyStoreId", .int, "The key store concerned, if any."),
            .init("summary", .string, "One line for people."),
        ])

    package static let client = ObjectType(
        name: "Client", documentation: "What the server saw of the client.",
        fields: [
            .init("ip", .string, "The IPv4 address client authentication used."),
            .init("peer", .string, "The TCP peer address."),
            .init("forwardedFor", .string, "The X-Forwarded-For header, verbatim."),
            .init("macHeader", .string, "The X-TOAST-CLIENT-MAC-ADDR header, verbatim; absent when not sent."),
            .init("mac", .string, "The header as a canonical MAC address (aa:bb:…); absent when not one."),
            .init("tls", .bool, "Whether the request came over TLS."),
        ])

    package static let input = ObjectType(
        name: "Input", documentation: "The shape of a user-data field: never its content.",
        fields: [
            .init("field", .string, "The body member: plaintext, ciphertext, signature, secretValue …"),
            .init("bytes", .int, "Length as sent."),
            .init("base64Valid", .bool, "Strict standard Base64 with padding."),
            .init("decodedBytes", .int, "Length once Base64-decoded."),
            .init("embeddedVersion", .int, "The key version in a blob's first four bytes."),
            .init("innerBase64", .bool, "The decoded bytes are Base64 text again: encoded twice."),
            .init("controlCharacters", .bool, "For a certificate password: it holds a control character."),
            .init("rows", .int, "For a bulk registration's CSV: the data rows it holds."),
            .init("invalidRows", .int, "For a bulk registration's CSV: the rows that cannot be registered."),
        ])

    package static let body = ObjectType(
        name: "Body", documentation: "The shape of the request body.",
        fields: [
            .init("bytes", .int, "Length as sent."), .init("json", .bool, "Whether the body is a JSON object."),
            .init("fields", .list(.string), "Top-level members as name:type (plaintext:string)."),
            .init("values", .map(.string, .string), "The values of non-secret members (keyStoreName, value, …)."),
        ])

    package static let response = ObjectType(
        name: "Response", documentation: "What the server answered.",
        fields: [
            .init("httpStatus", .int), .init("resultCode", .int, "header.resultCode: 0, or a catalogue code."),
            .init("resultMessage", .string, "header.resultMessage."), .init("isSuccessful", .bool),
            .init("keyVersion", .int, "The key version a successful data call used."),
        ])

    package static let token = ObjectType(
        name: "Token", documentation: "What a bearer token showed, as the request log records it: never the token.",
        fields: [
            .init("authentic", .bool, "Whether this key manager signed it (it was neither forged nor altered)."),
            .init("accessKeyId", .string, "The User Access Key it was issued to, when authentic."),
            .init("expiresAt", .timestamp, "When it expires, when authentic."),
        ])

    package static let request = ObjectType(
        name: "Request", documentation: "The request, as the log or capture recorded it.",
        fields: [
            .init(
                "time", .timestamp, "When the request arrived: the server's time when the capture holds it.",
                perRequest: true),
            .init(
                "serverTime", .timestamp,
                "The server's time of the request; unknown when a capture holds only the client's clock.",
                perRequest: true),
            .init(
                "clientTime", .timestamp, "The client's clock: its Date header, or a client-side capture's time.",
                perRequest: true),
            .init("clientClockOffset", .duration, "clientTime − serverTime, when both are known.", perRequest: true),
            .init("id", .string, "The request id.", perRequest: true),
            .init("method", .string, "GET, POST, PUT or DELETE."),
            .init("path", .string, "The path, without the query."),
            .init("pathVersion", .string, "The version segment of the path, verbatim."),
            .init("apiVersion", .string, "v1.0 … v1.3, when the path names one."),
            .init("operation", .string, "The operation the route names; absent when no route matched."),
            .init("category", .string, "data, management, confirm, token or unknown."),
            .init("routeExists", .bool, "Whether method and path name an SKM operation."),
            .init("otherMethods", .list(.string), "Methods that would name an operation with this path."),
            .init("availableInVersion", .bool, "Whether the operation exists in apiVersion."),
            .init("availableVersions", .list(.string), "The API versions that carry the operation."),
            .init("appkey", .string, "The appkey segment of the path."),
            .init("appkeyWellFormed", .bool, "16 ASCII letters or digits."),
            .init("appkeyProblem", .string, "What makes the appkey malformed, without repeating it."),
            .init("keyId", .string, "The key id segment of the path."),
            .init("keyIdWellFormed", .bool, "32 lower-case hexadecimal digits."),
            .init("requiredKeyType", .string, "The key type the operation needs."),
            .init("keyStoreId", .string, "The key store id segment of the path, verbatim."),
            .init("keyStoreName", .string, "The key store a management body names."),
            .init("authKind", .string, "IPV4, MAC or CERTIFICATE, for auth-entry operations."),
            .init(
                "resourceName", .string,
                "A resource the path names (the certificate of a download, the User Access Key revoked or rotated)."),
            .init("requestedKeyVersion", .int, "The keyVersion the request named."),
            .init("query", .map(.string, .string), "Query parameters."),
            .init(
                "httpProblem", .string,
                "Why the HTTP parser refused the request before routing: headers-too-large or malformed-http."),
            .init("authScheme", .string, "uak, bearer, basic or none."),
            .init(
                "credentialsRequired", .bool,
                "Whether the key manager asks this request for a User Access Key or token: management and token calls"
                    + " do, except the v1.0 reads unless the server requires it."),
            .init("userAccessKeyId", .string, "The User Access Key id the request presented."),
            .init(
                "userAccessKeyIdBytes", .int,
                "When the id header held something that is not an id (a secret or token in the wrong place): its length."
            ),
            .init("token", .object("Token"), "The bearer token, as the log records it."),
            .init("client", .object("Client"), "What the server saw of the client."),
            .init("input", .object("Input"), "The ciphertext or signature."),
            .init("plaintext", .object("Input"), "The plaintext or data to sign: its shape only."),
            .init("inputs", .list(.object("Input")), "Every user-data field."),
            .init("body", .object("Body"), "The shape of the body."),
            .init("headerBytes", .int, "Total size of the request headers."),
            .init("response", .object("Response"), "What the server answered."),
            .init("error", .string, "The logged error's identifier (INVALID_KEY_VERSION …), or SUCCESS."),
        ])

    package static let certificate = ObjectType(
        name: "Certificate", documentation: "The client certificate presented over TLS.",
        fields: [
            .init("present", .bool, "Whether the client presented one."), .init("subject", .string, "Subject DN."),
            .init("issuer", .string, "Issuer DN."), .init("serial", .string, "Serial number, hex."),
            .init("sha256", .string, "SHA-256 fingerprint of the DER, hex."), .init("notBefore", .timestamp),
            .init("notAfter", .timestamp),
            .init("chainVerified", .bool, "Signed by this installation's CA."),
            .init("registeredStores", .list(.string), "Key stores (of the appkey) where it is registered and live."),
        ])

    package static let appkey = ObjectType(
        name: "Appkey",
        fields: [
            .init("exists", .bool, "Whether the appkey existed at the request's time."), .init("id", .string),
            .init("name", .string), .init("created", .timestamp),
            .init("storeNames", .list(.string), "Names of its key stores in service."),
        ])

    package static let accessKey = ObjectType(
        name: "AccessKey", documentation: "A User Access Key, as it was at the request's time.",
        fields: [
            .init("exists", .bool), .init("id", .string), .init("appkey", .string, "The appkey it belongs to."),
            .init("status", .string, "IN_SERVICE or REVOKED."),
            .init(
                "replaced", .list(.string),
                "The User Access Keys (uak:<id>) it replaced by rotation, and those they replaced: whoever holds it"
                    + " made their requests."),
            .init("statusEvent", .object("Event"), "The event that set the status."),
        ])

    package static let entry = ObjectType(
        name: "Entry", documentation: "A registered IPv4 address or CIDR, MAC address or certificate.",
        fields: [
            .init("exists", .bool), .init("id", .int), .init("kind", .string, "IPV4, MAC or CERTIFICATE."),
            .init("value", .string, "The address, CIDR, MAC address or certificate subject."),
            .init(
                "status", .string,
                "IN_SERVICE, PENDING_DELETION, DELETED, or (approval workflow) PENDING_APPROVAL or"
                    + " CANCELLATION_PENDING_APPROVAL."),
            .init("created", .timestamp, "When it was registered; absent for the registration a simulated fix adds."),
            .init("deletionAt", .timestamp, "When a pending deletion takes effect."),
            .init("sha256", .string, "A certificate entry's fingerprint."),
            .init("notAfter", .timestamp, "A certificate entry's expiry."),
            .init(
                "lastUsedBefore", .timestamp,
                "The last use the key manager recorded before the request's time, when it recorded none after it"
                    + " (uses are written once a minute)."),
            .init("statusEvent", .object("Event"), "The event that set the status."),
        ])

    package static let change = ObjectType(
        name: "Change",
        documentation: "A change request of the approval workflow (a key store, key or version change), as it stood"
            + " before the request.",
        fields: [
            .init("exists", .bool, "Whether the appkey had asked for a change with this number."),
            .init("id", .int, "Its number, per appkey."),
            .init("kind", .string, "CREATE_KEY_STORE, UPDATE_KEY_STORE, DELETE_KEY_STORE, CREATE_KEY, IMPORT_KEY, …"),
            .init("summary", .string, "What it asks for: create symmetric key 'orders' in key store #3."),
            .init("status", .string, "PENDING_APPROVAL, APPROVED, REJECTED or FAILED (approved, but not possible)."),
            .init("requestedBy", .string, "Who asked for it: cli:<user>, uak:<id>."),
            .init("requested", .timestamp, "When it was asked for."),
            .init("statusEvent", .object("Event"), "The event that set the status: the request, or its decision."),
        ])

    package static let approval = ObjectType(
        name: "Approval", documentation: "The approval workflow of the appkey, as it was at the request's time.",
        fields: [
            .init("required", .bool, "Whether changes to client authentication waited for an approver."),
            .init("approvers", .list(.string), "Who approves: cli:<user>, uak:<id>. Everyone else is a member."),
        ])

    package static let store = ObjectType(
        name: "Store", documentation: "The key store of the key (data calls) or named by the request (management).",
        fields: [
            .init("exists", .bool), .init("id", .int), .init("name", .string),
            .init("appkey", .string, "The appkey it belongs to."), .init("status", .string, "IN_SERVICE or DELETED."),
            .init("ip4AuthUse", .bool, "IPv4 authentication on."), .init("macAuthUse", .bool, "MAC authentication on."),
            .init("certificateAuthUse", .bool, "Certificate authentication on."),
            .init("authMode", .string, "AND (every factor in use must pass) or OR (one suffices)."),
            .init("ipv4s", .list(.object("Entry")), "Its entries at the request's time, deleted ones included."),
            .init("macs", .list(.object("Entry")), "Likewise for MAC addresses."),
            .init("certificates", .list(.object("Entry")), "Likewise for certificates."),
            .init("liveKeys", .int, "Keys in service or pending deletion."),
        ])

    package static let key = ObjectType(
        name: "Key", documentation: "The key named by the request, as it was at the request's time.",
        fields: [
            .init("exists", .bool, "Whether a key with this id existed (in any appkey) at the request's time."),
            .init("id", .string), .init("appkey", .string, "The appkey it belongs to."), .init("keyStoreId", .int),
            .init("storeName", .string),
            .init("storeStatus", .string, "ACTIVE or DELETED: the status of its key store at the request's time."),
            .init("name", .string), .init("type", .string, "SYMMETRIC or ASYMMETRIC."),
            .init("status", .string, "ACTIVE, DEACTIVATED, PENDING_DELETION or DELETED."),
            .init("latestVersion", .int, "The highest version number."),
            .init("primaryVersion", .int, "The version new encryptions use."),
            .init("autoRotationPeriod", .int, "Days; 0 for none."),
            .init(
                "imported", .bool, "Whether the key material was imported (given, not made): such a key never rotates."),
            .init(
                "waitingCancellation", .object("Change"),
                "The newest request to cancel the key's deletion that waited for approval at the request's time"
                    + " (approval workflow); absent when none did."),
            .init("deletionAt", .timestamp, "When a scheduled deletion takes effect."), .init("created", .timestamp),
            .init("statusEvent", .object("Event"), "The event that set the status."),
        ])

    package static let version = ObjectType(
        name: "Version",
        documentation:
            "The key version the request is about: the one a blob names, the keyVersion asked for, or the primary.",
        fields: [
            .init("exists", .bool), .init("number", .int),
            .init("status", .string, "ACTIVE, DEACTIVATED, PENDING_DELETION or DELETED."), .init("created", .timestamp),
            .init("deletionAt", .timestamp, "When a scheduled deletion takes effect."),
            .init("statusEvent", .object("Event"), "The event that set the status."),
        ])

    package static let authority = ObjectType(
        name: "CA", documentation: "The installation's client CA.",
        fields: [
            .init("subject", .string, "Subject DN."), .init("sha256", .string, "Fingerprint of the CA certificate."),
        ])

    /// The schema rules are checked against.
    package static let schema = FactSchema(
        variables: [
            .init("request", .object("Request"), "The request, as the log or capture recorded it."),
            .init("certificate", .object("Certificate"), "The client certificate presented over TLS."),
            .init("appkey", .object("Appkey"), "The appkey of the path."),
            .init("accessKey", .object("AccessKey"), "The User Access Key a management call presented."),
            .init(
                "namedAccessKey", .object("AccessKey"),
                "The User Access Key the path names (revoking or rotating one); absent otherwise."),
            .init("store", .object("Store"), "The key store concerned."),
            .init("key", .object("Key"), "The key of the path."),
            .init("version", .object("Version"), "The key version concerned."),
            .init(
                "entry", .object("Entry"),
                "The registered entry an auth-entry request names (by value, or by id when approving or rejecting)."),
            .init("approval", .object("Approval"), "The approval workflow of the appkey."),
            .init(
                "change", .object("Change"),
                "The change request an approval or rejection of a change names by its number; absent otherwise."),
            .init(
                "events", .list(.object("Event")),
                "Audit events about the key, its store and its appkey, up to the request."),
            .init("ca", .object("CA"), "The installation's client CA."),
        ],
        objects: [
            event, client, input, body, response, token, request, certificate, appkey, accessKey, entry, change,
            approval,
            store,
            key, version, authority,
        ])

    /// Operation categories and names `applies_to` may use.
    package static let knownTags: Set<String> =
        Set(APIOperation.allCases.map(\.rawValue)).union(["data", "management", "confirm", "token", "unknown"])

    /// The catalogue: code → message.
    package static let catalogue: [Int: String] = Dictionary(
        uniqueKeysWithValues: APIError.allCases.map { ($0.resultCode, $0.resultMessage) })

    /// The rule engine's configuration for SKM.
    package static let configuration = RuleSet.Configuration(
        schema: schema, catalogue: catalogue, knownTags: knownTags, discriminator: ["request", "operation"],
        remedies: StateChange.remedyKinds,
        tags: { activation in
            guard case .object(let request) = activation.value(requestVariable) else { return ["unknown"] }
            // An operation's tags as every request of it has them: one list for all, where making one per request
            // would allocate it for every failed request the rules explain.
            if case .string(let operation)? = request.fields[operationField], let tags = operationTags[operation],
                case .string(let category)? = request.fields[categoryField],
                category == tags[1]
            {
                return tags
            }
            var tags: [String] = []
            tags.reserveCapacity(2)
            if case .string(let operation)? = request.fields[operationField] {
                tags.append(operation)
            } else {
                tags.append("unknown")
            }
            if case .string(let category)? = request.fields[categoryField] { tags.append(category) }
            return tags
        })

    /// Each operation's tags, its name and its category, as the request facts spell them. Found by the name's first
    /// bytes (``NameTable``): hashing the whole name cost more than the rest of working out a request's tags.
    private static let operationTags = NameTable(
        Dictionary(
            uniqueKeysWithValues: APIOperation.allCases.map { ($0.rawValue, [$0.rawValue, $0.category.rawValue]) }))
    private static let requestVariable = schema.index(ofVariable: "request")!
    static let storeVariable = schema.index(ofVariable: "store")!
    private static let operationField = request.index(of: "operation")!
    private static let categoryField = request.index(of: "category")!

    /// Loads rule files against the SKM fact schema.
    package static func loadRules(_ paths: [URL]) -> Result<RuleSet, Diagnostics> {
        RuleSet.load(paths: paths, configuration: configuration)
    }
}
