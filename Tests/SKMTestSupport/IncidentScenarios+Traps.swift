import Foundation
import SKMAnalysis
import SKMCore
import SKMPrimitives
import X509

/// Incidents that test what a verdict may promise: hostile input, several causes at once, a state read through
/// the API, tokens of another project, OR mode.
extension IncidentScenario {
    /// What a hostile client puts in the fields a report quotes: markup, script, `javascript:` URLs, a
    /// right-to-left override and invalid UTF-8. Reports must show all of it as text.
    package static let hostileLog = IncidentScenario(
        name: "hostile-log",
        summary: """
            Requests whose headers, paths and bodies carry markup and script (<script>, "><img onerror=…>, \
            javascript: URLs), a U+202E override and invalid UTF-8. The analysis must go on and every report must \
            show them as inert text.
            """, har: false,
        run: { workshop in
            let (appkey, access) = try await workshop.appkey("hostile")
            let store = try await workshop.store(appkey, "hostile", ip4: true, mac: true, mode: .and)
            try await workshop.allow(appkey, store, .ipv4, "10.66.0.0/16")
            try await workshop.allow(appkey, store, .mac, "aa:bb:cc:00:66:66")
            let key = try await workshop.key(appkey, store, .symmetric, "target")
            let script = "<script>document.documentElement.setAttribute('data-pwned','script')</script>"
            let image = #""><img src=x onerror="document.documentElement.setAttribute('data-pwned','img')">"#
            for index in 0..<10 {
                await workshop.encrypt(
                    appkey, key.id, "fine \(index)", from: .at("10.66.1.1", mac: "aa:bb:cc:00:66:66"))
            }
            await workshop.encrypt(appkey, key.id, "x", from: .at("10.66.1.1", mac: script))
            await workshop.encrypt(
                appkey, key.id, "x",
                from: ClientIdentity(
                    address: IPv4Address("10.66.1.2"), peerAddress: "10.66.1.2", forwardedFor: image,
                    macHeader: "\u{202E}evil", tls: true))
            await workshop.send(
                HTTPCall("GET", "/keymanager/v1.2/appkey/\(appkey)/javascript:alert(1)//<b>bold</b>"),
                from: .at("10.66.1.3"))
            await workshop.send(
                HTTPCall(
                    "POST", Workshop.path(appkey, "keys/symmetric-keys/create"),
                    headers: [
                        ("X-TC-AUTHENTICATION-ID", access.accessKey.id), ("X-TC-AUTHENTICATION-SECRET", access.secret),
                    ],
                    body: HTTPCall.json([
                        ("keyStoreName", .string("\u{202E}gnp.exe" + image)), ("name", .string(script)),
                    ])),
                from: .at("10.66.1.4"))
        },
        tamper: { log in
            // One line gets invalid UTF-8 (a lone continuation byte and a truncated sequence) in its request id, and
            // a request id that is markup.
            var text = [UInt8](log)
            if let range = text.firstRange(of: Array(#""requestId":"req-000011""#.utf8)) {
                text.replaceSubrange(
                    range, with: Array(#""requestId":"req-0000"#.utf8) + [0x80, 0xE2, 0x82] + Array("11\"".utf8))
            }
            if let range = text.firstRange(of: Array(#""requestId":"req-000012""#.utf8)) {
                text.replaceSubrange(range, with: Array(#""requestId":"<img src=x onerror=alert(2)>""#.utf8))
            }
            return Data(text)
        })

    package static let releaseBreaksThreeWays = IncidentScenario(
        name: "release-breaks-three-ways",
        summary: """
            A release of the reporting service breaks it three ways at once, from one host: its key id setting is \
            empty (POST …/symmetric-keys//decrypt), its vault holds a stale User Access Key secret, and a sidecar \
            sends a bearer token minted by the staging installation. Its archive decrypts also hit version 0 of \
            key "exports", whose deletion was scheduled a week earlier and took effect an hour before, and version \
            2, pending deletion. Each cause is its own group.
            """, har: false
    ) { workshop in
        let (appkey, access) = try await workshop.appkey("reporting")
        let store = try await workshop.store(appkey, "reports", ip4: true)
        try await workshop.allow(appkey, store, .ipv4, "10.30.0.0/24")
        let key = try await workshop.key(appkey, store, .symmetric, "exports")
        let host = ClientIdentity.at("10.30.0.8")
        var byVersion: [Int: [String]] = [:]
        for version in 0...3 {
            if version > 0 { _ = try await workshop.engine.rotateKey(appkey: appkey, keyId: key.id, actor: "cli:ops") }
            for index in 0..<6 {
                if let blob = await workshop.encrypt(appkey, key.id, "report \(version)-\(index)", from: host) {
                    byVersion[version, default: []].append(blob)
                }
            }
        }
        _ = try await workshop.engine.scheduleVersionDeletion(
            appkey: appkey, keyId: key.id, version: 0, actor: "cli:jkim")
        workshop.wait(8 * day)
        _ = await workshop.engine.runDueWork()
        _ = try await workshop.engine.scheduleVersionDeletion(
            appkey: appkey, keyId: key.id, version: 2, actor: "cli:jkim")
        workshop.wait(3600)
        // The staging installation's token: signed by another system key.
        let staging = try await Workshop(seed: 77)
        let (_, stagingAccess) = try await staging.appkey("reporting staging")
        let minted = await staging.engine.execute(
            APIRequest(
                operation: .createToken, appkey: "", body: .json(["grant_type": "client_credentials"]),
                credentials: Credentials(
                    userAccessKeyID: stagingAccess.accessKey.id, userAccessKeySecret: stagingAccess.secret)),
            from: .anonymous)
        let foreignToken = minted.body?["access_token"]?.stringValue ?? ""
        for round in 0..<6 {
            for blob in byVersion[0] ?? [] where round % 2 == 0 {
                await workshop.decrypt(appkey, key.id, blob, from: host)
            }
            for blob in byVersion[2] ?? [] where round % 3 == 0 {
                await workshop.decrypt(appkey, key.id, blob, from: host)
            }
            for blob in byVersion[3] ?? [] { await workshop.decrypt(appkey, key.id, blob, from: host) }
            await workshop.send(
                HTTPCall(
                    "POST", Workshop.path(appkey, "symmetric-keys//decrypt"), headers: workshop.headers(host),
                    body: HTTPCall.json([("ciphertext", .string(byVersion[3]?.first ?? ""))])),
                from: host)
            await workshop.send(
                HTTPCall(
                    "GET", Workshop.path(appkey, "keystores"),
                    headers: [
                        ("X-TC-AUTHENTICATION-ID", access.accessKey.id),
                        ("X-TC-AUTHENTICATION-SECRET", "rotated-out-secret"),
                    ]), from: host)
            await workshop.send(
                HTTPCall(
                    "GET", Workshop.path(appkey, "keystores", version: "v1.3"),
                    headers: [("X-NHN-AUTHORIZATION", "Bearer \(foreignToken)")]), from: host)
        }
    }

    package static let stateFromTheAPI = IncidentScenario(
        name: "state-from-the-api",
        summary: """
            A hosted key manager: the support engineer has the request log but reads the state only through the \
            API (skm snapshot fetch), which shows neither deleted keys, deleted entries, other projects, key \
            versions nor certificate fingerprints. Calls fail with a deleted key, another project's key and User \
            Access Key, a client at 127.0.0.1 that is not registered, a key pending deletion and a truncated \
            appkey: the analysis confirms what the API state decides and names what would settle the rest.
            """, har: false
    ) { workshop in
        let (appkey, access) = try await workshop.appkey("payments")
        let (other, otherAccess) = try await workshop.appkey("analytics")
        let store = try await workshop.store(appkey, "payments", ip4: true)
        try await workshop.allow(appkey, store, .ipv4, "10.40.0.0/24")
        let local = try await workshop.store(appkey, "local-dev", ip4: true)
        try await workshop.allow(appkey, local, .ipv4, "192.0.2.10")
        let live = try await workshop.key(appkey, store, .symmetric, "orders")
        let retired = try await workshop.key(appkey, store, .symmetric, "legacy-orders")
        let leaving = try await workshop.key(appkey, store, .symmetric, "sessions")
        let devKey = try await workshop.key(appkey, local, .symmetric, "dev")
        let otherStore = try await workshop.store(other, "lake", ip4: true)
        let foreign = try await workshop.key(other, otherStore, .symmetric, "lake")
        let app = ClientIdentity.at("10.40.0.20")
        var legacy: [String] = []
        for index in 0..<8 {
            if let blob = await workshop.encrypt(appkey, retired.id, "order \(index)", from: app) {
                legacy.append(blob)
            }
            await workshop.encrypt(appkey, live.id, "order \(index)", from: app)
        }
        _ = try await workshop.engine.scheduleKeyDeletion(appkey: appkey, keyId: retired.id, actor: "cli:ops")
        workshop.wait(8 * day)
        _ = await workshop.engine.runDueWork()
        _ = try await workshop.engine.scheduleKeyDeletion(appkey: appkey, keyId: leaving.id, actor: "cli:mlee")
        workshop.wait(3600)
        for index in 0..<12 {
            await workshop.decrypt(appkey, retired.id, legacy[index % legacy.count], from: app)
            await workshop.encrypt(appkey, foreign.id, "row \(index)", from: app)
            await workshop.encrypt(appkey, leaving.id, "session \(index)", from: app)
            await workshop.encrypt(appkey, devKey.id, "dev \(index)", from: .at("127.0.0.1"))
            if index % 3 == 0 {
                await workshop.send(
                    HTTPCall(
                        "GET", Workshop.path(appkey, "keystores"),
                        headers: [
                            ("X-TC-AUTHENTICATION-ID", otherAccess.accessKey.id),
                            ("X-TC-AUTHENTICATION-SECRET", otherAccess.secret),
                        ]), from: app)
                await workshop.encrypt(String(appkey.dropLast()), live.id, "order", from: app)
            }
            await workshop.encrypt(appkey, live.id, "order \(100 + index)", from: app)
        }
        workshop.stateThroughAPI = (appkey, access)
    }

    package static let tokenOfAnotherProject = IncidentScenario(
        name: "token-of-another-project",
        summary: """
            The analytics team's export job calls the payments project's management API with a bearer token issued \
            to the analytics project's User Access Key, and keeps a token past its 24 hours: Unauthorized, for two \
            causes the log tells apart because it records whom each token was issued to, never the token.
            """, har: false
    ) { workshop in
        let (payments, _) = try await workshop.appkey("payments")
        let (_, analyticsAccess) = try await workshop.appkey("analytics")
        let store = try await workshop.store(payments, "payments", ip4: true)
        try await workshop.allow(payments, store, .ipv4, "10.50.0.0/24")
        let paymentsAccess = try await workshop.engine.createUserAccessKey(appkey: payments, actor: "cli:ops")
        func token(_ access: IssuedAccessKey) async -> String {
            let outcome = await workshop.engine.execute(
                APIRequest(
                    operation: .createToken, appkey: "", body: .json(["grant_type": "client_credentials"]),
                    credentials: Credentials(userAccessKeyID: access.accessKey.id, userAccessKeySecret: access.secret)),
                from: .anonymous)
            return outcome.body?["access_token"]?.stringValue ?? ""
        }
        let job = ClientIdentity.at("10.60.1.4")
        let early = await token(paymentsAccess)
        for _ in 0..<5 {
            await workshop.send(
                HTTPCall(
                    "GET", Workshop.path(payments, "keystores", version: "v1.3"),
                    headers: [("X-NHN-AUTHORIZATION", "Bearer \(early)")]), from: job)
        }
        workshop.wait(25 * 3600)
        let analytics = await token(analyticsAccess)
        for index in 0..<24 {
            await workshop.send(
                HTTPCall(
                    "GET",
                    Workshop.path(payments, index % 2 == 0 ? "keystores" : "keystores/\(store.id)", version: "v1.3"),
                    headers: [("X-NHN-AUTHORIZATION", "Bearer \(analytics)")]), from: job)
            if index % 3 == 0 {
                await workshop.send(
                    HTTPCall(
                        "GET", Workshop.path(payments, "keystores", version: "v1.3"),
                        headers: [("X-NHN-AUTHORIZATION", "Bearer \(early)")]), from: job)
            }
        }
    }

    package static let orModeNewHost = IncidentScenario(
        name: "or-mode-new-host",
        summary: """
            Key store "edge" accepts a registered address or a registered MAC (OR mode). A new edge host comes up \
            with an address and a MAC address neither of which is registered, and every call fails with IPv4 Auth \
            Failure; a second new host sends no MAC header at all. The simulated fixes show that registering either \
            the address or the MAC address alone lets the first host through, and only the address the second.
            """, har: false
    ) { workshop in
        let (appkey, _) = try await workshop.appkey("edge")
        let store = try await workshop.store(appkey, "edge", ip4: true, mac: true, mode: .or)
        try await workshop.allow(appkey, store, .ipv4, "10.70.5.0/24")
        try await workshop.allow(appkey, store, .mac, "02:42:ac:11:00:02")
        let key = try await workshop.key(appkey, store, .symmetric, "tiles")
        for index in 0..<20 {
            await workshop.encrypt(appkey, key.id, "tile \(index)", from: .at("10.70.5.\(10 + index % 4)"))
            await workshop.encrypt(appkey, key.id, "tile \(index)", from: .at("10.70.9.3", mac: "02:42:ac:11:00:02"))
        }
        workshop.wait(3600)
        for index in 0..<40 {
            await workshop.encrypt(
                appkey, key.id, "tile \(100 + index)", from: .at("10.70.6.9", mac: "02:42:ac:11:00:07"))
            if index % 4 == 0 { await workshop.encrypt(appkey, key.id, "tile \(200 + index)", from: .at("10.70.6.10")) }
        }
    }
}

extension IncidentScenario {
    package static let registrationsWaitForApproval = IncidentScenario(
        name: "registrations-wait-for-approval",
        summary: """
            Appkey "billing" turns the approval workflow on (approver cli:mlee). A new host 10.0.3.7 is registered by \
            cli:jkim, and a device's MAC address too, but nobody approves them yet: the host's calls fail with IPv4 \
            Auth Failure and the device's with MAC Auth Failure. Meanwhile the office range 10.0.1.0/24 is scheduled \
            for deletion by mistake; cli:jkim cancels the deletion, and that cancellation waits too, so the office's \
            calls fail as well. In the afternoon cli:mlee approves the host, and its calls succeed.
            """, har: false
    ) { workshop in
        let engine = workshop.engine
        let (appkey, _) = try await workshop.appkey("billing")
        let store = try await workshop.store(appkey, "billing", ip4: true)
        try await workshop.allow(appkey, store, .ipv4, "10.0.1.0/24")
        let devices = try await workshop.store(appkey, "devices", mac: true)
        let key = try await workshop.key(appkey, store, .symmetric, "invoices")
        let deviceKey = try await workshop.key(appkey, devices, .symmetric, "telemetry")
        for index in 0..<10 {
            await workshop.encrypt(appkey, key.id, "invoice \(index)", from: .at("10.0.1.\(5 + index % 3)"))
        }
        workshop.wait(3600)
        _ = try await engine.setApprovalRequired(appkey: appkey, true, approvers: ["cli:mlee"], actor: "cli:ops")
        workshop.wait(600)
        let host = try await engine.addAuthEntry(
            appkey: appkey, store: .id(store.id), kind: .ipv4, value: "10.0.3.7", actor: "cli:jkim")
        _ = try await engine.addAuthEntry(
            appkey: appkey, store: .id(devices.id), kind: .mac, value: "02:00:5e:10:00:07", actor: "cli:jkim")
        workshop.wait(900)
        for index in 0..<12 {
            await workshop.encrypt(appkey, key.id, "invoice \(100 + index)", from: .at("10.0.3.7"))
            if index % 2 == 0 {
                await workshop.encrypt(
                    appkey, deviceKey.id, "reading \(index)", from: .at("10.0.8.20", mac: "02:00:5E:10:00:07"))
            }
        }
        workshop.wait(1800)
        _ = try await engine.scheduleAuthDeletion(
            appkey: appkey, store: .id(store.id), kind: .ipv4, value: "10.0.1.0/24", actor: "cli:ops")
        workshop.wait(300)
        _ = try await engine.cancelAuthDeletion(
            appkey: appkey, store: .id(store.id), kind: .ipv4, value: "10.0.1.0/24", actor: "cli:jkim")
        workshop.wait(600)
        for index in 0..<8 {
            await workshop.encrypt(appkey, key.id, "invoice \(200 + index)", from: .at("10.0.1.\(5 + index % 3)"))
        }
        workshop.wait(3 * 3600)
        _ = try await engine.decide(appkey: appkey, entryId: host.id, approve: true, actor: "cli:mlee")
        workshop.wait(300)
        for index in 0..<5 {
            await workshop.encrypt(appkey, key.id, "invoice \(300 + index)", from: .at("10.0.3.7"))
        }
    }
}

extension IncidentScenario {
    package static let keyChangesWaitForApproval = IncidentScenario(
        name: "key-changes-wait-for-approval",
        summary: """
            Key "statements" of appkey "ledger" is scheduled for deletion by mistake, and the approval workflow is \
            turned on (approvers cli:mlee and the operations robot's User Access Key). The statement service's \
            decrypts fail with Invalid Key Status. The robot cancels the deletion over the API, but with the \
            workflow on the cancellation is a change request that waits: the decrypts keep failing. The robot then \
            tries to approve its own request, and the reporting job's User Access Key, which is no approver, tries \
            too: both are Invalid Request. An hour later cli:mlee approves, and the decrypts succeed.
            """, har: false
    ) { workshop in
        let engine = workshop.engine
        let (appkey, robot) = try await workshop.appkey("ledger")
        let reporting = try await engine.createUserAccessKey(appkey: appkey, actor: "cli:ops")
        let store = try await workshop.store(appkey, "archive", ip4: true)
        try await workshop.allow(appkey, store, .ipv4, "10.80.0.0/24")
        let key = try await workshop.key(appkey, store, .symmetric, "statements")
        let service = ClientIdentity.at("10.80.0.15")
        var statements: [String] = []
        for index in 0..<20 {
            if let blob = await workshop.encrypt(appkey, key.id, "statement \(index)", from: service) {
                statements.append(blob)
            }
        }
        workshop.wait(1800)
        _ = try await engine.scheduleKeyDeletion(appkey: appkey, keyId: key.id, actor: "cli:ops")
        _ = try await engine.setApprovalRequired(
            appkey: appkey, true, approvers: ["cli:mlee", "uak:\(robot.accessKey.id)"], actor: "cli:ops")
        workshop.wait(600)
        for index in 0..<8 { await workshop.decrypt(appkey, key.id, statements[index], from: service) }
        workshop.wait(300)
        func credentials(_ issued: IssuedAccessKey) -> [(String, String)] {
            [("X-TC-AUTHENTICATION-ID", issued.accessKey.id), ("X-TC-AUTHENTICATION-SECRET", issued.secret)]
        }
        let office = ClientIdentity.at("10.80.9.2")
        let (_, cancelled) = await workshop.send(
            HTTPCall("PUT", Workshop.path(appkey, "keys/\(key.id)/cancel-deletion"), headers: credentials(robot)),
            from: office)
        let number = cancelled["body"]?["changeId"]?.intValue ?? 0
        workshop.wait(600)
        for index in 0..<12 { await workshop.decrypt(appkey, key.id, statements[8 + index % 12], from: service) }
        workshop.wait(300)
        await workshop.send(
            HTTPCall(
                "POST", Workshop.path(appkey, "approvals/changes/\(number)/approve"), headers: credentials(robot)),
            from: office)
        await workshop.send(
            HTTPCall(
                "POST", Workshop.path(appkey, "approvals/changes/\(number)/approve"),
                headers: credentials(reporting)),
            from: office)
        workshop.wait(3600)
        _ = try await engine.decideChange(appkey: appkey, id: number, approve: true, actor: "cli:mlee")
        workshop.wait(300)
        for index in 0..<10 { await workshop.decrypt(appkey, key.id, statements[index], from: service) }
    }
}

extension IncidentScenario {
    package static let certificateWaitsForApproval = IncidentScenario(
        name: "certificate-waits-for-approval",
        summary: """
            Appkey "partners" authenticates its partners' gateways with client certificates, and the approval \
            workflow is on (approver cli:mlee). cli:jkim issues a certificate for the new gateway and installs it, \
            but nobody approves it yet: every call of the gateway fails with Certificate Auth Failure, though the \
            certificate is this installation's and valid. The next morning cli:mlee approves it, and the calls \
            succeed.
            """, har: false
    ) { workshop in
        let engine = workshop.engine
        let (appkey, _) = try await workshop.appkey("partners")
        let store = try await workshop.store(appkey, "gateways", certificate: true)
        let key = try await workshop.key(appkey, store, .symmetric, "settlements")
        _ = try await engine.setApprovalRequired(appkey: appkey, true, approvers: ["cli:mlee"], actor: "cli:ops")
        workshop.wait(600)
        let entry = try await engine.issueCertificate(
            appkey: appkey, store: .id(store.id), name: "gateway-7", password: "fixture-only", lifetimeDays: 365,
            actor: "cli:jkim")
        let certificate = try Certificate(pemEncoded: entry.certificate!.pem)
        workshop.attachments["client-cert.pem"] = Data(entry.certificate!.pem.utf8)
        let gateway = ClientIdentity(address: IPv4Address("10.90.4.7"), tls: true, certificateChain: [certificate])
        workshop.wait(900)
        for index in 0..<16 {
            await workshop.encrypt(appkey, key.id, "settlement \(index)", from: gateway)
            workshop.wait(600)
        }
        workshop.wait(12 * 3600)
        _ = try await engine.decide(appkey: appkey, entryId: entry.id, approve: true, actor: "cli:mlee")
        workshop.wait(300)
        for index in 0..<6 { await workshop.encrypt(appkey, key.id, "settlement \(100 + index)", from: gateway) }
    }
}
