import Foundation
import SKMPrimitives

/// The management API: each operation's request fields turned into an engine call, and its answer into the API's
/// JSON.
extension Engine {
    /// Management calls, after their credential check: they skip client authentication (steps 6–8). A change the
    /// approval workflow holds is answered with the request that waits.
    func manage(_ request: APIRequest, actor: String) async throws -> Outcome {
        do {
            return try await manageNow(request, actor: actor)
        } catch let waiting as ChangeAwaitsApproval {
            return Outcome(.success(.body(.object(Self.changeJSON(waiting.request)))))
        }
    }

    private func manageNow(_ request: APIRequest, actor: String) async throws -> Outcome {
        let appkey = request.appkey
        switch request.operation {
        case .createSecret, .createSymmetricKey, .createAsymmetricKey:
            let fields = try RequestFields(request, needsBody: true)
            let type: KeyType
            var secretValue: String?
            var period = 0
            switch request.operation {
            case .createSecret:
                type = .secret
                secretValue = try fields.string("secretValue", maxBytes: Limits.textBytes, or: .secretWithin32KB)
            case .createSymmetricKey: type = .symmetric
            default: type = .asymmetric
            }
            try Self.validateName(fields.string("name"), field: "name")
            if type != .secret {
                period = try fields.optionalInteger("autoRotationPeriod", or: .rotationPeriodValid) ?? 0
                try Self.validateRotationPeriod(period)
            }
            let key = try await createKey(
                appkey: appkey, store: .name(fields.string("keyStoreName")), type: type, name: fields.string("name"),
                description: fields.optionalString("description") ?? "", autoRotationPeriod: period,
                secretValue: secretValue, actor: actor)
            return Outcome(.success(.body(["keyId": .string(key.id), "keyStatus": .string(key.status.rawValue)])))

        case .importSymmetricKey:
            let fields = try RequestFields(request, needsBody: true)
            try Self.validateName(fields.string("name"), field: "name")
            let material: Data
            switch ImportedKeyMaterial.parse(fields.string("symmetricKey")) {
            case .success(let bytes): material = bytes
            case .failure(let problem):
                throw Rejection.invalidField(.importedMaterialValid, "symmetricKey", problem.reason)
            }
            let key = try await importSymmetricKey(
                appkey: appkey, store: .name(fields.string("keyStoreName")), name: fields.string("name"),
                description: fields.optionalString("description") ?? "", material: material, actor: actor)
            return Outcome(.success(.body(["keyId": .string(key.id), "keyStatus": .string(key.status.rawValue)])))

        case .importAuth:
            let fields = try RequestFields(request, needsBody: true)
            let checkOnly = fields.flagMember("validateOnly")
            let report = try await importAuthEntries(
                appkey: appkey, store: .name(fields.string("keyStoreName")), csv: fields.string("csv"),
                skipInvalid: fields.flagMember("skipInvalid"), checkOnly: checkOnly, refusing: true, actor: actor)
            return Outcome(.success(.body(Self.importJSON(report))))

        case .putSecret:
            let fields = try RequestFields(request, needsBody: true)
            let value = try fields.string("secretValue", maxBytes: Limits.textBytes, or: .secretWithin32KB)
            let key = try await updateSecret(appkey: appkey, keyId: request.keyId ?? "", value: value, actor: actor)
            var body = Self.keyJSON(key)
            body["secretValue"] = .string(value)
            return Outcome(.success(.body(.object(body))))

        case .scheduleKeyDeletion, .deleteKey:
            let keyId = request.keyId ?? ""
            let key =
                request.operation == .deleteKey
                ? try await deleteKey(appkey: appkey, keyId: keyId, actor: actor)
                : try await scheduleKeyDeletion(appkey: appkey, keyId: keyId, actor: actor)
            return Outcome(
                .success(
                    .body(["keyId": .string(key.id), "deletionDateTime": .optional(key.deletionAt.map(Timestamp.api))]))
            )

        case .cancelKeyDeletion:
            let key = try await cancelKeyDeletion(appkey: appkey, keyId: request.keyId ?? "", actor: actor)
            return Outcome(.success(.body(["keyId": .string(key.id), "keyStatus": .string(key.status.rawValue)])))

        case .rotateKey:
            let version = try await rotateKey(appkey: appkey, keyId: request.keyId ?? "", actor: actor)
            return Outcome(
                .success(.body(["keyId": .string(version.keyId), "keyVersion": .int(version.number)])),
                keyVersion: version.number)

        case .addAuth:
            let kind = try authKind(of: request)
            let fields = try RequestFields(request, needsBody: true)
            let storeName = fields.string("keyStoreName")
            let description = fields.optionalString("description") ?? ""
            if kind == .certificate {
                let name = fields.string("name")
                try Self.validateName(name, field: "name")
                let lifetime = try fields.integer(
                    "lifeTime", in: Limits.certificateLifetimeDays, or: .certificateParametersValid)
                let entry = try await issueCertificate(
                    appkey: appkey, store: .name(storeName), name: name, password: fields.string("password"),
                    lifetimeDays: lifetime, description: description, actor: actor)
                return Outcome(.success(.body(.object(Self.registeredJSON(entry, field: "name")))))
            }
            let entry = try await addAuthEntry(
                appkey: appkey, store: .name(storeName), kind: kind, value: fields.string("value"),
                description: description, actor: actor)
            return Outcome(.success(.body(.object(Self.registeredJSON(entry, field: "value")))))

        case .scheduleAuthDeletion, .deleteAuth, .cancelAuthDeletion:
            let kind = try authKind(of: request)
            let fields = try RequestFields(request, needsBody: true)
            let storeName = fields.string("keyStoreName")
            let field = kind == .certificate ? "name" : "value"
            let value = fields.string(field)
            let entry: AuthEntry
            switch request.operation {
            case .scheduleAuthDeletion:
                entry = try await scheduleAuthDeletion(
                    appkey: appkey, store: .name(storeName), kind: kind, value: value, actor: actor)
            case .deleteAuth:
                entry = try await deleteAuthEntry(
                    appkey: appkey, store: .name(storeName), kind: kind, value: value, actor: actor)
            default:
                entry = try await cancelAuthDeletion(
                    appkey: appkey, store: .name(storeName), kind: kind, value: value, actor: actor)
            }
            var body: JSONObject = [field: .string(entry.value)]
            if request.operation == .cancelAuthDeletion {
                body["status"] = .string(entry.status.rawValue)
            } else {
                body["deletionDateTime"] = .optional(entry.deletionAt.map(Timestamp.api))
            }
            return Outcome(.success(.body(.object(body))))

        case .createKeyStore:
            let settings = try keyStoreSettings(request)
            let store = try await createKeyStore(appkey: appkey, settings: settings, actor: actor)
            return Outcome(.success(.body(.object(Self.keyStoreJSON(store)))))

        case .updateKeyStore:
            let id = try keyStoreID(request)
            let settings = try keyStoreSettings(request)
            _ = try await updateKeyStore(appkey: appkey, store: .id(id), settings: settings, actor: actor)
            return Outcome(.success(.body(.null)))

        case .deleteKeyStore:
            _ = try await deleteKeyStore(appkey: appkey, store: .id(try keyStoreID(request)), actor: actor)
            return Outcome(.success(.body(.null)))

        case .listKeyStores:
            let fields = try RequestFields(request, needsBody: false)
            let detail = try fields.queryFlag("detail", or: .listParametersValid)
            let stores = try await storage.keyStores(appkey: appkey).filter { $0.status == .active }
            if detail {
                return Outcome(.success(.body(["keyStoreList": .array(stores.map { .object(Self.keyStoreJSON($0)) })])))
            }
            return Outcome(.success(.body(["keyStoreIdList": .array(stores.map { .int($0.id) })])))

        case .getKeyStore:
            let store = try await liveStore(appkey: appkey, .id(try keyStoreID(request)))
            return Outcome(.success(.body(.object(Self.keyStoreJSON(store)))))

        case .listKeys:
            let id = try keyStoreID(request)
            let fields = try RequestFields(request, needsBody: false)
            let pageSize =
                try fields.queryInteger("pageSize", in: 10...100, or: .listParametersValid) ?? 10
            let pageNumber =
                try fields.queryInteger("pageNumber", in: 1...Int(Int32.max), or: .listParametersValid) ?? 1
            var type: KeyType?
            if let text = request.query["type"] {
                guard let parsed = KeyType(rawValue: text) else {
                    throw Rejection.invalidField(
                        .listParametersValid, "type", "must be SECRET, SYMMETRIC_KEY or ASYMMETRIC_KEY")
                }
                type = parsed
            }
            var wanted: Set<KeyStatus> = [.active, .pendingDeletion]
            if let status = request.query["status"] {
                switch status.lowercased() {
                case "active": wanted = [.active]
                case "inactive": wanted = [.pendingDeletion]
                default: throw Rejection.invalidField(.listParametersValid, "status", "must be active or inactive")
                }
            }
            let name = request.query["name"]
            if let name, name.count > Limits.nameCharacters {
                throw Rejection.invalidField(
                    .listParametersValid, "name", "is longer than \(Limits.nameCharacters) characters")
            }
            let detail = try fields.queryFlag("detail", or: .listParametersValid)
            let store = try await liveStore(appkey: appkey, .id(id))
            let keys = try await storage.keys(keyStoreId: store.id).filter {
                wanted.contains($0.status) && (type == nil || $0.type == type)
                    && (name == nil || $0.name.contains(name!))
            }
            let page = keys.dropFirst((pageNumber - 1) * pageSize).prefix(pageSize)
            if detail {
                return Outcome(.success(.body(["keyList": .array(page.map { .object(Self.keyJSON($0)) })])))
            }
            return Outcome(.success(.body(["keyIdList": .array(page.map { .string($0.id) })])))

        case .getKey:
            let store = try await liveStore(appkey: appkey, .id(try keyStoreID(request)))
            let key = try await ownedKey(appkey: appkey, keyId: request.keyId ?? "")
            guard key.keyStoreId == store.id else {
                throw Rejection(.keyInStore, "key \(key.id) is not in key store \(store.id)")
            }
            return Outcome(.success(.body(.object(Self.keyJSON(key)))))

        case .listAuth:
            let kind = try authKind(of: request)
            let store = try await liveStore(appkey: appkey, .id(try keyStoreID(request)))
            let entries = try await storage.authEntries(keyStoreId: store.id).filter {
                $0.kind == kind && $0.status != .deleted
            }
            let listName: String
            switch kind {
            case .ipv4: listName = "ipv4List"
            case .mac: listName = "macList"
            case .certificate: listName = "certificateList"
            }
            guard let value = request.query["value"] else {
                return Outcome(.success(.body([listName: .array(entries.map { .string($0.value) })])))
            }
            let canonical = (try? Self.canonicalAuthValue(kind: kind, value)) ?? value
            var details: [JSONValue] = []
            for entry in entries where entry.value == canonical {
                details.append(.object(try await authEntryJSON(entry)))
            }
            return Outcome(.success(.body([listName: .array(details)])))

        case .downloadCertificate:
            let store = try await liveStore(appkey: appkey, .id(try keyStoreID(request)))
            let name = request.resourceName ?? ""
            let bytes = try await exportCertificate(appkey: appkey, store: .id(store.id), name: name)
            let filename = name.unicodeScalars.map {
                $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0)) ? String($0) : "_"
            }.joined()
            return Outcome(
                .success(.file(bytes: bytes, contentType: "application/x-pkcs12", filename: "\(filename).p12")))

        case .listAccessKeys:
            let keys = try await userAccessKeys(appkey: appkey)
            return Outcome(.success(.body(["userAccessKeyList": .array(keys.map { .object(Self.accessKeyJSON($0)) })])))

        case .createAccessKey:
            let issued = try await createUserAccessKey(appkey: appkey, actor: actor)
            return Outcome(.success(.body(.object(Self.issuedAccessKeyJSON(issued)))))

        case .revokeAccessKey:
            let key = try await revokeUserAccessKey(appkey: appkey, id: request.resourceName ?? "", actor: actor)
            return Outcome(.success(.body(.object(Self.accessKeyJSON(key)))))

        case .rotateAccessKey:
            let issued = try await rotateUserAccessKey(appkey: appkey, id: request.resourceName ?? "", actor: actor)
            var body = Self.issuedAccessKeyJSON(issued)
            body["replacedUserAccessKeyId"] = .string(request.resourceName ?? "")
            return Outcome(.success(.body(.object(body))))

        case .getStatistics:
            // The counts of a period of UTC days (by default the 30 up to today), of one key or all.
            let today = Int64((clock.now.timeIntervalSince1970 / 86_400).rounded(.down))
            let through = try Self.statisticsDay(request.query["to"], field: "to") ?? today
            let from = try Self.statisticsDay(request.query["from"], field: "from") ?? (through - 29)
            let (fromText, throughText) = (CivilDate.dayText(fromDays: from), CivilDate.dayText(fromDays: through))
            let keyId = request.query["keyId"]
            if let keyId, !Self.isKeyID(keyId) {
                throw Rejection.invalidField(.listParametersValid, "keyId", "is not a key id (32 hexadecimal digits)")
            }
            let counts = try await callCounts(appkey: appkey, from: fromText, through: throughText).filter {
                keyId == nil || $0.key.keyId == keyId
            }
            return Outcome(
                .success(
                    .body([
                        "from": .string(fromText), "to": .string(throughText),
                        "statistics": .array(
                            counts.sorted { $0.key < $1.key }.map { cell, count in
                                [
                                    "date": .string(cell.day), "keyId": .optional(cell.keyId),
                                    "operation": .string(cell.operation), "result": .string(cell.result),
                                    "count": .int(count),
                                ] as JSONValue
                            }),
                    ])))

        case .listApprovals:
            let waiting = try await pendingApprovals(appkey: appkey)
            let changes = try await pendingChanges(appkey: appkey)
            let names = Dictionary(
                try await storage.keyStores(appkey: appkey).map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
            return Outcome(
                .success(
                    .body([
                        "approvalList": .array(
                            waiting.map { .object(Self.approvalJSON($0, storeName: names[$0.keyStoreId])) }),
                        "changeList": .array(changes.map { .object(Self.changeJSON($0)) }),
                    ])))

        case .approveChange, .rejectChange:
            let decision = try await decideChangeOverAPI(
                appkey: appkey, id: request.resourceName ?? "", approve: request.operation == .approveChange,
                actor: actor)
            return Outcome(.success(.body(.object(Self.changeDecisionJSON(decision)))))

        case .approveRequest, .rejectRequest:
            let entry = try await decideOverAPI(
                appkey: appkey, entry: request.resourceName ?? "", approve: request.operation == .approveRequest,
                actor: actor)
            return Outcome(
                .success(
                    .body([
                        "entryId": .int(entry.id), "status": .string(entry.status.rawValue),
                        "deletionDateTime": .optional(entry.deletionAt.map(Timestamp.api)),
                    ])))

        default:
            throw Rejection(.serverFailed, "\(request.operation.rawValue) is not a management call")
        }
    }

    private func authKind(of request: APIRequest) throws(Rejection) -> AuthKind {
        guard let kind = request.authKind else { throw Rejection(.routeExists, "no authentication kind in the path") }
        return kind
    }

    /// The key store id of the path: an optional sign and 1 to 18 digits, above 0.
    private func keyStoreID(_ request: APIRequest) throws(Rejection) -> Int {
        guard let text = request.keyStoreId, let id = RequestFields.wholeNumber(text, maximumDigits: 18), id > 0 else {
            throw Rejection(
                .keyStoreIDValid, "'\((request.keyStoreId ?? "").prefix(32))' is not a key store id",
                field: "keyStoreId")
        }
        return id
    }

    /// A key store's settings from the body: a name, Y/N flags with at least one Y, and AND or OR.
    private func keyStoreSettings(_ request: APIRequest) throws(Rejection) -> KeyStoreSettings {
        let fields = try RequestFields(request, needsBody: true)
        let name = fields.string("name")
        try Self.validateName(name, field: "name")
        let ip4 = try fields.flag("ip4AuthUse")
        let mac = try fields.flag("macAuthUse")
        let certificate = try fields.flag("certificateAuthUse")
        var mode = AuthMode.and
        if let text = fields.optionalString("authMode") {
            guard let parsed = AuthMode(rawValue: text) else {
                throw Rejection.invalidField(.keyStoreFlagsValid, "authMode", "must be AND or OR")
            }
            mode = parsed
        }
        let settings = KeyStoreSettings(
            name: name, description: fields.optionalString("description") ?? "", ip4AuthUse: ip4, macAuthUse: mac,
            certificateAuthUse: certificate, authMode: mode)
        try settings.validateFactors()
        return settings
    }

    static func accessKeyJSON(_ key: UserAccessKey) -> JSONObject {
        [
            "userAccessKeyId": .string(key.id), "status": .string(key.status.rawValue),
            "createdBy": .string(key.created.user), "creationDatetime": .string(Timestamp.api(key.created.at)),
        ]
    }

    /// A new User Access Key with its secret: the only answer that ever carries one.
    static func issuedAccessKeyJSON(_ issued: IssuedAccessKey) -> JSONObject {
        var body = accessKeyJSON(issued.accessKey)
        body["secretAccessKey"] = .string(issued.secret)
        return body
    }

    static func keyStoreJSON(_ store: KeyStore) -> JSONObject {
        [
            "keyStoreId": .int(store.id), "name": .string(store.name), "description": .string(store.description),
            "ip4AuthUse": .string(store.ip4AuthUse ? "Y" : "N"), "macAuthUse": .string(store.macAuthUse ? "Y" : "N"),
            "certificateAuthUse": .string(store.certificateAuthUse ? "Y" : "N"),
            "authMode": .string(store.authMode.rawValue),
            "creationUser": .string(store.created.user), "creationDatetime": .string(Timestamp.api(store.created.at)),
            "lastChangeUser": .string(store.lastChange.user),
            "lastChangeDatetime": .string(Timestamp.api(store.lastChange.at)),
        ]
    }

    static func keyJSON(_ key: ManagedKey) -> JSONObject {
        [
            "keyId": .string(key.id), "name": .string(key.name), "description": .string(key.description),
            "keyType": .string(key.type.rawValue), "keyStatus": .string(key.status.rawValue),
            "currentKeyValueVersion": key.type.isVersioned ? .int(key.latestVersion) : .null,
            "autoRotationPeriod": .int(key.autoRotationPeriod),
            "nextAutoRotationDate": .optional(key.nextRotationAt.map(Timestamp.api)),
            "lastAccessDatetime": .optional(key.lastAccessAt.map(Timestamp.api)),
            "deletionDatetime": .optional(key.deletionAt.map(Timestamp.api)),
            "creationUser": .string(key.created.user), "creationDatetime": .string(Timestamp.api(key.created.at)),
            "lastChangeUser": .string(key.lastChange.user),
            "lastChangeDatetime": .string(Timestamp.api(key.lastChange.at)),
        ]
    }

    func authEntryJSON(_ entry: AuthEntry) async throws -> JSONObject {
        var object: JSONObject = [:]
        if entry.kind == .certificate {
            object["name"] = .string(entry.value)
            object["password"] = .optional(try await certificatePassword(entryId: entry.id))
            object["description"] = .string(entry.description)
            object["expirationDate"] = .optional(entry.certificate.map { Timestamp.api($0.notAfter) })
        } else {
            object["value"] = .string(entry.value)
            object["description"] = .string(entry.description)
        }
        object["status"] = .string(entry.status.rawValue)
        object["lastAccessDatetime"] = .optional(entry.lastAccessAt.map(Timestamp.api))
        object["deletionDatetime"] = .optional(entry.deletionAt.map(Timestamp.api))
        object["creationUser"] = .string(entry.created.user)
        object["creationDatetime"] = .string(Timestamp.api(entry.created.at))
        object["lastChangeUser"] = .string(entry.lastChange.user)
        object["lastChangeDatetime"] = .string(Timestamp.api(entry.lastChange.at))
        return object
    }

    /// A day of the statistics' query, in days since 1970: `YYYY-MM-DD`, a day the calendar has.
    static func statisticsDay(_ text: String?, field: String) throws(Rejection) -> Int64? {
        guard let text else { return nil }
        guard let day = CivilDate.days(fromDay: text) else {
            throw Rejection.invalidField(.listParametersValid, field, "is not a day of the calendar as YYYY-MM-DD")
        }
        return day
    }

    /// A registration's answer, as SKM's API guide shows it; with `status` added only when the entry waits for
    /// approval, so that the client knows it is not used yet (the guide's answers stay as they are otherwise).
    static func registeredJSON(_ entry: AuthEntry, field: String) -> JSONObject {
        var object: JSONObject = [field: .string(entry.value), "description": .string(entry.description)]
        if entry.status.awaitsApproval { object["status"] = .string(entry.status.rawValue) }
        return object
    }

    /// A request waiting for approval: the entry, and who asked for what when.
    package static func approvalJSON(_ entry: AuthEntry, storeName: String?) -> JSONObject {
        [
            "entryId": .int(entry.id), "keyStoreId": .int(entry.keyStoreId), "keyStoreName": .optional(storeName),
            "authType": .string(entry.kind.rawValue), "value": .string(entry.value),
            "status": .string(entry.status.rawValue), "requestedBy": .string(entry.lastChange.user),
            "requestDateTime": .string(Timestamp.api(entry.lastChange.at)),
            "deletionDateTime": .optional(entry.deletionAt.map(Timestamp.api)),
        ]
    }

    /// A change waiting for approval: what it asks for, the transient state SKM's console shows, who asked when.
    package static func changeJSON(_ request: ChangeRequest) -> JSONObject {
        var object: JSONObject = [
            "changeId": .int(request.id), "change": .string(request.summary),
            "changeType": .string(request.kind.rawValue),
            "state": .string(request.kind.displayState),
            "status": .string(ChangeRequest.Status.pendingApproval.rawValue),
            "keyStoreId": .optional(request.keyStoreId), "keyId": .optional(request.keyId),
            "keyVersion": .optional(request.version), "requestedBy": .string(request.requestedBy),
            "requestDateTime": .string(Timestamp.api(request.requestedAt)),
        ]
        if let settings = request.storeSettings {
            // What an approver approves when a key store is created or changed.
            object["keyStoreSettings"] = [
                "name": .string(settings.name), "description": .string(settings.description),
                "ip4AuthUse": .string(settings.ip4AuthUse ? "Y" : "N"),
                "macAuthUse": .string(settings.macAuthUse ? "Y" : "N"),
                "certificateAuthUse": .string(settings.certificateAuthUse ? "Y" : "N"),
                "authMode": .string(settings.authMode.rawValue),
            ]
        }
        return object
    }

    /// A decided change request: its status, what it asked for, and what its approval made (or why it could not).
    package static func changeDecisionJSON(_ decision: ChangeDecision) -> JSONObject {
        var body: JSONObject = [
            "changeId": .int(decision.request.id), "status": .string(decision.status.rawValue),
            "change": .string(decision.request.summary),
        ]
        if let reason = decision.reason { body["reason"] = .string(reason) }
        if let store = decision.keyStore { body["keyStoreId"] = .int(store.id) }
        if let key = decision.key {
            body["keyId"] = .string(key.id)
            body["keyStatus"] = .string(key.status.rawValue)
        }
        if let version = decision.version { body["keyVersion"] = .int(version.number) }
        return body
    }

    /// A bulk registration's report: what was registered, what was left out, and why.
    package static func importJSON(_ report: AuthImportReport) -> JSONValue {
        func problems(_ items: [AuthImportFile.Problem]) -> JSONValue {
            .array(
                items.map {
                    ["line": .int($0.line), "field": .string($0.field), "reason": .string($0.reason)] as JSONValue
                })
        }
        return [
            "applied": .bool(report.applied), "rows": .int(report.rows),
            "added": .array(
                report.added.map {
                    [
                        "line": .int($0.line), "kind": .string($0.entry.kind.rawValue),
                        "value": .string($0.entry.value),
                    ] as JSONValue
                }),
            "duplicates": problems(report.duplicates), "invalid": problems(report.invalid),
        ]
    }
}
