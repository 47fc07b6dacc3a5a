import Foundation
import SKMCore
import SKMPrimitives

/// A plain-text table for terminal output.
struct Table {
    var headers: [String]
    var rows: [[String]] = []

    init(_ headers: String...) {
        self.headers = headers
    }

    mutating func add(_ cells: String...) {
        rows.append(cells)
    }

    mutating func add(_ cells: [String]) {
        rows.append(cells)
    }

    var rendered: String {
        let clean = rows.map { $0.map(Self.printable) }
        var widths = headers.map(\.count)
        for row in clean {
            for (index, cell) in row.enumerated() where index < widths.count {
                widths[index] = max(widths[index], cell.count)
            }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                index == cells.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
        var lines = [line(headers), line(widths.map { String(repeating: "─", count: $0) })]
        lines += clean.map(line)
        if rows.isEmpty { lines.append("(none)") }
        return lines.joined(separator: "\n")
    }

    func print() {
        Swift.print(rendered)
    }

    /// Control characters (including escape sequences) and bidirectional overrides are shown, not obeyed.
    static func printable(_ text: String) -> String {
        PrintableText.escaped(text)
    }
}

/// Key-value lines for one record.
struct Details {
    var pairs: [(String, String)] = []

    mutating func add(_ name: String, _ value: String?) {
        pairs.append((name, value ?? "—"))
    }

    func print() {
        let width = pairs.map(\.0.count).max() ?? 0
        for (name, value) in pairs {
            Swift.print("\(name.padding(toLength: width, withPad: " ", startingAt: 0))  \(Table.printable(value))")
        }
    }
}

func printJSON<T: Encodable>(_ value: T) throws {
    let data = try StateCoding.encoder().encode(value)
    print(String(decoding: data, as: UTF8.self))
}

func printJSON(_ value: JSONValue) {
    print(JSONWriter(indented: true).string(value))
}

func display(_ date: Date?) -> String {
    date.map(Timestamp.rfc3339) ?? "—"
}

func yesNo(_ flag: Bool) -> String { flag ? "Y" : "N" }
