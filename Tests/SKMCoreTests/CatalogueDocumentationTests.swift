import Foundation
import SKMCore
import SKMTestSupport
import Testing

@Suite struct CatalogueDocumentationTests {
    @Test(arguments: APIError.allCases)
    func errorsPageListsEveryEntry(_ error: APIError) throws {
        let page = try String(contentsOf: packageRoot.appendingPathComponent("docs/errors.md"), encoding: .utf8)
        let row = "| \(error.resultCode) | \(error.resultMessage) | \(error.httpStatus) | `\(error.identifier)` |"
        #expect(page.contains(row), "docs/errors.md lacks: \(row)")
    }

    @Test func messagesAreTheDocumentedStrings() {
        #expect(APIError(resultMessage: "Invalid Key Id") == .invalidKeyID)
        #expect(APIError(resultMessage: "ipv4 auth failure") == .ipv4AuthFailure)
        #expect(APIError(resultMessage: "Something Else") == nil)
        #expect(Set(APIError.allCases.map(\.resultCode)).count == APIError.allCases.count)
    }
}
