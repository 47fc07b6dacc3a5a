/// The one reader of RFC 3339 timestamps (`2026-11-27T15:24:50.123Z`), for the request log, snapshots and the rule
/// language alike; each says how strict it is.
package enum RFC3339 {
    /// What a reader accepts beyond the strict form (`T`, a zone, seconds below 60, years from 1).
    package struct Leniency: Sendable, Hashable {
        /// A space between date and time, and no zone (taken as UTC): SKM's API writes times that way.
        package var zoneless: Bool
        /// A leap second (`:60`).
        package var leapSecond: Bool
        /// The most fraction digits read; more is refused.
        package var fractionDigits: Int

        package init(zoneless: Bool, leapSecond: Bool, fractionDigits: Int) {
            self.zoneless = zoneless
            self.leapSecond = leapSecond
            self.fractionDigits = fractionDigits
        }

        /// RFC 3339 as CEL's `timestamp()` reads it: a zone, up to nine fraction digits, no leap second.
        package static let strict = Leniency(zoneless: false, leapSecond: false, fractionDigits: 9)
        /// Logs and snapshots: also SKM's zone-less form, any number of fraction digits.
        package static let lenient = Leniency(zoneless: true, leapSecond: true, fractionDigits: .max)
    }

    /// A timestamp read: whole seconds since 1970 (UTC) and the fraction's digits as written.
    package struct Fields: Sendable, Hashable {
        package var seconds: Int64
        package var fraction: [UInt8]

        /// The fraction in nanoseconds (digits past the ninth dropped).
        package var nanoseconds: Int64 {
            var nanos: Int64 = 0
            for index in 0..<9 { nanos = nanos * 10 + Int64(index < fraction.count ? fraction[index] : 0) }
            return nanos
        }

        /// The fraction as a number of seconds below one.
        package var fractionOfASecond: Double {
            var value = 0.0
            var scale = 0.1
            for digit in fraction {
                value += Double(digit) * scale
                scale /= 10
            }
            return value
        }
    }

    package static func parse(_ text: String, _ leniency: Leniency) -> Fields? {
        var text = text
        return text.withUTF8 { parse(utf8: $0, leniency) }
    }

    /// The same, from the text's UTF-8 bytes (a log line's, without making a string of them).
    package static func parse(utf8 bytes: UnsafeBufferPointer<UInt8>, _ leniency: Leniency) -> Fields? {
        guard bytes.count >= 19 else { return nil }
        func number(_ range: Range<Int>) -> Int64? {
            var value: Int64 = 0
            for index in range {
                guard index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 else { return nil }
                value = value * 10 + Int64(bytes[index] - 0x30)
            }
            return value
        }
        let separator = bytes[10]
        guard bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
            separator == UInt8(ascii: "T") || separator == UInt8(ascii: "t")
                || (leniency.zoneless && separator == UInt8(ascii: " ")),
            bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"),
            let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
            leniency.zoneless || year >= 1, (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60,
            second < (leniency.leapSecond ? 61 : 60)
        else { return nil }
        var index = 19
        var fraction: [UInt8] = []
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 {
                guard fraction.count < leniency.fractionDigits else { return nil }
                fraction.append(bytes[index] - 0x30)
                index += 1
            }
            guard !fraction.isEmpty else { return nil }
        }
        var offset: Int64 = 0
        if index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "Z"), UInt8(ascii: "z"):
                index += 1
            case UInt8(ascii: "+"), UInt8(ascii: "-"):
                guard bytes.count == index + 6, bytes[index + 3] == UInt8(ascii: ":"),
                    let hours = number((index + 1)..<(index + 3)), let minutes = number((index + 4)..<(index + 6)),
                    hours < 24, minutes < 60
                else { return nil }
                offset = (hours * 3600 + minutes * 60) * (bytes[index] == UInt8(ascii: "+") ? 1 : -1)
                index += 6
            default:
                return nil
            }
        } else if !leniency.zoneless {
            return nil
        }
        guard index == bytes.count, day <= CivilDate.daysIn(month: month, of: year) else { return nil }
        let days = CivilDate.days(fromCivil: year, month, day)
        return Fields(seconds: days * 86_400 + hour * 3600 + minute * 60 + second - offset, fraction: fraction)
    }
}
