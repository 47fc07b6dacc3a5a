import CSV
import Foundation
import SKMPrimitives

/// A CSV file of IPv4 and MAC addresses to register in a key store at once, as SKM's console takes them.
///
/// Each row is an address and, optionally, a description. A first row naming its columns is a header: `value` (or
/// `ip`, `ipv4`, `ip address`, `mac`, `mac address`, `address`), `description`, and `kind` (`IPV4` or `MAC`); other
/// columns are ignored. Without a header the first column is the address and the second its description. A row's kind
/// is its `kind` cell, else its column's name (`ip`…, `mac`…), else what the address looks like. Quoted fields,
/// CRLF line ends and a UTF-8 byte-order mark are read as spreadsheets write them; blank rows are skipped.
package enum AuthImportFile {
    /// The most rows one import takes.
    package static let maxRows = 10_000

    /// One data row, as written.
    package struct Row: Sendable, Hashable {
        /// The line the row starts on (1 is the file's first).
        package var line: Int
        /// The kind the file gives (a `kind` cell, or the column's name); `nil` when it gives none.
        package var kind: AuthKind?
        /// A `kind` cell that names neither kind, as written.
        package var unknownKind: String?
        package var value: String
        package var description: String

        package init(line: Int, kind: AuthKind?, unknownKind: String? = nil, value: String, description: String) {
            self.line = line
            self.kind = kind
            self.unknownKind = unknownKind
            self.value = value
            self.description = description
        }
    }

    /// A row that cannot be registered, or a duplicate: its line, the column at fault and why.
    package struct Problem: Sendable, Hashable {
        package var line: Int
        package var field: String
        package var reason: String

        package init(line: Int, field: String, reason: String) {
            self.line = line
            self.field = field
            self.reason = reason
        }
    }

    /// A row checked on its own: the entry it registers, or why it cannot be registered.
    package enum Checked: Sendable, Hashable {
        case valid(CheckedRow)
        case invalid(Problem)
    }

    /// A row that can be registered.
    package struct CheckedRow: Sendable, Hashable {
        package var line: Int
        package var kind: AuthKind
        /// The canonical value (`10.0.3.0/24`, `aa:bb:cc:dd:ee:ff`).
        package var value: String
        package var description: String

        package init(line: Int, kind: AuthKind, value: String, description: String) {
            self.line = line
            self.kind = kind
            self.value = value
            self.description = description
        }
    }

    /// What a file holds: its data rows (at most ``maxRows``), how many there are in all, and the problems of the
    /// file as a whole (no rows, too many).
    package struct Contents: Sendable {
        package var rows: [Row]
        package var count: Int
        package var problems: [Problem]
    }

    /// The rows of `text`, and the problems of the file as a whole.
    package static func read(_ text: String) -> Contents {
        var text = text
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        // The reader takes a quote that never closes as a field running to the end of the file: the rows after it
        // would be lost without a word. Such a file is refused, naming the line the quote opens on.
        if let line = unclosedQuote(in: text) {
            return Contents(
                rows: [], count: 0,
                problems: [
                    Problem(
                        line: line, field: "file",
                        reason: "has a quoted field opened on line \(line) that never closes (a missing \")")
                ])
        }
        guard let reader = try? CSVReader(string: text, hasHeaderRow: false) else {
            return Contents(rows: [], count: 0, problems: [Problem(line: 1, field: "file", reason: "is not CSV text")])
        }
        var rows: [Row] = []
        var count = 0
        var line = 1
        var columns: Columns?
        var problems: [Problem] = []
        while let cells = reader.next() {
            let start = line
            line += 1 + cells.reduce(0) { $0 + $1.count(where: \.isNewline) }
            if cells.allSatisfy({ $0.trimmingCharacters(in: .whitespaces).isEmpty }) { continue }
            if columns == nil {
                if let header = Columns(header: cells) {
                    columns = header
                    continue
                }
                columns = .positional
            }
            count += 1
            if count == maxRows + 1 {
                problems.append(
                    Problem(line: start, field: "file", reason: "has more than \(maxRows) rows; split it into files"))
            }
            if count <= maxRows, let columns { rows.append(columns.row(cells, line: start)) }
        }
        if count == 0 {
            problems.append(Problem(line: 1, field: "file", reason: "holds no address to register"))
        }
        return Contents(rows: rows, count: count, problems: problems)
    }

    /// The line of a quoted field that is still open at the end of `text`, read as RFC 4180 and the reader do: a quote
    /// opens a field only at its start, and `""` inside one is a quote.
    static func unclosedQuote(in text: String) -> Int? {
        var line = 1
        var opened = 0
        var quoted = false
        var atFieldStart = true
        var scalars = text.unicodeScalars.makeIterator()
        var pending: Unicode.Scalar? = nil
        while let scalar = pending ?? scalars.next() {
            pending = nil
            if scalar == "\r" {
                let next = scalars.next()
                if next != "\n" { pending = next }
                line += 1
                if !quoted { atFieldStart = true }
                continue
            }
            if scalar == "\n" {
                line += 1
                if !quoted { atFieldStart = true }
                continue
            }
            if quoted {
                if scalar == "\"" {
                    let next = scalars.next()
                    if next == "\"" { continue }
                    quoted = false
                    pending = next
                }
                continue
            }
            if scalar == "\"" && atFieldStart {
                quoted = true
                opened = line
            }
            atFieldStart = scalar == ","
        }
        return quoted ? opened : nil
    }

    /// The number of rows that cannot be registered, the file read and each row checked on its own (what the
    /// request log records of an import: counts, never the addresses).
    package static func invalidRowCount(_ contents: Contents) -> Int {
        contents.rows.count { if case .invalid = check($0) { true } else { false } }
    }

    /// Checks a row on its own: its kind, its address (canonical, as the key store keeps it) and its description.
    package static func check(_ row: Row) -> Checked {
        if let unknownKind = row.unknownKind {
            return .invalid(
                Problem(line: row.line, field: "kind", reason: "'\(unknownKind.prefix(40))' is not IPV4 or MAC"))
        }
        let value = row.value.trimmingCharacters(in: .whitespaces)
        guard !value.isEmpty else { return .invalid(Problem(line: row.line, field: "value", reason: "is empty")) }
        let kind = row.kind ?? (MACAddress(value) != nil ? .mac : .ipv4)
        // A description is shown in consoles and tables: control characters (a NUL that would cut it short, a
        // terminal's escape sequences) are refused rather than stored. Tabs and line breaks (a spreadsheet cell over
        // two lines) are kept.
        if row.description.unicodeScalars.contains(where: {
            $0.properties.generalCategory == .control && $0 != "\t" && $0 != "\n" && $0 != "\r"
        }) {
            return .invalid(Problem(line: row.line, field: "description", reason: "has control characters"))
        }
        do throws(Rejection) {
            let canonical = try Engine.canonicalAuthValue(kind: kind, value)
            try Engine.validateDescription(row.description)
            return .valid(CheckedRow(line: row.line, kind: kind, value: canonical, description: row.description))
        } catch {
            // The engine's reasons name the JSON member; a file's reader wants the column and the problem alone.
            var reason = error.reason.replacingOccurrences(of: "field '\(error.field ?? "")' ", with: "")
            // "'x': 'x' is not an IPv4 address" says the value once.
            let quoted = "'\(value.prefix(64))'"
            if reason.hasPrefix(quoted + ": "), reason.dropFirst(quoted.count + 2).contains(quoted) {
                reason.removeFirst(quoted.count + 2)
            }
            return .invalid(Problem(line: row.line, field: error.field ?? "value", reason: reason))
        }
    }

    /// Where a file keeps each part of a row.
    struct Columns {
        var value: Int
        var description: Int?
        var kind: Int?
        /// The kind the value column's name gives (`mac address`), when the file has no `kind` column.
        var namedKind: AuthKind?

        static let positional = Columns(value: 0, description: 1, kind: nil, namedKind: nil)

        static let valueNames: [String: AuthKind?] = [
            "value": nil, "address": nil, "ip": .ipv4, "ipv4": .ipv4, "ip address": .ipv4, "ipv4 address": .ipv4,
            "cidr": .ipv4, "mac": .mac, "mac address": .mac,
        ]

        /// A header row: one naming the value column. A row whose first cell is an address is data, not a header.
        init?(header cells: [String]) {
            let names = cells.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard let valueIndex = names.firstIndex(where: { Self.valueNames[$0] != nil }) else { return nil }
            value = valueIndex
            namedKind = Self.valueNames[names[valueIndex]] ?? nil
            description = names.firstIndex { $0 == "description" || $0 == "memo" }
            kind = names.firstIndex { $0 == "kind" || $0 == "type" }
        }

        init(value: Int, description: Int?, kind: Int?, namedKind: AuthKind?) {
            self.value = value
            self.description = description
            self.kind = kind
            self.namedKind = namedKind
        }

        func row(_ cells: [String], line: Int) -> Row {
            func cell(_ index: Int?) -> String? {
                guard let index, index < cells.count else { return nil }
                return cells[index]
            }
            var kind = namedKind
            var unknownKind: String?
            if let written = cell(self.kind)?.trimmingCharacters(in: .whitespaces), !written.isEmpty {
                switch written.uppercased() {
                case "IPV4", "IP", "IPS", "IPV4S": kind = .ipv4
                case "MAC", "MACS": kind = .mac
                default: unknownKind = written
                }
            }
            return Row(
                line: line, kind: kind, unknownKind: unknownKind, value: cell(value) ?? "",
                description: cell(description) ?? "")
        }
    }
}
