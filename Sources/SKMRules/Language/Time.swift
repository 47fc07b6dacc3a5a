import SKMPrimitives

/// RFC 3339 timestamps and Go-style durations, as CEL's `timestamp()` and `duration()` read and write them.
extension CELTime {
    /// Parses `2009-02-13T23:31:30Z`, with up to nine fraction digits and `Z` or `±hh:mm`.
    package init?(rfc3339 text: String) {
        guard let fields = RFC3339.parse(text, .strict),
            let checked = CELTime.checked(seconds: fields.seconds, nanos: Int32(fields.nanoseconds))
        else { return nil }
        self = checked
    }

    /// RFC 3339 in UTC; the fraction has as many digits as it needs.
    package var rfc3339: String {
        var days = seconds / 86_400
        var rest = seconds % 86_400
        if rest < 0 {
            rest += 86_400
            days -= 1
        }
        let (year, month, day) = CivilDate.civil(fromDays: days)
        guard (0...9999).contains(year) else { return Self.padded(year, month, day, rest, nanos) }
        // At most `9999-12-31T23:59:59.999999999Z`, 30 bytes, written in place.
        return String(unsafeUninitializedCapacity: 30) { buffer in
            var end = 0
            func put(_ value: Int64, _ width: Int) {
                var value = value
                for offset in stride(from: width - 1, through: 0, by: -1) {
                    buffer[end + offset] = UInt8(ascii: "0") + UInt8(value % 10)
                    value /= 10
                }
                end += width
            }
            func put(_ byte: Unicode.Scalar) {
                buffer[end] = UInt8(ascii: byte)
                end += 1
            }
            put(year, 4)
            put("-")
            put(month, 2)
            put("-")
            put(day, 2)
            put("T")
            put(rest / 3600, 2)
            put(":")
            put(rest / 60 % 60, 2)
            put(":")
            put(rest % 60, 2)
            if nanos > 0 {
                put(".")
                var fraction = Int64(nanos)
                var digits = 9
                while fraction % 10 == 0 {
                    fraction /= 10
                    digits -= 1
                }
                put(fraction, digits)
            }
            put("Z")
            return end
        }
    }

    /// The text for years outside 0000–9999, which four digits cannot hold.
    private static func padded(_ year: Int64, _ month: Int64, _ day: Int64, _ rest: Int64, _ nanos: Int32) -> String {
        func pad(_ value: Int64, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        var text =
            "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(rest / 3600, 2)):\(pad(rest / 60 % 60, 2)):\(pad(rest % 60, 2))"
        if nanos > 0 {
            var fraction = pad(Int64(nanos), 9)
            while fraction.hasSuffix("0") { fraction.removeLast() }
            text += "." + fraction
        }
        return text + "Z"
    }
}

extension CELDuration {
    /// Parses Go-style durations: `1.5h`, `-999999999ns`, `300s`, `1h30m`; units h, m, s, ms, us, µs, ns.
    package init?(text: String) {
        var scalars = Array(text.unicodeScalars)
        var negative = false
        if let sign = scalars.first, sign == "-" || sign == "+" {
            negative = sign == "-"
            scalars.removeFirst()
        }
        guard !scalars.isEmpty else { return nil }
        if scalars == ["0"] {
            self.init(seconds: 0)
            return
        }
        var totalNanos: (seconds: Int64, nanos: Int64) = (0, 0)
        var index = 0
        while index < scalars.count {
            var whole: Int64 = 0
            var fraction: Double = 0
            var digits = 0
            while index < scalars.count,
                let digit = scalars[index].properties.numericType == nil ? nil : Int64(String(scalars[index]))
            {
                let (product, overflow1) = whole.multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = product.addingReportingOverflow(digit)
                guard !overflow1, !overflow2 else { return nil }
                whole = sum
                digits += 1
                index += 1
            }
            if index < scalars.count, scalars[index] == "." {
                index += 1
                var scale = 0.1
                while index < scalars.count, let digit = Int(String(scalars[index])) {
                    fraction += Double(digit) * scale
                    scale /= 10
                    digits += 1
                    index += 1
                }
            }
            guard digits > 0 else { return nil }
            var unit = ""
            while index < scalars.count, scalars[index].properties.isAlphabetic || scalars[index] == "µ" {
                unit.unicodeScalars.append(scalars[index])
                index += 1
            }
            let nanosPerUnit: Int64
            switch unit {
            case "h": nanosPerUnit = 3_600_000_000_000
            case "m": nanosPerUnit = 60_000_000_000
            case "s": nanosPerUnit = 1_000_000_000
            case "ms": nanosPerUnit = 1_000_000
            case "us", "µs": nanosPerUnit = 1000
            case "ns": nanosPerUnit = 1
            default: return nil
            }
            // whole × unit, split into seconds and nanoseconds without overflow.
            var seconds: Int64
            var nanos: Int64
            if nanosPerUnit >= 1_000_000_000 {
                let (product, overflow) = whole.multipliedReportingOverflow(by: nanosPerUnit / 1_000_000_000)
                guard !overflow else { return nil }
                seconds = product
                nanos = 0
            } else {
                let perSecond = 1_000_000_000 / nanosPerUnit
                seconds = whole / perSecond
                nanos = (whole % perSecond) * nanosPerUnit
            }
            let fractionNanos = fraction * Double(nanosPerUnit)
            seconds += Int64((fractionNanos / 1e9).rounded(.down))
            nanos += Int64(fractionNanos.truncatingRemainder(dividingBy: 1e9).rounded())
            totalNanos.seconds += seconds
            totalNanos.nanos += nanos
            guard abs(totalNanos.seconds) <= CELDuration.maximumSeconds * 2 else { return nil }
        }
        let sign: Int64 = negative ? -1 : 1
        guard let value = CELDuration.checked(seconds: sign * totalNanos.seconds, nanos: sign * totalNanos.nanos) else {
            return nil
        }
        self = value
    }

    /// `1000000s`, `1.5s`, `-0.000000001s`: seconds with as many fraction digits as needed.
    package var text: String {
        if nanos == 0 { return "\(seconds)s" }
        let negative = seconds < 0 || nanos < 0
        var fraction = String(abs(Int64(nanos)))
        fraction = String(repeating: "0", count: 9 - fraction.count) + fraction
        while fraction.hasSuffix("0") { fraction.removeLast() }
        return "\(negative ? "-" : "")\(abs(seconds)).\(fraction)s"
    }
}
