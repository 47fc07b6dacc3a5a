import Crypto
import Foundation
import Mustache
import SKMCore
import SKMPrimitives

/// The report as one self-contained HTML page: its style, inline SVG charts, a little script for the filter box, and
/// nothing loaded from anywhere.
///
/// The page comes from templates (`Resources/*.mustache`) whose every value the template engine HTML-escapes; the
/// view model (``HTMLReportPage``) shows control characters and bidirectional overrides of untrusted text as
/// `\u{…}`. A Content-Security-Policy meta tag allows exactly the page's own style and script, by the hashes of the
/// resources compiled into SKM, and nothing else, so even a mistake in escaping could not load or run anything.
/// Without JavaScript the page is complete (the filter box stays hidden); printed, every section is expanded.
package struct HTMLReportRenderer: Sendable {
    package init() {}

    package func render(_ report: IncidentReport) -> [UInt8] {
        let page = HTMLReportPage(report, policy: Self.policy, style: Self.style, script: Self.script)
        return Array((Self.templates.render(page, withTemplate: "report") ?? "").utf8)
    }

    /// The report on the triage page: the same page with the triage bar (filters, downloads) above it, its own
    /// style added, and forms allowed to go to the page's own origin.
    package func render(_ report: IncidentReport, triage: TriageBar) -> [UInt8] {
        var page = HTMLReportPage(
            report, policy: TriagePages.policy, style: TriagePages.style, script: Self.script)
        page.triage = [triage]
        return Array((Self.templates.render(page, withTemplate: "report") ?? "").utf8)
    }

    /// The page's style and script, from `Resources/`.
    static let style = String(decoding: PackageResources.report_css, as: UTF8.self)
    static let script = String(decoding: PackageResources.report_js, as: UTF8.self)

    /// The policy: the page's own style and script by their SHA-256, nothing else.
    static let policy: String = {
        let styleHash = Data(SHA256.hash(data: Data(style.utf8))).base64EncodedString()
        let scriptHash = Data(SHA256.hash(data: Data(script.utf8))).base64EncodedString()
        return "default-src 'none'; style-src 'sha256-\(styleHash)'; script-src 'sha256-\(scriptHash)'; "
            + "img-src 'none'; base-uri 'none'; form-action 'none'"
    }()

    /// The page's templates, by name (the partials' names in `{{> name}}`).
    package static let templateSources: [String: [UInt8]] = [
        "report": PackageResources.report_mustache, "summary": PackageResources.summary_mustache,
        "charts": PackageResources.charts_mustache, "groups": PackageResources.groups_mustache,
        "group": PackageResources.group_mustache, "simulation": PackageResources.simulation_mustache,
        "finding": PackageResources.finding_mustache, "keys": PackageResources.keys_mustache,
        "inputs": PackageResources.inputs_mustache, "triage-bar": PackageResources.triage_bar_mustache,
        "triage-upload": PackageResources.triage_upload_mustache,
    ]

    /// The templates, parsed once. They are compiled into SKM and parsed by a test, so a parse failure here is a
    /// build defect, not a run-time condition.
    package static let templates: MustacheLibrary = {
        // Each template selects this escaping on its first line, `{{% CONTENT_TYPE: SKM-HTML}}`.
        MustacheContentTypes.register(ScalarHTMLEscaping(), named: "SKM-HTML")
        var library = MustacheLibrary()
        for (name, bytes) in templateSources {
            do {
                try library.register(String(decoding: bytes, as: UTF8.self), named: name)
            } catch {
                preconditionFailure("Resources/\(name).mustache does not parse: \(error)")
            }
        }
        return library
    }()
}

/// HTML escaping by Unicode scalar. The template engine's own escaping compares whole characters (grapheme clusters),
/// so a `<` joined to a prepended or combining mark (U+0600 before it, U+0301 after it) would pass unescaped while a
/// browser still reads a `<`; this escapes every `&`, `<`, `>`, `"` and `'` scalar whatever surrounds it.
struct ScalarHTMLEscaping: MustacheContentType {
    func escapeText(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 == 0x26 || $0 == 0x3C || $0 == 0x3E || $0 == 0x22 || $0 == 0x27 }) else {
            return text
        }
        var output = ""
        output.reserveCapacity(text.utf8.count + 16)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": output += "&amp;"
            case "<": output += "&lt;"
            case ">": output += "&gt;"
            case "\"": output += "&quot;"
            case "'": output += "&#39;"
            default: output.unicodeScalars.append(scalar)
            }
        }
        return output
    }
}
