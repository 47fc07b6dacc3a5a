import Foundation
import SKMPrimitives
import SwiftASN1
import X509

extension Certificate {
    /// `notValidBefore` and `notValidAfter`, read from the certificate's own bytes. DER parsing takes a time whose
    /// second is 60 or 61 (a leap second), and swift-certificates' conversion of such a time asserts in a debug
    /// build: one presented certificate would stop a debug-built server or analyser. Here each field counts as
    /// written, as the conversion counts it in a release build, so second 61 is a minute and one second on.
    package var validityPeriod: (notBefore: Date, notAfter: Date) {
        // Certificate ::= SEQUENCE { tbsCertificate TBSCertificate, … }; TBSCertificate ::= SEQUENCE { version [0]
        // EXPLICIT OPTIONAL, serialNumber, signature, issuer, validity SEQUENCE { notBefore Time, notAfter Time }, … }
        var parts = (try? DER.parse(derBytes)).flatMap { root -> ASN1NodeCollection.Iterator? in
            guard case .constructed(let certificate) = root.content else { return nil }
            return certificate.makeIterator()
        }
        guard let tbs = parts?.next(), case .constructed(let fields) = tbs.content else {
            preconditionFailure("a parsed certificate's own bytes parse")
        }
        var remaining = Array(fields)
        if remaining.first?.identifier == ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific) {
            remaining.removeFirst()
        }
        guard remaining.count > 3, case .constructed(let times) = remaining[3].content else {
            preconditionFailure("a parsed certificate has a validity")
        }
        let dates = times.compactMap(Self.date(of:))
        precondition(dates.count == 2, "a parsed certificate's validity holds two times")
        return (dates[0], dates[1])
    }

    /// The time a UTCTime or GeneralizedTime node names, to the second, every field counted as written.
    private static func date(of node: ASN1Node) -> Date? {
        let fields: (year: Int, month: Int, day: Int, hours: Int, minutes: Int, seconds: Int)
        switch node.identifier {
        case .utcTime:
            guard let time = try? UTCTime(derEncoded: node) else { return nil }
            fields = (time.year, time.month, time.day, time.hours, time.minutes, time.seconds)
        case .generalizedTime:
            guard let time = try? GeneralizedTime(derEncoded: node) else { return nil }
            fields = (time.year, time.month, time.day, time.hours, time.minutes, time.seconds)
        default:
            return nil
        }
        let days = CivilDate.days(fromCivil: Int64(fields.year), Int64(fields.month), Int64(fields.day))
        let seconds = days * 86_400 + Int64(fields.hours * 3600 + fields.minutes * 60 + fields.seconds)
        return Date(timeIntervalSince1970: TimeInterval(seconds))
    }
}
