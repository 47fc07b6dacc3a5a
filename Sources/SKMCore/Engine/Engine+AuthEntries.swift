import Crypto
import Foundation
import SKMPrimitives
import X509

/// The client authentication entries of a key store: IPv4 addresses, MAC addresses and issued certificates.
extension Engine {
    /// Registers an IPv4 address or CIDR, or a MAC address.
    package func addAuthEntry(
        appkey: String, store reference: KeyStoreReference, kind: AuthKind, value: String, description: String = "",
        actor: String
    ) async throws -> AuthEntry {
        let canonical = try Self.canonicalAuthValue(kind: kind, value)
        let store = try await liveStore(appkey: appkey, reference)
        try await checkEntryFree(kind, canonical, in: store)
        try Self.validateDescription(description)
        let status: EntryStatus = try await approvalRequired(appkey) ? .pendingApproval : .inService
        let id = try await storage.nextIdentifier(for: .authEntry)
        let now = clock.now
        let entry = AuthEntry(
            id: id, appkey: appkey, keyStoreId: store.id, kind: kind, value: canonical, description: description,
            status: status, created: Stamp(user: actor, at: now), lastChange: Stamp(user: actor, at: now))
        try await retrying(duplicate: .authValueFree) {
            let current = try await liveStore(appkey: appkey, .id(entry.keyStoreId))
            try await storage.commit(
                ChangeSet([
                    .requireKeyStoreRevision(id: current.id, revision: current.revision),
                    .insert(.authEntry(entry)),
                    event(
                        .authAdd, actor: actor, appkey: appkey, target: .authEntry, id: String(id),
                        keyStoreId: store.id,
                        changes: [.set(.kind, kind.rawValue), .set(.value, canonical), .set(.status, status.rawValue)],
                        at: now),
                ]))
        }
        return entry
    }

    static func canonicalAuthValue(kind: AuthKind, _ value: String) throws(Rejection) -> String {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        switch kind {
        case .ipv4:
            switch IPv4Network.parse(trimmed) {
            case .success(let network): return network.description
            case .failure(let failure):
                throw Rejection.invalidField(.authValueWellFormed, "value", "'\(trimmed.prefix(64))': \(failure)")
            }
        case .mac:
            guard let mac = MACAddress(trimmed) else {
                throw Rejection.invalidField(
                    .authValueWellFormed, "value",
                    "'\(trimmed.prefix(64))' is not a MAC address (expected aa:bb:cc:dd:ee:ff)")
            }
            return mac.description
        case .certificate:
            try validateName(trimmed, field: "name")
            return trimmed
        }
    }

    /// Issues a client certificate from the installation's CA and registers it in a key store.
    package func issueCertificate(
        appkey: String, store reference: KeyStoreReference, name: String, password: String, lifetimeDays: Int,
        description: String = "", actor: String
    ) async throws -> AuthEntry {
        try Self.validateName(name, field: "name")
        try Self.validateCertificatePassword(password)
        guard Limits.certificateLifetimeDays.contains(lifetimeDays) else {
            throw Rejection.invalidField(
                .certificateParametersValid, "lifeTime",
                "is \(lifetimeDays) days, outside \(Limits.certificateLifetimeDays.lowerBound)…\(Limits.certificateLifetimeDays.upperBound)"
            )
        }
        let store = try await liveStore(appkey: appkey, reference)
        try await checkEntryFree(.certificate, name, in: store)
        try Self.validateDescription(description)
        let status: EntryStatus = try await approvalRequired(appkey) ? .pendingApproval : .inService
        let id = try await storage.nextIdentifier(for: .authEntry)
        let now = clock.now
        let issued = try authority.issueClientCertificate(
            commonName: name, organizationalUnit: store.name, now: now, lifetimeDays: lifetimeDays)
        let summary = issued.certificate.issuedSummary
        let entry = AuthEntry(
            id: id, appkey: appkey, keyStoreId: store.id, kind: .certificate, value: name, description: description,
            status: status, certificate: summary, created: Stamp(user: actor, at: now),
            lastChange: Stamp(user: actor, at: now))
        try await retrying(duplicate: .authValueFree) {
            let current = try await liveStore(appkey: appkey, .id(entry.keyStoreId))
            try await storage.commit(
                ChangeSet([
                    .requireKeyStoreRevision(id: current.id, revision: current.revision),
                    .insert(.authEntry(entry)),
                    .putSealed(
                        .certificateKey(entryId: id),
                        try vault.seal(issued.privateKey.rawRepresentation, for: .certificateKey(entryId: id))),
                    .putSealed(
                        .certificatePassword(entryId: id),
                        try vault.seal(Data(password.utf8), for: .certificatePassword(entryId: id))),
                    event(
                        .authAdd, actor: actor, appkey: appkey, target: .authEntry, id: String(id),
                        keyStoreId: store.id,
                        changes: [
                            .set(.kind, AuthKind.certificate.rawValue), .set(.value, name),
                            .set(.status, status.rawValue),
                            .set(.sha256, summary.sha256), .set(.notAfter, Timestamp.rfc3339(summary.notAfter)),
                        ], at: now),
                ]))
        }
        return entry
    }

    /// The live (not deleted) entry of `kind` with `value` in a key store.
    func liveEntry(
        appkey: String, store reference: KeyStoreReference, kind: AuthKind, value: String
    ) async throws
        -> AuthEntry
    {
        let store = try await liveStore(appkey: appkey, reference)
        let canonical = (try? Self.canonicalAuthValue(kind: kind, value)) ?? value
        guard
            let entry = try await storage.authEntries(keyStoreId: store.id).first(where: {
                $0.kind == kind && $0.value == canonical && $0.status != .deleted
            })
        else {
            throw Rejection(
                .entryExists, "no \(kind.displayName) entry '\(canonical.prefix(64))' in key store '\(store.name)'",
                field: kind == .certificate ? "name" : "value")
        }
        return entry
    }

    /// Refuses a value a live entry of the key store already has.
    func checkEntryFree(_ kind: AuthKind, _ value: String, in store: KeyStore) async throws {
        let taken = try await storage.authEntries(keyStoreId: store.id).contains {
            $0.kind == kind && $0.value == value && $0.status != .deleted
        }
        if taken {
            throw Rejection(.authValueFree, "\(kind.displayName) '\(value)' is already registered in '\(store.name)'")
        }
    }

    package func scheduleAuthDeletion(
        appkey: String, store: KeyStoreReference, kind: AuthKind, value: String, actor: String
    ) async throws -> AuthEntry {
        try await changeEntryStatus(
            appkey: appkey, store: store, kind: kind, value: value, from: .inService, to: .pendingDeletion,
            action: .authScheduleDeletion, actor: actor)
    }

    package func cancelAuthDeletion(
        appkey: String, store: KeyStoreReference, kind: AuthKind, value: String, actor: String
    ) async throws -> AuthEntry {
        guard try await approvalRequired(appkey) else {
            return try await changeEntryStatus(
                appkey: appkey, store: store, kind: kind, value: value, from: .pendingDeletion, to: .inService,
                action: .authCancelDeletion, actor: actor)
        }
        // Under the approval workflow the cancellation waits for an approver; the deletion stays scheduled.
        return try await retrying {
            let entry = try await liveEntry(appkey: appkey, store: store, kind: kind, value: value)
            guard entry.status == .pendingDeletion else {
                throw Rejection(
                    .entryStatusFits,
                    "\(kind.displayName) entry '\(entry.value)' is \(entry.status.displayName); cancelling a deletion needs it Pending Deletion"
                )
            }
            var (moved, changes) = heldTransition(
                entry, to: .cancellationPendingApproval, action: .authCancelDeletion, actor: actor, at: clock.now)
            try await storage.commit(changes)
            moved.revision += 1
            return moved
        }
    }

    /// Deletes an entry pending deletion at once; a tombstone remains.
    package func deleteAuthEntry(
        appkey: String, store: KeyStoreReference, kind: AuthKind, value: String, actor: String
    ) async throws -> AuthEntry {
        try await changeEntryStatus(
            appkey: appkey, store: store, kind: kind, value: value, from: .pendingDeletion, to: .deleted,
            action: .authDelete, actor: actor)
    }

    func changeEntryStatus(
        appkey: String, store: KeyStoreReference, kind: AuthKind, value: String, from expected: EntryStatus,
        to target: EntryStatus, action: AuditAction, actor: String
    ) async throws -> AuthEntry {
        try await retrying {
            let entry = try await liveEntry(appkey: appkey, store: store, kind: kind, value: value)
            guard entry.status == expected else {
                throw Rejection(
                    .entryStatusFits,
                    "\(kind.displayName) entry '\(entry.value)' is \(entry.status.displayName); \(Self.doing(action)) needs it \(expected.displayName)"
                )
            }
            return try await transition(entry, to: target, action: action, actor: actor)
        }
    }

    func transition(
        _ entry: AuthEntry, to target: EntryStatus, action: AuditAction, actor: String
    )
        async throws -> AuthEntry
    {
        var (entry, changes) = transitionChanges(entry, to: target, action: action, actor: actor, at: clock.now)
        try await storage.commit(changes)
        entry.revision += 1
        return entry
    }

    /// The entry moved to `target`, and the changes that record it (a certificate's sealed key and password go with
    /// a deletion).
    func transitionChanges(
        _ entry: AuthEntry, to target: EntryStatus, action: AuditAction, actor: String, at now: Date
    ) -> (AuthEntry, ChangeSet) {
        let (entry, fields) = moved(entry, to: target, actor: actor, at: now)
        var changes = ChangeSet([
            .update(.authEntry(entry)),
            event(
                action, actor: actor, appkey: entry.appkey, target: .authEntry, id: String(entry.id),
                keyStoreId: entry.keyStoreId, changes: fields, at: now),
        ])
        if target == .deleted {
            changes.append(.deleteSealed(.certificateKey(entryId: entry.id)))
            changes.append(.deleteSealed(.certificatePassword(entryId: entry.id)))
        }
        return (entry, changes)
    }

    /// A PKCS#12 file with an issued certificate, its key and the CA certificate, protected by `password`, or by
    /// the password chosen when the certificate was issued when `password` is `nil`.
    package func exportCertificate(
        appkey: String, store: KeyStoreReference, name: String, password: String? = nil
    )
        async throws -> [UInt8]
    {
        let entry = try await liveEntry(appkey: appkey, store: store, kind: .certificate, value: name)
        guard entry.status == .inService, let summary = entry.certificate else {
            throw Rejection(.entryStatusFits, "certificate '\(name)' is \(entry.status.rawValue)", field: "name")
        }
        guard let sealedKey = try await storage.sealedItem(.certificateKey(entryId: entry.id)) else {
            throw CoreError(.storage, "the private key of certificate '\(name)' is missing")
        }
        let chosen: String
        if let password {
            try Self.validateCertificatePassword(password)
            chosen = password
        } else {
            guard let sealed = try await storage.sealedItem(.certificatePassword(entryId: entry.id)) else {
                throw CoreError(.storage, "the password of certificate '\(name)' is missing")
            }
            chosen = String(
                decoding: try vault.open(sealed, for: .certificatePassword(entryId: entry.id)), as: UTF8.self)
        }
        let key = try P256.Signing.PrivateKey(
            rawRepresentation: try vault.open(sealedKey, for: .certificateKey(entryId: entry.id)))
        let certificate = try Certificate.parseChain(Data(summary.pem.utf8))[0]
        return try PKCS12.export(
            certificate: certificate, privateKey: key, chain: [authority.certificate], password: chosen,
            friendlyName: name)
    }

    /// A PKCS#12 password: 1 to 1024 bytes, no control character. PKCS#12 passwords are C strings, so a NUL would
    /// cut the password short (even to nothing); other control characters cannot be typed reliably where the
    /// certificate is opened.
    static func validateCertificatePassword(_ password: String) throws(Rejection) {
        guard !password.isEmpty, password.utf8.count <= Limits.passwordBytes else {
            throw Rejection.invalidField(
                .certificateParametersValid, "password", "must be 1 to \(Limits.passwordBytes) bytes")
        }
        guard !password.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw Rejection.invalidField(
                .certificateParametersValid, "password", "contains a control character; use printable characters")
        }
    }

    /// The password chosen when a certificate was issued (SKM shows it in certificate details).
    func certificatePassword(entryId: Int) async throws -> String? {
        guard let sealed = try await storage.sealedItem(.certificatePassword(entryId: entryId)) else { return nil }
        return String(decoding: try vault.open(sealed, for: .certificatePassword(entryId: entryId)), as: UTF8.self)
    }
}

/// What a bulk registration did, or would do: the entries registered, the rows left out as duplicates, and the rows
/// that cannot be registered, each with its line.
package struct AuthImportReport: Sendable {
    package struct Added: Sendable {
        package var line: Int
        package var entry: AuthEntry
    }

    package var added: [Added] = []
    /// Rows not registered because the key store already has the address, or an earlier row gives it.
    package var duplicates: [AuthImportFile.Problem] = []
    /// Rows that cannot be registered, and problems of the file as a whole.
    package var invalid: [AuthImportFile.Problem] = []
    /// Whether the entries were registered. Nothing is when a row is invalid (unless told to skip those), when the
    /// file as a whole is refused, or when the import was a check only.
    package var applied = false
    /// The number of data rows read.
    package var rows = 0
}

extension Engine {
    /// Registers the IPv4 and MAC addresses of a CSV file (``AuthImportFile``) in a key store, all in one transaction
    /// with one audit event per entry. Every row is checked before any is registered: with an invalid row nothing
    /// is, unless `skipInvalid`, which registers the valid rows and reports the others. Addresses the key store
    /// already has, or that an earlier row gives, are reported as duplicates and left out. `checkOnly` reports what
    /// would happen and changes nothing.
    ///
    /// With `refusing`, a file that would register nothing for its invalid rows is refused (Invalid Request,
    /// `import-rows-valid`) before the key store is looked up, as the API answers it; without, the report says so.
    package func importAuthEntries(
        appkey: String, store reference: KeyStoreReference, csv text: String, skipInvalid: Bool = false,
        checkOnly: Bool = false, refusing: Bool = false, actor: String
    ) async throws -> AuthImportReport {
        let contents = AuthImportFile.read(text)
        let fileProblems = contents.problems
        var report = AuthImportReport(invalid: fileProblems, rows: contents.count)
        var checkedRows: [AuthImportFile.CheckedRow] = []
        for row in contents.rows {
            switch AuthImportFile.check(row) {
            case .invalid(let problem): report.invalid.append(problem)
            case .valid(let checked): checkedRows.append(checked)
            }
        }
        if refusing, !checkOnly, !fileProblems.isEmpty || (!report.invalid.isEmpty && !skipInvalid) {
            let first = report.invalid[0]
            let more = report.invalid.count > 1 ? " (and \(report.invalid.count - 1) more)" : ""
            throw Rejection(
                .importRowsValid, "csv line \(first.line): \(first.field) \(first.reason)\(more)", field: "csv")
        }
        let store = try await liveStore(appkey: appkey, reference)
        let live = try await storage.authEntries(keyStoreId: store.id).filter { $0.status != .deleted }
        var taken = Set(live.map { "\($0.kind.rawValue)/\($0.value)" })
        var firstLine: [String: Int] = [:]
        var accepted: [AuthImportFile.CheckedRow] = []
        for checked in checkedRows {
            let identity = "\(checked.kind.rawValue)/\(checked.value)"
            if let first = firstLine[identity] {
                report.duplicates.append(
                    .init(line: checked.line, field: "value", reason: "'\(checked.value)' repeats line \(first)"))
                continue
            }
            firstLine[identity] = checked.line
            if taken.contains(identity) {
                report.duplicates.append(
                    .init(
                        line: checked.line, field: "value",
                        reason: "'\(checked.value)' is already registered in key store '\(store.name)'"))
            } else {
                accepted.append(checked)
            }
        }
        report.invalid.sort { ($0.line, $0.field) < ($1.line, $1.field) }
        guard !checkOnly, fileProblems.isEmpty, report.invalid.isEmpty || skipInvalid else { return report }
        let status: EntryStatus = try await approvalRequired(appkey) ? .pendingApproval : .inService
        let now = clock.now
        var added: [AuthImportReport.Added] = []
        for checked in accepted {
            let entry = AuthEntry(
                id: try await storage.nextIdentifier(for: .authEntry), appkey: appkey, keyStoreId: store.id,
                kind: checked.kind, value: checked.value, description: checked.description, status: status,
                created: Stamp(user: actor, at: now), lastChange: Stamp(user: actor, at: now))
            added.append(.init(line: checked.line, entry: entry))
            taken.insert("\(checked.kind.rawValue)/\(checked.value)")
        }
        if !added.isEmpty {
            try await retrying(duplicate: .authValueFree) {
                let current = try await liveStore(appkey: appkey, .id(store.id))
                var mutations: [ChangeSet.Mutation] = [
                    .requireKeyStoreRevision(id: current.id, revision: current.revision)
                ]
                for item in added {
                    let entry = item.entry
                    mutations.append(.insert(.authEntry(entry)))
                    mutations.append(
                        event(
                            .authAdd, actor: actor, appkey: appkey, target: .authEntry, id: String(entry.id),
                            keyStoreId: store.id,
                            changes: [
                                .set(.kind, entry.kind.rawValue), .set(.value, entry.value),
                                .set(.status, entry.status.rawValue),
                            ], at: now))
                }
                try await storage.commit(ChangeSet(mutations))
            }
        }
        report.added = added
        report.applied = true
        return report
    }
}
