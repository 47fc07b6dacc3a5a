import Crypto
import Foundation
import X509

/// The rules every name, description and period given to the engine must follow.
extension Engine {
    static let alphanumerics = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

    static func validateName(_ name: String, field: String) throws(Rejection) {
        guard !name.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw Rejection.invalidField(.nameValid, field, "must not be empty")
        }
        guard name.count <= Limits.nameCharacters else {
            throw Rejection.invalidField(.nameValid, field, "is longer than \(Limits.nameCharacters) characters")
        }
        guard !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw Rejection.invalidField(.nameValid, field, "must not contain control characters")
        }
    }

    static func validateDescription(_ text: String) throws(Rejection) {
        guard text.count <= Limits.descriptionCharacters else {
            throw Rejection.invalidField(
                .otherwiseMalformed, "description", "is longer than \(Limits.descriptionCharacters) characters")
        }
    }

    static func validateRotationPeriod(_ days: Int) throws(Rejection) {
        guard days == 0 || (Limits.minimumRotationPeriod...Limits.maximumRotationPeriod).contains(days) else {
            throw Rejection.invalidField(
                .rotationPeriodValid, "autoRotationPeriod",
                "is \(days); use 0 (off) or \(Limits.minimumRotationPeriod) to \(Limits.maximumRotationPeriod) days")
        }
    }
}
