import Foundation
import SKMPrimitives

extension StateSnapshot {
    /// Refuses a snapshot whose audit events could not be rewound: the analyser rebuilds each request's state from
    /// them, and a change it cannot undo would leave a later state standing for an earlier one (a deletion seen as
    /// done before it happened). Each problem names the event by its place and sequence.
    func validateEvents() throws {
        var firstEvent: [String: Int] = [:]
        var created: [String: Date] = [:]
        for key in keys { created["KEY/\(key.id)"] = key.created.at }
        for entry in authEntries { created["AUTH_ENTRY/\(entry.id)"] = entry.created.at }
        for store in keyStores { created["KEY_STORE/\(store.id)"] = store.created.at }
        for accessKey in userAccessKeys { created["USER_ACCESS_KEY/\(accessKey.id)"] = accessKey.created.at }
        for (index, event) in events.enumerated().sorted(by: { $0.element.sequence < $1.element.sequence }) {
            let target = "\(event.targetKind.rawValue)/\(event.targetId)"
            let place = "events[\(index)] (sequence \(event.sequence))"
            let first = firstEvent[target] == nil
            if first { firstEvent[target] = index }
            if let creation = created[target], event.time < creation {
                throw CoreError(
                    .storage,
                    "\(place): dated \(Timestamp.rfc3339(event.time)), before its \(event.targetKind.rawValue) was created"
                )
            }
            for (number, change) in event.changes.enumerated() {
                let at = "\(place).changes[\(number)]"
                guard let field = change.known else {
                    throw CoreError(.storage, "\(at): unknown field '\(change.field.prefix(40))'")
                }
                for (side, value) in [("before", change.before), ("after", change.after)] {
                    guard let value else { continue }
                    guard Self.valid(value, of: field, for: event.targetKind) else {
                        throw CoreError(.storage, "\(at).\(side): '\(value.prefix(40))' is not a \(field.rawValue)")
                    }
                }
                // A status is undone to its value before; only the first event of a thing may have none.
                if field == .status, change.before == nil, !first {
                    throw CoreError(.storage, "\(at).before: a status change needs the status it changed from")
                }
            }
        }
    }

    static func valid(_ value: String, of field: AuditField, for target: AuditEvent.TargetKind) -> Bool {
        switch field {
        case .status:
            switch target {
            case .key: return KeyStatus(rawValue: value) != nil
            case .keyVersion, .authEntry: return EntryStatus(rawValue: value) != nil
            case .keyStore: return KeyStore.Status(rawValue: value) != nil
            case .userAccessKey: return AccessKeyStatus(rawValue: value) != nil
            case .appkey: return true
            }
        case .deletionAt, .notAfter: return Timestamp.parse(value) != nil
        case .latestVersion, .autoRotationPeriod, .changeRequest: return Int(value) != nil
        case .change: return ChangeRequest.Kind(rawValue: value) != nil
        case .ip4AuthUse, .macAuthUse, .certificateAuthUse: return value == "Y" || value == "N"
        case .authMode: return AuthMode(rawValue: value) != nil
        case .name, .description, .type, .kind, .value, .sha256, .replacedBy, .member: return true
        }
    }
}
