/// The XML Schema of incident reports, from `Resources/incident-report.xsd`. `Schemas/incident-report.xsd` is the same
/// text (a test keeps them equal), and `skm analyze --validate` checks each XML report against it as it is written.
package enum IncidentReportSchema {
    package static let xsd = String(decoding: PackageResources.incident_report_xsd, as: UTF8.self)
}
