/// Masks credentials (appkeys, User Access Key ids) wherever they appear in report text: `Pr0j…01`.
///
/// Appkeys and UAK ids act as credentials in SKM's API, and reports travel in tickets. The redactor knows every
/// credential of the state and of the analysed requests, and replaces each occurrence, in explanations and paths as
/// well as in the fields that hold them.
package struct Redactor: Sendable {
    package let enabled: Bool
    private var credentials: [String] = []

    package init(enabled: Bool) {
        self.enabled = enabled
    }

    /// Registers a credential to mask; short values are too ambiguous to replace in free text and are only masked
    /// where they stand alone.
    package mutating func add(_ credential: String?) {
        guard enabled, let credential, credential.count >= 8, !credentials.contains(credential) else { return }
        credentials.append(credential)
        credentials.sort { $0.count > $1.count }
    }

    /// The masked form of one credential.
    package static func mask(_ credential: String) -> String {
        guard credential.count > 6 else { return String(repeating: "•", count: credential.count) }
        return "\(credential.prefix(4))…\(credential.suffix(2))"
    }

    /// A field that holds a credential.
    package func credential(_ value: String?) -> String {
        guard let value, !value.isEmpty else { return "" }
        return enabled ? Self.mask(value) : value
    }

    /// Free text with every known credential masked.
    package func text(_ value: String) -> String {
        guard enabled else { return value }
        var result = value
        for credential in credentials where result.contains(credential) {
            result = result.replacingOccurrences(of: credential, with: Self.mask(credential))
        }
        return result
    }

    package func text(_ value: String?) -> String? {
        value.map(text)
    }
}
