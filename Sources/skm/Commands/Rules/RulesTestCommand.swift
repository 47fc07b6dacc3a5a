import ArgumentParser
import SKMRules

struct RulesTestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Run the tests embedded in rule files, and check that every check has a test that makes it fail.")

    @OptionGroup var rules: RulePaths

    func run() async throws {
        let set = try rules.load()
        let report = set.runTests()
        for failure in report.failures { Terminal.error(failure.description) }
        for check in report.untestedChecks { Terminal.error("no test makes \(check) fail") }
        print(
            "\(report.passed) passed, \(report.failures.count) failed, \(report.untestedChecks.count) checks untested")
        if !report.succeeded { throw CommandFailure(message: "", exitCode: 1) }
    }
}
