import IPsecModel
import Resolver
import SecurityContexts
import Testing
import XfrmManager
import XfrmWire

/// The mirror kept current from kernel notifications, with the kernel's identity rules.
struct MirrorEventTests {
    static let sa1 = EdgeCaseTests.sa(0x100, EdgeCaseTests.client)
    static let labeled = EdgeCaseTests.policy(EdgeCaseTests.spd)
    static let unlabeledEntry = EdgeCaseTests.policy(nil)

    @Test func newUpdatedAndDeletedSAs() {
        var m = XfrmMirror()
        #expect(m.apply(.sa(.newSA, Self.sa1)) == .applied)
        var updated = Self.sa1
        updated.replayWindow = 64
        #expect(m.apply(.sa(.updSA, updated)) == .applied)
        #expect(m.sas == [updated])
        #expect(m.sa(destination: updated.destination, spi: 0x100, proto: .esp)?.replayWindow == 64)
        #expect(m.apply(.sa(.delSA, updated)) == .applied)
        #expect(m.sas.isEmpty)
        #expect(m.apply(.sa(.delSA, updated)) == .ignored)
    }

    /// Edge 11 of Specs/kernel/labeled-ipsec.md: entries differing only in label are different entries; each is
    /// kept and removed on its own.
    @Test func entriesDifferingOnlyInLabelCoexist() {
        var m = XfrmMirror()
        _ = m.apply(.policy(.newPolicy, Self.labeled))
        _ = m.apply(.policy(.newPolicy, Self.unlabeledEntry))
        #expect(m.policies.count == 2)
        _ = m.apply(.policy(.delPolicy, Self.labeled))
        #expect(m.policies == [Self.unlabeledEntry])
    }

    @Test func expiriesFlushesAndOverflow() {
        var m = XfrmMirror(sas: [Self.sa1, EdgeCaseTests.sa(0x101, nil)], policies: [Self.labeled])
        #expect(m.apply(.expire(Self.sa1, hard: false)) == .ignored)
        #expect(m.apply(.expire(Self.sa1, hard: true)) == .applied)
        #expect(m.sas.map(\.spi) == [0x101])
        #expect(m.apply(.policyExpire(Self.labeled, hard: true)) == .applied && m.policies.isEmpty)
        #expect(m.apply(.flushSA(.all)) == .applied && m.sas.isEmpty)
        #expect(m.apply(.overflow(resynchronized: nil)) == .resynchronizationNeeded)
    }
}
