import ArgumentParser
import Foundation
import SKMCore

struct AuthImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Register the IPv4 and MAC addresses of a CSV file in a key store: every row, or none.",
        discussion: """
            Each row is an address (IPv4, CIDR or MAC) and, optionally, a description. A first row naming its \
            columns is a header: value (or ip, ipv4, mac, address), description, and kind (IPV4 or MAC); without \
            one, the first column is the address and the second its description. A row's kind is its kind cell, \
            else its column's name, else what the address looks like. Quoted fields, CRLF line ends and a UTF-8 \
            byte-order mark are read as spreadsheets write them; blank rows are skipped; at most 10000 rows.

            Every row is checked before any is registered: when one cannot be, nothing is, and each bad row is \
            listed with its line (exit status 1). --skip-invalid registers the others. Addresses the key store \
            already has, or that an earlier row gives, are listed as duplicates and left out. All entries are \
            registered in one transaction, each with its own audit event (auth.add).
            """)

    @OptionGroup var installation: InstallationOptions
    @OptionGroup var appkey: AppkeyOption
    @OptionGroup var output: OutputOptions

    @Option(help: "The key store's id or name.")
    var keystore: String

    @Flag(help: "Register the valid rows and list the others, instead of registering nothing.")
    var skipInvalid = false

    @Flag(help: "Check the file and say what would be registered; change nothing.")
    var dryRun = false

    @Argument(help: ArgumentHelp("The CSV file; - reads standard input.", valueName: "file.csv"))
    var file: String

    func run() async throws {
        let data: Data
        do {
            data =
                file == "-"
                ? FileHandle.standardInput.readDataToEndOfFile()
                : try Data(contentsOf: URL(fileURLWithPath: file))
        } catch {
            throw CommandFailure.setup("\(file): cannot read the file")
        }
        guard data.count <= 16 << 20 else { throw CommandFailure.setup("\(file): over 16 MB; split it into files") }
        guard let text = String(data: data, encoding: .utf8) else {
            throw CommandFailure.setup("\(file): not UTF-8 text (save the CSV as UTF-8)")
        }
        let engine = try await installation.openEngine()
        let report = try await engine.importAuthEntries(
            appkey: try await resolveAppkey(appkey.appkey, engine: engine), store: keyStoreReference(keystore),
            csv: text, skipInvalid: skipInvalid, checkOnly: dryRun, actor: commandLineActor)
        let refused = !report.invalid.isEmpty && (!skipInvalid || report.invalid.contains { $0.field == "file" })
        if output.json {
            printJSON(Engine.importJSON(report))
        } else {
            print(summary(report))
        }
        if refused {
            throw CommandFailure.refused(
                dryRun
                    ? "\(file): \(report.invalid.count) row(s) cannot be registered"
                    : "\(file): nothing registered; correct the rows listed, or run again with --skip-invalid")
        }
    }

    func summary(_ report: AuthImportReport) -> String {
        var lines: [String] = []
        if !report.invalid.isEmpty {
            var table = Table("LINE", "COLUMN", "CANNOT BE REGISTERED")
            for problem in report.invalid { table.add(String(problem.line), problem.field, problem.reason) }
            lines.append(table.rendered)
        }
        if !report.duplicates.isEmpty {
            var table = Table("LINE", "COLUMN", "LEFT OUT")
            for problem in report.duplicates { table.add(String(problem.line), problem.field, problem.reason) }
            lines.append(table.rendered)
        }
        func plural(_ count: Int, _ one: String, _ many: String) -> String { "\(count) \(count == 1 ? one : many)" }
        let rowProblems = report.invalid.filter { $0.field != "file" }.count
        let registrable = max(0, report.rows - rowProblems - report.duplicates.count)
        var notes: [String] = []
        if !report.duplicates.isEmpty {
            notes.append(plural(report.duplicates.count, "duplicate", "duplicates") + " left out")
        }
        let closing: String
        if let fileProblem = report.invalid.first(where: { $0.field == "file" }) {
            closing = "\(dryRun ? "Would register" : "Registered") nothing: the file \(fileProblem.reason)."
        } else if dryRun {
            if rowProblems > 0 { notes.append(plural(rowProblems, "row cannot", "rows cannot") + " be registered") }
            closing =
                "Would register \(plural(registrable, "entry", "entries")) from \(plural(report.rows, "row", "rows"))"
                + (notes.isEmpty ? "" : "; " + notes.joined(separator: "; ")) + "."
        } else if report.applied {
            if rowProblems > 0 { notes.append(plural(rowProblems, "invalid row", "invalid rows") + " skipped") }
            closing =
                "Registered \(plural(report.added.count, "entry", "entries")) from \(plural(report.rows, "row", "rows"))"
                + (notes.isEmpty ? "" : "; " + notes.joined(separator: "; ")) + "."
                + (report.added.contains { $0.entry.status == .pendingApproval }
                    ? " They wait for approval (skm approval list)." : "")
        } else {
            closing =
                "Registered nothing: \(plural(rowProblems, "row cannot", "rows cannot")) be registered. Correct "
                + (rowProblems == 1 ? "it" : "them") + ", or run again with --skip-invalid to register the other "
                + plural(registrable, "entry", "entries")
                + (notes.isEmpty ? "" : " (" + notes.joined(separator: "; ") + ")") + "."
        }
        lines.append(closing)
        return lines.joined(separator: "\n\n")
    }
}
