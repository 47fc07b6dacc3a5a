import Foundation
import SKMPrimitives
import X509

/// Step 6 of the decision procedure: a key store's client authentication.
///
/// Factors are checked in the order IPv4, MAC, certificate. In AND mode every enabled factor must pass and the
/// first that fails is the answer; in OR mode one passing factor is enough, and when none passes the first
/// enabled factor's failure is the answer.
package struct ClientAuthenticator: Sendable {
    package let authority: CertificateAuthority

    package init(authority: CertificateAuthority) {
        self.authority = authority
    }

    /// One factor's verdict.
    package enum Verdict: Sendable, Hashable {
        case passed(entryId: Int)
        case failed(Rejection)
    }

    /// A key store's entries made ready for checking clients: the addresses and networks, MAC addresses and
    /// certificate fingerprints read once, not on every call (a store may register hundreds).
    package struct Entries: Sendable {
        package let all: [AuthEntry]
        /// Each IPv4 entry's network (a single address is a /32), in the entries' order, with its position.
        let networks: [(network: IPv4Network, entry: Int)]
        let macs: [(mac: MACAddress, entry: Int)]
        let certificates: [(sha256: String, entry: Int)]

        package init(_ entries: [AuthEntry]) {
            all = entries
            var networks: [(network: IPv4Network, entry: Int)] = []
            var macs: [(mac: MACAddress, entry: Int)] = []
            var certificates: [(sha256: String, entry: Int)] = []
            for (index, entry) in entries.enumerated() {
                switch entry.kind {
                case .ipv4: if let network = IPv4Network(entry.value) { networks.append((network, index)) }
                case .mac: if let mac = MACAddress(entry.value) { macs.append((mac, index)) }
                case .certificate:
                    if let sha256 = entry.certificate?.sha256 { certificates.append((sha256, index)) }
                }
            }
            self.networks = networks
            self.macs = macs
            self.certificates = certificates
        }
    }

    /// Every factor, in the order client authentication checks those a key store enables.
    private static let factorOrder: [AuthKind] = [.ipv4, .mac, .certificate]

    /// Checks `client` against `store` and its `entries` at `now`: the ids of the entries that let it in, or the
    /// rejection.
    package func authenticate(
        _ client: ClientIdentity, store: KeyStore, entries: [AuthEntry], at now: Date
    ) -> Result<[Int], Rejection> {
        authenticate(client, store: store, entries: Entries(entries), at: now)
    }

    /// ``authenticate(_:store:entries:at:)`` with the entries made ready once (``KeyContext`` keeps them so).
    package func authenticate(
        _ client: ClientIdentity, store: KeyStore, entries: Entries, at now: Date
    ) -> Result<[Int], Rejection> {
        var firstFailure: Rejection?
        var passed: [Int] = []
        // In the documented order, without making the list of enabled factors (an array per data call).
        for factor in Self.factorOrder where store.uses(factor) {
            switch check(factor, client, entries: entries, at: now) {
            case .passed(let entryId):
                passed.append(entryId)
                if store.authMode == .or { return .success(passed) }
            case .failed(let rejection):
                if store.authMode == .and { return .failure(rejection) }
                if firstFailure == nil { firstFailure = rejection }
            }
        }
        if let firstFailure { return .failure(firstFailure) }
        return .success(passed)
    }

    package func check(_ factor: AuthKind, _ client: ClientIdentity, entries: [AuthEntry], at now: Date) -> Verdict {
        check(factor, client, entries: Entries(entries), at: now)
    }

    package func check(_ factor: AuthKind, _ client: ClientIdentity, entries: Entries, at now: Date) -> Verdict {
        switch factor {
        case .ipv4: return checkAddress(client, entries)
        case .mac: return checkMAC(client, entries)
        case .certificate: return checkCertificate(client, entries, at: now)
        }
    }

    private func checkAddress(_ client: ClientIdentity, _ entries: Entries) -> Verdict {
        guard let address = client.address else {
            let seen = client.peerAddress.map { "'\($0)'" } ?? "no address"
            return .failed(Rejection(.addressObserved, "the client's address (\(seen)) is not an IPv4 address"))
        }
        // The common case first, without collecting the matching entries: one In Service.
        for candidate in entries.networks where candidate.network.contains(address) {
            let entry = entries.all[candidate.entry]
            if entry.status == .inService { return .passed(entryId: entry.id) }
        }
        let matching = entries.networks.filter { $0.network.contains(address) }.map { entries.all[$0.entry] }
        // The server judged the proxy's own address: X-Forwarded-For came from a peer it does not trust.
        if client.forwardedFor != nil, client.peerAddress == address.description {
            return .failed(
                Rejection(
                    .notThroughUntrustedProxy,
                    "\(address) is an untrusted proxy's address (X-Forwarded-For was not believed) and is not registered"
                ))
        }
        if let waiting = matching.first(where: { $0.status.awaitsApproval }) {
            return .failed(Rejection(.addressApproved, "\(address) matches \(waiting.value), \(Self.waiting(waiting))"))
        }
        let live = matching.filter { $0.status != .deleted }
        if let pending = live.first {
            return .failed(
                Rejection(.addressInService, "\(address) matches \(pending.value), which is pending deletion"))
        }
        if let deleted = matching.last {
            return .failed(
                Rejection(.addressNotDeleted, "\(address) matched \(deleted.value), whose entry was deleted"))
        }
        return .failed(Rejection(.addressRegistered, "\(address) is not registered in the key store"))
    }

    private func checkMAC(_ client: ClientIdentity, _ entries: Entries) -> Verdict {
        guard let header = client.macHeader else {
            return .failed(Rejection(.macHeaderPresent, "the request has no X-TOAST-CLIENT-MAC-ADDR header"))
        }
        guard let mac = MACAddress(header) else {
            return .failed(Rejection(.macHeaderWellFormed, "the X-TOAST-CLIENT-MAC-ADDR header is not a MAC address"))
        }
        let matching = entries.macs.filter { $0.mac == mac }.map { entries.all[$0.entry] }
        if let entry = matching.first(where: { $0.status == .inService }) { return .passed(entryId: entry.id) }
        if let waiting = matching.first(where: { $0.status.awaitsApproval }) {
            return .failed(Rejection(.macApproved, "MAC \(mac) is registered, \(Self.waiting(waiting))"))
        }
        if matching.contains(where: { $0.status == .pendingDeletion }) {
            return .failed(Rejection(.macInService, "MAC \(mac) is registered but pending deletion"))
        }
        if !matching.isEmpty {
            return .failed(Rejection(.macNotDeleted, "MAC \(mac) was registered, and its entry was deleted"))
        }
        return .failed(Rejection(.macRegistered, "MAC \(mac) is not registered in the key store"))
    }

    private func checkCertificate(_ client: ClientIdentity, _ entries: Entries, at now: Date) -> Verdict {
        let found = client.certificateChain.first.map(authority.examine)
        switch authority.check(found, at: now) {
        case .absent:
            let why = client.tls ? "no client certificate was presented" : "the request did not come over TLS"
            return .failed(Rejection(.certificatePresented, why))
        case .untrusted(let why):
            let check: DecisionCheck
            switch why {
            case .otherIssuer: check = .issuedByThisCA
            case .badSignature: check = .signatureVerifies
            case .notForClientAuthentication: check = .clientAuthenticationUsage
            }
            return .failed(Rejection(check, "the client certificate is \(why)"))
        case .notYetValid(let notBefore):
            return .failed(
                Rejection(.certificateStarted, "the client certificate is valid from \(Timestamp.rfc3339(notBefore))"))
        case .expired(let notAfter):
            return .failed(
                Rejection(.certificateNotExpired, "the client certificate expired at \(Timestamp.rfc3339(notAfter))"))
        case .valid:
            break
        }
        let fingerprint = found?.sha256
        let matching = entries.certificates.filter { $0.sha256 == fingerprint }.map { entries.all[$0.entry] }
        if let entry = matching.first(where: { $0.status == .inService }) { return .passed(entryId: entry.id) }
        if let waiting = matching.first(where: { $0.status.awaitsApproval }) {
            return .failed(
                Rejection(
                    .certificateApproved, "certificate '\(waiting.value)' is registered, \(Self.waiting(waiting))"))
        }
        if let entry = matching.first(where: { $0.status == .pendingDeletion }) {
            return .failed(Rejection(.certificateInService, "certificate '\(entry.value)' is pending deletion"))
        }
        if let entry = matching.last {
            return .failed(Rejection(.certificateNotDeleted, "certificate '\(entry.value)' was deleted"))
        }
        return .failed(Rejection(.certificateRegistered, "the certificate is not registered in the key store"))
    }

    /// "whose registration was requested by cli:jkim at … and waits for approval".
    static func waiting(_ entry: AuthEntry) -> String {
        let what = entry.status == .pendingApproval ? "registration" : "cancelled deletion"
        return "whose \(what) was requested by \(entry.lastChange.user) at \(Timestamp.rfc3339(entry.lastChange.at)) "
            + "and waits for approval"
    }
}
