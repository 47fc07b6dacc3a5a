import Foundation

/// Fast, locale-free formatting and parsing of UTC timestamps.
///
/// Snapshots and the request log use RFC 3339 with milliseconds and `Z`. The SKM API shows times the way NHN's
/// service does, `yyyy-MM-dd'T'HH:mm:ss.SSS` without a zone; this implementation always means UTC by it.
package enum Timestamp {
    /// `2026-11-27T15:24:50.123Z`
    package static func rfc3339(_ date: Date) -> String {
        format(date, zone: true)
    }

    /// A time from seconds since 1970, when it falls in the years 0001 to 9999 that every format here can write.
    package static func date(secondsSince1970 seconds: Int64) -> Date? {
        guard (-62_135_596_800...253_402_300_799).contains(seconds) else { return nil }
        return Date(timeIntervalSince1970: Double(seconds))
    }

    /// `2026-11-27T15:24:50.123` (UTC, no zone), the form SKM's API uses.
    package static func api(_ date: Date) -> String {
        format(date, zone: false)
    }

    /// The longest text ``format(_:zone:)`` writes: `2026-11-27T15:24:50.123Z`.
    static let formattedLength = 24

    private static func format(_ date: Date, zone: Bool) -> String {
        String(unsafeUninitializedCapacity: formattedLength) { write(date, zone: zone, into: $0) }
    }

    /// Appends the RFC 3339 form of `date` (as ``rfc3339(_:)`` writes it) to `output`, without making a string of
    /// it first.
    package static func appendRFC3339(_ date: Date, to output: inout ByteWriter) {
        output.write(atMost: formattedLength) { write(date, zone: true, into: $0) }
    }

    /// Writes the time into `output` (at least ``formattedLength`` bytes); returns how many bytes it wrote.
    private static func write(_ date: Date, zone: Bool, into output: UnsafeMutableBufferPointer<UInt8>) -> Int {
        let totalMilliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var days = totalMilliseconds / 86_400_000
        var milliseconds = totalMilliseconds % 86_400_000
        if milliseconds < 0 {
            milliseconds += 86_400_000
            days -= 1
        }
        let (year, month, day) = CivilDate.civil(fromDays: days)
        let hour = milliseconds / 3_600_000
        let minute = milliseconds / 60_000 % 60
        let second = milliseconds / 1000 % 60
        let fraction = milliseconds % 1000
        var count = 0
        func digits(_ value: Int64, _ width: Int) {
            var remaining = value
            for position in stride(from: count + width - 1, through: count, by: -1) {
                output[position] = UInt8(ascii: "0") + UInt8(remaining % 10)
                remaining /= 10
            }
            count += width
        }
        func character(_ byte: UInt8) {
            output[count] = byte
            count += 1
        }
        digits(year, 4)
        character(UInt8(ascii: "-"))
        digits(month, 2)
        character(UInt8(ascii: "-"))
        digits(day, 2)
        character(UInt8(ascii: "T"))
        digits(hour, 2)
        character(UInt8(ascii: ":"))
        digits(minute, 2)
        character(UInt8(ascii: ":"))
        digits(second, 2)
        character(UInt8(ascii: "."))
        digits(fraction, 3)
        if zone { character(UInt8(ascii: "Z")) }
        return count
    }

    /// Parses RFC 3339 (`Z` or `±hh:mm`, any number of fraction digits) and SKM's zone-less form (taken as UTC).
    package static func parse(_ text: String) -> Date? {
        guard let fields = RFC3339.parse(text, .lenient) else { return nil }
        return Date(timeIntervalSince1970: Double(fields.seconds) + fields.fractionOfASecond)
    }

    /// The same, from the text's UTF-8 bytes.
    package static func parse(utf8 bytes: UnsafeBufferPointer<UInt8>) -> Date? {
        guard let fields = RFC3339.parse(utf8: bytes, .lenient) else { return nil }
        return Date(timeIntervalSince1970: Double(fields.seconds) + fields.fractionOfASecond)
    }

    /// Parses an HTTP `Date` header in its preferred form (RFC 9110 IMF-fixdate): `Sun, 06 Nov 1994 08:49:37 GMT`.
    package static func parseHTTPDate(_ text: String) -> Date? {
        let parts = text.split(separator: " ")
        guard parts.count == 6, parts[0].hasSuffix(","), parts[5] == "GMT", parts[1].count == 2,
            let day = Int64(parts[1]), let year = Int64(parts[3]), parts[3].count == 4,
            let month = monthNames.firstIndex(of: String(parts[2])).map({ Int64($0) + 1 })
        else { return nil }
        let clock = parts[4].split(separator: ":")
        guard clock.count == 3, clock.allSatisfy({ $0.count == 2 }), let hour = Int64(clock[0]),
            let minute = Int64(clock[1]), let second = Int64(clock[2]), (1...31).contains(day), hour < 24,
            minute < 60, second < 61
        else { return nil }
        let days = CivilDate.days(fromCivil: year, month, day)
        // A day the month does not have (31 Feb) is refused, not rolled over into the next month.
        guard CivilDate.civil(fromDays: days) == (year, month, day) else { return nil }
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second
        return Date(timeIntervalSince1970: Double(seconds))
    }

    private static let monthNames = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]

    /// `Sun, 06 Nov 1994 08:49:37 GMT`: a time as an HTTP `Date` header writes it.
    package static func httpDate(_ date: Date) -> String {
        let seconds = Int64(date.timeIntervalSince1970.rounded(.down))
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let (year, month, day) = CivilDate.civil(fromDays: days)
        let rest = seconds - days * 86_400
        let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][Int(((days % 7) + 7) % 7)]
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return
            "\(weekday), \(two(day)) \(monthNames[Int(month) - 1]) \(year) \(two(rest / 3600)):\(two(rest % 3600 / 60)):\(two(rest % 60)) GMT"
    }
}
