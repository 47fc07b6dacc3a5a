import Crypto
import Foundation
import Mustache
import SKMPrimitives

/// The bar the triage page shows above a report: what was analysed, the filters and the downloads.
///
/// Every value is HTML-escaped by the template; the caller passes text from uploads (file names, clients, keys)
/// as it is, and this type makes it visible (``shown(_:)``).
package struct TriageBar: Sendable {
    /// One option of a filter's list.
    package struct Choice: Sendable {
        package var value: String
        package var label: String
        package var selected: Bool

        package init(value: String, label: String, selected: Bool) {
            self.value = SKMReport.shown(value)
            self.label = SKMReport.shown(label)
            self.selected = selected
        }
    }

    package var analysis: String
    package var inputs: String
    /// The current filters as a query string, `?…` or empty, for the download links.
    package var query: String
    package var filtered: Bool
    package var errors: [Choice]
    package var verdicts: [Choice]
    package var keys: [Choice]
    package var clients: [Choice]
    package var since: String
    package var until: String
    /// "Showing 2 of 5 groups", when a filter hides some.
    package var notes: [String]

    package init(
        analysis: String, inputs: String, query: String, filtered: Bool, errors: [Choice], verdicts: [Choice],
        keys: [Choice], clients: [Choice], since: String, until: String, notes: String?
    ) {
        self.analysis = analysis
        self.inputs = SKMReport.shown(inputs)
        self.query = query
        self.filtered = filtered
        self.errors = errors
        self.verdicts = verdicts
        self.keys = keys
        self.clients = clients
        self.since = SKMReport.shown(since)
        self.until = SKMReport.shown(until)
        self.notes = SKMReport.shown(notes)
    }
}

/// The triage page's own pages: the upload form (with an error, when an upload was refused) and the policy and
/// style every triage page carries.
package enum TriagePages {
    /// The report's style and the triage bar's and form's.
    static let style = HTMLReportRenderer.style + String(decoding: PackageResources.triage_css, as: UTF8.self)

    /// The report page's policy, with forms allowed to submit to the page's own origin; in each page's meta tag.
    package static let policy: String = {
        let styleHash = Data(SHA256.hash(data: Data(style.utf8))).base64EncodedString()
        let scriptHash = Data(SHA256.hash(data: Data(HTMLReportRenderer.script.utf8))).base64EncodedString()
        return "default-src 'none'; style-src 'sha256-\(styleHash)'; script-src 'sha256-\(scriptHash)'; "
            + "img-src 'none'; base-uri 'none'; form-action 'self'"
    }()

    /// The policy in each answer's header: the same, and no page may frame this one (which only a header can say).
    package static let headerPolicy = policy + "; frame-ancestors 'none'"

    struct Recent {
        let id: String
        let title: String
    }

    struct Upload {
        let policy: String
        let style: String
        let error: [String]
        let limit: String
        let recent: [Recent]
        let anyRecent: Bool
        let footer: String
    }

    /// The upload form; `error` says why the last upload was refused.
    package static func upload(
        error: String?, limit: Int, recent: [(id: String, title: String)], version: String
    ) -> [UInt8] {
        let page = Upload(
            policy: policy, style: style, error: shown(error), limit: size(limit),
            recent: recent.map { Recent(id: $0.id, title: shown($0.title)) }, anyRecent: !recent.isEmpty,
            footer: "SKM \(shown(version)). Uploads stay on this machine, in a temporary folder removed when skm "
                + "triage stops.")
        return Array((HTMLReportRenderer.templates.render(page, withTemplate: "triage-upload") ?? "").utf8)
    }

    /// `512 MB`, `1 GB`.
    package static func size(_ bytes: Int) -> String {
        bytes >= 1 << 30 && bytes % (1 << 30) == 0 ? "\(bytes >> 30) GB" : "\(grouped(bytes >> 20)) MB"
    }
}
