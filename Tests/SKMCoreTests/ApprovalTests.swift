import Foundation
import SKMCore
import SKMPrimitives
import SKMTestSupport
import Testing
import X509

@Suite struct ApprovalTests {
    /// An appkey with the workflow on (approver cli:mlee), a key store for IPv4 and MAC, a key in it, and the office
    /// range registered before the workflow was turned on.
    static func world() async throws -> (Fixture, KeyStore, ManagedKey) {
        let fixture = try await Fixture.make()
        let store = try await fixture.store("billing", mac: true, mode: .or)
        try await fixture.allow("10.0.1.0/24", in: store)
        let key = try await fixture.key(.symmetric, in: store)
        _ = try await fixture.engine.setApprovalRequired(
            appkey: fixture.appkey, true, approvers: ["cli:mlee"], actor: "cli:ops")
        return (fixture, store, key)
    }

    /// An approver is a user (cli:NAME) or a User Access Key of the appkey: an empty, unknown or foreign name is
    /// refused, so that no typo makes an approver no one is.
    @Test func anApproverIsSomeoneWhoCanApprove() async throws {
        let (fixture, _, _) = try await Self.world()
        let engine = fixture.engine
        let other = try await engine.createAppkey(name: "other", actor: "cli:ops")
        for actor in [
            "uak:", "uak:NOSUCHKEY0000000000", "uak:\(other.accessKey.accessKey.id)", "cli:", "mlee", "cli:a b",
        ] {
            await #expect(throws: ApprovalError.self, "\(actor)") {
                _ = try await engine.setApprover(
                    appkey: fixture.appkey, member: actor, approver: true, actor: "cli:mlee")
            }
        }
        let settings = try await engine.setApprover(
            appkey: fixture.appkey, member: "uak:\(fixture.accessKeyID)", approver: true, actor: "cli:mlee")
        #expect(settings.approvers == ["cli:mlee", "uak:\(fixture.accessKeyID)"])
    }

    /// A User Access Key's role follows it: rotated by itself or an approver, its successor approves; revoked, it no
    /// longer does. With no approver left, whoever manages the appkey names the next one rather than being locked out.
    @Test func anApproversKeyKeepsOrLosesItsRole() async throws {
        let (fixture, _, _) = try await Self.world()
        let engine = fixture.engine
        let appkey = fixture.appkey
        _ = try await engine.setApprover(
            appkey: appkey, member: "uak:\(fixture.accessKeyID)", approver: true, actor: "cli:mlee")
        let rotated = try await engine.rotateUserAccessKey(appkey: appkey, id: fixture.accessKeyID, actor: "cli:mlee")
        let successor = "uak:\(rotated.accessKey.id)"
        #expect(try await engine.approvalSettings(appkey: appkey).approvers == ["cli:mlee", successor])
        // Only the key itself or another approver revokes an approver's key.
        await #expect {
            _ = try await engine.revokeUserAccessKey(appkey: appkey, id: rotated.accessKey.id, actor: "cli:ops")
        } throws: { ($0 as? Rejection)?.check == .approverKeyProtected }
        _ = try await engine.revokeUserAccessKey(appkey: appkey, id: rotated.accessKey.id, actor: "cli:mlee")
        #expect(try await engine.approvalSettings(appkey: appkey).approvers == ["cli:mlee"])
        // Only User Access Keys approve; the last one is revoked; the workflow is still on, and not locked.
        let spare = try await engine.createUserAccessKey(appkey: appkey, actor: "cli:ops")
        _ = try await engine.setApprover(
            appkey: appkey, member: "uak:\(spare.accessKey.id)", approver: true, actor: "cli:mlee")
        _ = try await engine.setApprover(appkey: appkey, member: "cli:mlee", approver: false, actor: "cli:mlee")
        await #expect(throws: ApprovalError.self) {
            _ = try await engine.setApprovalRequired(appkey: appkey, false, actor: "cli:ops")
        }
        _ = try await engine.revokeUserAccessKey(
            appkey: appkey, id: spare.accessKey.id, actor: "uak:\(spare.accessKey.id)")
        let settings = try await engine.approvalSettings(appkey: appkey)
        #expect(settings.required && settings.approvers.isEmpty)
        let named = try await engine.setApprover(appkey: appkey, member: "cli:lee", approver: true, actor: "cli:ops")
        #expect(named.approvers == ["cli:lee"])
        let events = try await engine.storage.events(after: 0, limit: 500).filter {
            $0.action == .approverGrant || $0.action == .approverRevoke
        }
        #expect(events.contains { $0.action == .approverGrant && $0.changes.contains { $0.after == successor } })
        #expect(events.contains { $0.action == .approverRevoke && $0.changes.contains { $0.before == successor } })
    }

    @Test func aWaitingRegistrationIsNotUsedUntilApproved() async throws {
        let (fixture, store, key) = try await Self.world()
        let engine = fixture.engine
        let entry = try await engine.addAuthEntry(
            appkey: fixture.appkey, store: .id(store.id), kind: .ipv4, value: "10.0.3.7", actor: "cli:jkim")
        #expect(entry.status == .pendingApproval)
        let refused = await fixture.call(.encrypt, key: key.id, body: ["plaintext": "x"], from: .at("10.0.3.7"))
        #expect(refused.error == .ipv4AuthFailure)
        #expect(refused.rejection?.check == .addressApproved)
        #expect(refused.rejection?.reason.contains("requested by cli:jkim") == true)
        // The same address again waits already: it is not free.
        await #expect(throws: Rejection.self) {
            _ = try await engine.addAuthEntry(
                appkey: fixture.appkey, store: .id(store.id), kind: .ipv4, value: "10.0.3.7", actor: "cli:jkim")
        }
        #expect(try await engine.pendingApprovals(appkey: fixture.appkey).map(\.id) == [entry.id])

        // Only an approver decides, and never on their own request.
        await #expect {
            _ = try await engine.decide(appkey: fixture.appkey, entryId: entry.id, approve: true, actor: "cli:jkim")
        } throws: {
            ($0 as? ApprovalError)?.code == .notApprover
        }
        // A member cannot make themselves an approver, nor turn the workflow off, while it is on.
        await #expect {
            _ = try await engine.setApprover(
                appkey: fixture.appkey, member: "cli:jkim", approver: true, actor: "cli:jkim")
        } throws: {
            ($0 as? ApprovalError)?.code == .notApprover
        }
        await #expect {
            _ = try await engine.setApprovalRequired(appkey: fixture.appkey, false, actor: "cli:jkim")
        } throws: {
            ($0 as? ApprovalError)?.code == .notApprover
        }
        _ = try await engine.setApprover(appkey: fixture.appkey, member: "cli:jkim", approver: true, actor: "cli:mlee")
        await #expect {
            _ = try await engine.decide(appkey: fixture.appkey, entryId: entry.id, approve: true, actor: "cli:jkim")
        } throws: {
            ($0 as? ApprovalError)?.code == .ownRequest
        }
        let approved = try await engine.decide(
            appkey: fixture.appkey, entryId: entry.id, approve: true, actor: "cli:mlee")
        #expect(approved.status == .inService)
        let allowed = await fixture.call(.encrypt, key: key.id, body: ["plaintext": "x"], from: .at("10.0.3.7"))
        #expect(allowed.error == nil)
        await #expect {
            _ = try await engine.decide(appkey: fixture.appkey, entryId: entry.id, approve: true, actor: "cli:mlee")
        } throws: {
            ($0 as? ApprovalError)?.code == .nothingWaiting
        }

        let events = try await engine.snapshot().events
        #expect(events.map(\.action).suffix(3) == [.authAdd, .approverGrant, .authApprove])
        #expect(events.first { $0.action == .authAdd && $0.actor == "cli:jkim" }?.after(.status) == "PENDING_APPROVAL")
    }

    @Test func aRejectedRegistrationIsDeletedAndMACAndCertificatesWaitToo() async throws {
        let (fixture, _, _) = try await Self.world()
        let engine = fixture.engine
        // A key store and a key are changes that would wait too: made with the workflow off for a moment.
        _ = try await engine.setApprovalRequired(appkey: fixture.appkey, false, actor: "cli:mlee")
        let devices = try await fixture.store("devices", ip4: false, mac: true)
        let deviceKey = try await fixture.key(.symmetric, in: devices, name: "d")
        let certStore = try await fixture.store("certs", ip4: false, certificate: true)
        let certKey = try await fixture.key(.symmetric, in: certStore, name: "c")
        _ = try await engine.setApprovalRequired(appkey: fixture.appkey, true, actor: "cli:mlee")
        let mac = try await engine.addAuthEntry(
            appkey: fixture.appkey, store: .id(devices.id), kind: .mac, value: "02:00:5e:10:00:07", actor: "cli:jkim")
        let waiting = await fixture.call(
            .encrypt, key: deviceKey.id, body: ["plaintext": "x"], from: .at("10.9.9.9", mac: "02:00:5E:10:00:07"))
        #expect(waiting.rejection?.check == .macApproved)
        let rejected = try await engine.decide(
            appkey: fixture.appkey, entryId: mac.id, approve: false, actor: "cli:mlee")
        #expect(rejected.status == .deleted)

        let issued = try await engine.issueCertificate(
            appkey: fixture.appkey, store: .id(certStore.id), name: "app", password: "pw", lifetimeDays: 30,
            actor: "cli:jkim")
        #expect(issued.status == .pendingApproval)
        let certificate = try Certificate(pemEncoded: try #require(issued.certificate?.pem))
        let presented = await fixture.call(
            .encrypt, key: certKey.id, body: ["plaintext": "x"],
            from: ClientIdentity(address: IPv4Address("10.0.1.5"), tls: true, certificateChain: [certificate]))
        #expect(presented.rejection?.check == .certificateApproved)
    }

    @Test func aCancelledDeletionWaitsAndARejectionKeepsTheDeletionDate() async throws {
        let (fixture, store, key) = try await Self.world()
        let engine = fixture.engine
        let scheduled = try await engine.scheduleAuthDeletion(
            appkey: fixture.appkey, store: .id(store.id), kind: .ipv4, value: "10.0.1.0/24", actor: "cli:ops")
        fixture.clock.advance(by: 3600)
        let cancelled = try await engine.cancelAuthDeletion(
            appkey: fixture.appkey, store: .id(store.id), kind: .ipv4, value: "10.0.1.0/24", actor: "cli:jkim")
        #expect(cancelled.status == .cancellationPendingApproval)
        #expect(cancelled.deletionAt == scheduled.deletionAt)
        let refused = await fixture.call(.encrypt, key: key.id, body: ["plaintext": "x"], from: .at("10.0.1.5"))
        #expect(refused.rejection?.check == .addressApproved)
        // While the cancellation waits, the deletion's time passes without a purge.
        fixture.clock.advance(by: 8 * day)
        _ = await engine.runDueWork()
        #expect(try await engine.storage.authEntry(id: cancelled.id)?.status == .cancellationPendingApproval)
        let rejected = try await engine.decide(
            appkey: fixture.appkey, entryId: cancelled.id, approve: false, actor: "cli:mlee")
        #expect(rejected.status == .pendingDeletion)
        #expect(rejected.deletionAt == scheduled.deletionAt)
        _ = await engine.runDueWork()
        #expect(try await engine.storage.authEntry(id: cancelled.id)?.status == .deleted)
    }

    @Test func theWorkflowNeedsAnApproverAndTheLastOneStays() async throws {
        let fixture = try await Fixture.make()
        let engine = fixture.engine
        await #expect {
            _ = try await engine.setApprovalRequired(appkey: fixture.appkey, true, actor: "cli:ops")
        } throws: {
            ($0 as? ApprovalError)?.code == .noApprover
        }
        _ = try await engine.setApprovalRequired(
            appkey: fixture.appkey, true, approvers: ["cli:mlee"], actor: "cli:ops")
        await #expect {
            _ = try await engine.setApprover(
                appkey: fixture.appkey, member: "cli:mlee", approver: false, actor: "cli:mlee")
        } throws: {
            ($0 as? ApprovalError)?.code == .noApprover
        }
        let off = try await engine.setApprovalRequired(appkey: fixture.appkey, false, actor: "cli:mlee")
        #expect(!off.required)
        let store = try await fixture.store("s")
        let entry = try await engine.addAuthEntry(
            appkey: fixture.appkey, store: .id(store.id), kind: .ipv4, value: "10.0.0.1", actor: "cli:jkim")
        #expect(entry.status == .inService)
        let actions = try await engine.snapshot().events.map(\.action)
        #expect(
            actions.filter { $0 == .approvalEnable || $0 == .approvalDisable } == [.approvalEnable, .approvalDisable])
    }

    /// Waits for approval: what a gated change throws, with the request it became.
    static func waiting(_ body: () async throws -> some Any) async throws -> ChangeRequest {
        do {
            _ = try await body()
        } catch let waiting as ChangeAwaitsApproval {
            return waiting.request
        }
        Issue.record("the change was made at once")
        throw CancellationError()
    }

    /// With the workflow on, creating, importing and deleting keys, and changing, creating and deleting key stores,
    /// change nothing until an approver (not the requester) approves; the change is then made, by the approver.
    @Test func keyAndKeyStoreChangesWaitForAnApprover() async throws {
        let (fixture, store, key) = try await Self.world()
        let engine = fixture.engine
        let appkey = fixture.appkey
        let create = try await Self.waiting {
            try await engine.createKey(
                appkey: appkey, store: .name("billing"), type: .secret, name: "db-password",
                secretValue: "s3cr3t-value", actor: "cli:jkim")
        }
        #expect(create.kind == .createKey && create.keyStoreId == store.id && create.sealedValue)
        #expect(create.summary == "create secret 'db-password' in key store #\(store.id)")
        #expect(try await engine.storage.keys(keyStoreId: store.id).map(\.id) == [key.id])
        let deletion = try await Self.waiting {
            try await engine.scheduleKeyDeletion(appkey: appkey, keyId: key.id, actor: "cli:jkim")
        }
        #expect(deletion.kind.displayState == "Scheduled to Request Deletion")
        #expect(try await engine.storage.key(id: key.id)?.status == .active)
        let rename = try await Self.waiting {
            try await engine.updateKeyStore(
                appkey: appkey, store: .id(store.id),
                settings: KeyStoreSettings(
                    name: "billing-2", ip4AuthUse: true, macAuthUse: true, certificateAuthUse: false, authMode: .or),
                actor: "cli:jkim")
        }
        #expect(try await engine.storage.keyStore(id: store.id)?.name == "billing")
        #expect(try await engine.pendingChanges(appkey: appkey).map(\.id) == [create.id, deletion.id, rename.id])
        #expect([create.id, deletion.id, rename.id] == [Int](1...3))

        // Refusals are the change's own, and make no request.
        await #expect(throws: Rejection.self) {
            _ = try await engine.createKey(
                appkey: appkey, store: .name("no-such-store"), type: .symmetric, name: "k", actor: "cli:jkim")
        }
        await #expect(throws: Rejection.self) {
            _ = try await engine.deleteKey(appkey: appkey, keyId: key.id, actor: "cli:jkim")
        }
        #expect(try await engine.pendingChanges(appkey: appkey).count == 3)

        // No one decides their own request; a member decides none.
        await #expect {
            _ = try await engine.decideChange(appkey: appkey, id: create.id, approve: true, actor: "cli:jkim")
        } throws: { ($0 as? ApprovalError)?.code == .notApprover }
        _ = try await engine.setApprover(appkey: appkey, member: "cli:jkim", approver: true, actor: "cli:mlee")
        await #expect {
            _ = try await engine.decideChange(appkey: appkey, id: create.id, approve: true, actor: "cli:jkim")
        } throws: { ($0 as? ApprovalError)?.code == .ownRequest }

        let made = try await engine.decideChange(appkey: appkey, id: create.id, approve: true, actor: "cli:mlee")
        #expect(made.status == .approved)
        let secret = try #require(made.key)
        #expect(secret.created.user == "cli:mlee" && secret.name == "db-password")
        let read = await fixture.call(.getSecret, key: secret.id, from: .at("10.0.1.9"))
        #expect(read.error == nil)
        #expect(read.string("secret") == "s3cr3t-value")
        // The sealed value is destroyed with the request; no event carries it.
        #expect(try await engine.storage.sealedItem(SealContext(label: "change/\(appkey)/\(create.id)")) == nil)
        let events = try await engine.storage.events(after: 0, limit: 1000)
        #expect(!events.contains { event in event.changes.contains { ($0.after ?? "").contains("s3cr3t") } })
        #expect(
            events.filter { $0.action.rawValue.hasPrefix("change.") }.map(\.summary).contains(
                "cli:mlee approved change request #1 (create secret 'db-password' in key store #\(store.id))"))

        // Rejected: nothing changes; decided: nothing waits any more.
        let rejected = try await engine.decideChange(appkey: appkey, id: deletion.id, approve: false, actor: "cli:mlee")
        #expect(rejected.status == .rejected)
        #expect(try await engine.storage.key(id: key.id)?.status == .active)
        await #expect {
            _ = try await engine.decideChange(appkey: appkey, id: deletion.id, approve: true, actor: "cli:mlee")
        } throws: { ($0 as? ApprovalError)?.code == .nothingWaiting }
        let renamed = try await engine.decideChange(appkey: appkey, id: rename.id, approve: true, actor: "cli:mlee")
        #expect(renamed.keyStore?.name == "billing-2")
        #expect(try await engine.pendingChanges(appkey: appkey).isEmpty)
    }

    /// A change that can no longer be made when it is approved (its key store was deleted meanwhile) is decided as
    /// failed, with the reason, and changes nothing; a key store's creation waits like any change.
    @Test func anApprovedChangeThatCanNoLongerBeMadeFails() async throws {
        let fixture = try await Fixture.make()
        let engine = fixture.engine
        let appkey = fixture.appkey
        let empty = try await fixture.store("empty")
        _ = try await engine.setApprovalRequired(appkey: appkey, true, approvers: ["cli:mlee"], actor: "cli:ops")
        let imported = try await Self.waiting {
            try await engine.importSymmetricKey(
                appkey: appkey, store: .id(empty.id), name: "imported", material: Data(repeating: 7, count: 32),
                actor: "cli:jkim")
        }
        let gone = try await Self.waiting {
            try await engine.deleteKeyStore(appkey: appkey, store: .id(empty.id), actor: "cli:jkim")
        }
        let created = try await Self.waiting {
            try await engine.createKeyStore(
                appkey: appkey,
                settings: KeyStoreSettings(name: "new", ip4AuthUse: true, macAuthUse: false, certificateAuthUse: false),
                actor: "cli:jkim")
        }
        #expect(created.summary == "create key store 'new'")
        #expect(try await engine.storage.keyStores(appkey: appkey).map(\.name) == ["empty"])
        #expect(
            try await engine.decideChange(appkey: appkey, id: gone.id, approve: true, actor: "cli:mlee").keyStore?
                .status == .deleted)
        let failed = try await engine.decideChange(appkey: appkey, id: imported.id, approve: true, actor: "cli:mlee")
        #expect(failed.status == .failed && failed.key == nil)
        #expect(
            failed.reason?.contains("deleted") == true || failed.reason?.contains("no key store") == true,
            "\(failed.reason ?? "")")
        #expect(try await engine.storage.sealedItem(SealContext(label: "change/\(appkey)/\(imported.id)")) == nil)
        let made = try await engine.decideChange(appkey: appkey, id: created.id, approve: true, actor: "cli:mlee")
        #expect(made.keyStore?.name == "new")
        let actions = try await engine.storage.events(after: 0, limit: 1000).map(\.action).filter {
            $0.rawValue.hasPrefix("change.")
        }
        #expect(
            actions == [
                .changeRequest, .changeRequest, .changeRequest, .changeApprove, .changeFail, .changeApprove,
            ])
    }

    /// While the cancellation of a key's deletion waits, the key stays Pending Deletion and its deletion date passes
    /// without a purge (as an entry's does); rejected, the deletion goes ahead.
    @Test func aKeysCancelledDeletionWaitsAndHoldsThePurge() async throws {
        let (fixture, _, key) = try await Self.world()
        let engine = fixture.engine
        let appkey = fixture.appkey
        _ = try await engine.setApprovalRequired(appkey: appkey, false, actor: "cli:mlee")
        _ = try await engine.scheduleKeyDeletion(appkey: appkey, keyId: key.id, actor: "cli:ops")
        _ = try await engine.setApprovalRequired(appkey: appkey, true, actor: "cli:mlee")
        let cancel = try await Self.waiting {
            try await engine.cancelKeyDeletion(appkey: appkey, keyId: key.id, actor: "cli:jkim")
        }
        #expect(cancel.kind.displayState == "Scheduled to Cancel Deletion")
        fixture.clock.advance(by: 8 * day)
        #expect(await engine.runDueWork().purgedKeys == 0)
        #expect(try await engine.storage.key(id: key.id)?.status == .pendingDeletion)
        _ = try await engine.decideChange(appkey: appkey, id: cancel.id, approve: false, actor: "cli:mlee")
        #expect(await engine.runDueWork().purgedKeys == 1)
        #expect(try await engine.storage.key(id: key.id)?.status == .deleted)
    }

    /// A User Access Key that replaced the requester's by rotation is the requester: it decides none of the old
    /// key's requests. A member neither rotates nor revokes an approver's key.
    @Test func rotationPassesNeitherARequestNorARoleToTheWrongKey() async throws {
        let (fixture, store, _) = try await Self.world()
        let engine = fixture.engine
        let appkey = fixture.appkey
        let own = "uak:\(fixture.accessKeyID)"
        _ = try await engine.setApprover(appkey: appkey, member: own, approver: true, actor: "cli:mlee")
        let change = try await Self.waiting {
            try await engine.createKey(appkey: appkey, store: .id(store.id), type: .symmetric, name: "n", actor: own)
        }
        let entry = try await engine.addAuthEntry(
            appkey: appkey, store: .id(store.id), kind: .ipv4, value: "10.0.9.9", actor: own)
        let rotated = try await engine.rotateUserAccessKey(appkey: appkey, id: fixture.accessKeyID, actor: own)
        let successor = "uak:\(rotated.accessKey.id)"
        #expect(try await engine.approvalSettings(appkey: appkey).approvers.contains(successor))
        await #expect {
            _ = try await engine.decideChange(appkey: appkey, id: change.id, approve: true, actor: successor)
        } throws: { ($0 as? ApprovalError)?.code == .ownRequest }
        await #expect {
            _ = try await engine.decide(appkey: appkey, entryId: entry.id, approve: true, actor: successor)
        } throws: { ($0 as? ApprovalError)?.code == .ownRequest }

        // A member can neither rotate the approver's key (and hold a key of theirs) nor revoke it.
        let member = try await engine.createUserAccessKey(appkey: appkey, actor: "cli:ops")
        for revoke in [false, true] {
            await #expect {
                if revoke {
                    _ = try await engine.revokeUserAccessKey(
                        appkey: appkey, id: rotated.accessKey.id, actor: "uak:\(member.accessKey.id)")
                } else {
                    _ = try await engine.rotateUserAccessKey(
                        appkey: appkey, id: rotated.accessKey.id, actor: "uak:\(member.accessKey.id)")
                }
            } throws: { ($0 as? Rejection)?.check == .approverKeyProtected }
        }
        #expect(try await engine.approvalSettings(appkey: appkey).approvers.contains(successor))
    }
}
