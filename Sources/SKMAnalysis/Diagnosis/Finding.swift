import Foundation
import SKMCore
import SKMRules

/// What the analyser concluded about one failed request.
public struct Finding: Sendable {
    /// How the diagnosis relates to what the server answered (DESIGN §9).
    public enum Verdict: String, Sendable, Hashable, CaseIterable, Comparable {
        /// The rules find a cause for the logged error, and replaying the decision procedure gives the same error.
        case confirmed
        /// The state says the server should have answered differently: it changed around the request, the
        /// snapshot is not of this server, or there is a bug. Escalate.
        case mismatch
        /// No rule finds a cause, or the capture lacks what would decide it.
        case unexplained

        public static func < (lhs: Verdict, rhs: Verdict) -> Bool {
            allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
        }
    }

    public var request: CapturedRequest
    /// The logged error; `nil` when the response carried no catalogue code.
    public var observed: APIError?
    /// The rule that explains the logged error, and what each of its checks said.
    public var rule: Rule?
    public var outcome: RuleOutcome?
    /// The first failing check of that rule: the diagnosed cause.
    public var cause: CheckOutcome?
    /// The cause's explanation and fix, rendered on the facts.
    public var explanation: String?
    public var fix: String?
    /// The audit event the cause names (who did what, when), when there is one.
    public var event: Value?
    /// What replaying the whole decision procedure says the server should have answered.
    public var prediction: Prediction
    public var verdict: Verdict
    /// Why the verdict is not *confirmed*, in a sentence.
    public var note: String?
    /// Facts the capture lacked that would settle the diagnosis, with how to learn them.
    public var missing: [Unknown.Fact]

    /// The identity of the client, for grouping: its address, else its MAC header, else its certificate.
    public var client: String {
        let observed = request.record.client
        if !request.clientAddressKnown { return "unknown" }
        return observed.ip ?? observed.peer ?? observed.macHeader ?? observed.cert.sha256.map {
            "cert:\($0.prefix(16))"
        }
            ?? "unknown"
    }

    /// The fingerprint triage groups by: rule, failed check, appkey, key and client.
    public var fingerprint: Fingerprint {
        Fingerprint(
            rule: rule?.id ?? "UNEXPLAINED", check: cause?.check.id ?? (verdict == .unexplained ? "none" : "-"),
            appkey: request.record.appkey ?? "", key: request.record.keyId ?? "", client: client,
            code: request.record.response.resultCode)
    }
}

/// What makes two findings the same problem.
public struct Fingerprint: Sendable, Hashable, Comparable {
    public var rule: String
    public var check: String
    public var appkey: String
    public var key: String
    public var client: String
    public var code: Int

    public static func < (lhs: Fingerprint, rhs: Fingerprint) -> Bool {
        (lhs.rule, lhs.check, lhs.appkey, lhs.key, lhs.client, lhs.code)
            < (rhs.rule, rhs.check, rhs.appkey, rhs.key, rhs.client, rhs.code)
    }

    /// A short stable identifier for links and tickets.
    public var identifier: String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in "\(rule)|\(check)|\(appkey)|\(key)|\(client)|\(code)".utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
        return String(hash, radix: 16).leftPadded(to: 16)
    }
}

extension String {
    func leftPadded(to length: Int, with pad: Character = "0") -> String {
        count >= length ? self : String(repeating: pad, count: length - count) + self
    }
}
