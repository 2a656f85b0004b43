// MirrorSync's state machine on its own, without sockets (Specs/resolver/semantics.md, "The sync
// protocol"); the driver over fake netlink sockets is in MirrorSyncTests.swift.

import IPsecModel
import NetlinkProtocol
import NetlinkSocket
import NetlinkTestSupport
import Resolver
import SecurityContexts
import Testing
import XfrmManager
import XfrmNetlink
import XfrmWire

extension MirrorSyncTests {
    @Test func machineHappyPath() {
        var m = MirrorSync()
        let t0 = ContinuousClock.now
        #expect(m.nextAction == .subscribe(after: .zero))
        #expect(m.handle(.subscribed, at: t0) == .dumpSAs)
        #expect(m.handle(.sasDumped(.complete([Self.sa(1)])), at: t0) == .dumpPolicies)
        #expect(m.status == .unsynchronized)
        #expect(m.handle(.policiesDumped(.complete([Self.policy(7)])), at: t0 + .milliseconds(30)) == .receive)
        #expect(m.isSynchronized)
        #expect(m.statistics.lastSynchronizationDuration == .milliseconds(30))
        #expect(m.handle(.notification(.sa(.newSA, Self.sa(2)))) == .receive)
        #expect(Self.spis(m.mirror) == [1, 2])
        #expect(m.statistics.eventsApplied == 1)
    }

    /// Events handed over during the dumps are kept, in order, and applied to the new mirror.
    @Test func machineKeepsEventsFromTheDumpWindow() {
        var m = MirrorSync()
        m.handle(.subscribed)
        m.handle(.notification(.sa(.newSA, Self.sa(5))))
        m.handle(.sasDumped(.complete([Self.sa(1), Self.sa(5)])))
        m.handle(.notification(.sa(.delSA, Self.sa(1))))
        m.handle(.notification(.sa(.newSA, Self.sa(1))))
        #expect(m.nextAction == .dumpPolicies)
        m.handle(.policiesDumped(.complete([])))
        #expect(Self.spis(m.mirror) == [1, 5])
        #expect(m.statistics.eventsApplied == 3)
    }

    /// A loss during the dumps discards what was kept: those events may be older than the lost ones.
    @Test func machineDiscardsKeptEventsOnLoss() {
        var m = MirrorSync()
        m.handle(.subscribed)
        m.handle(.notification(.sa(.newSA, Self.sa(9))))
        #expect(m.handle(.notification(.overflow(resynchronized: nil))) == .subscribe(after: .zero))
        m.handle(.subscribed)
        m.handle(.sasDumped(.complete([Self.sa(1)])))
        m.handle(.policiesDumped(.complete([])))
        #expect(Self.spis(m.mirror) == [1])
    }

    @Test func machineBacksOffAndResetsAfterInstalling() {
        var m = MirrorSync()
        var delays: [Duration] = []
        for _ in 0..<5 {
            if case .subscribe(let d) = m.handle(.failed("EIO")) { delays.append(d) }
        }
        #expect(delays == [.zero, .milliseconds(50), .milliseconds(100), .milliseconds(200), .milliseconds(400)])
        #expect(m.statistics.failures == 5 && m.status == .unsynchronized)
        m.handle(.subscribed)
        m.handle(.sasDumped(.complete([])))
        m.handle(.policiesDumped(.complete([])))
        #expect(m.handle(.failed("EIO")) == .subscribe(after: .zero))
        #expect(m.status == .stale(.failure("EIO")))
        #expect(
            MirrorSync.Action.subscribe(after: .seconds(5))
                == {
                    var n = MirrorSync()
                    var last = MirrorSync.Action.receive
                    for _ in 0..<20 { last = n.handle(.failed("x")) }
                    return last
                }())
    }

    /// An answer the machine did not ask for (a dump result while live): start over, never guess.
    @Test func machineRejectsOutOfStepInput() {
        var m = MirrorSync()
        m.handle(.subscribed)
        m.handle(.sasDumped(.complete([Self.sa(1)])))
        m.handle(.policiesDumped(.complete([])))
        #expect(m.handle(.sasDumped(.complete([]))) == .subscribe(after: .zero))
        guard case .stale(.failure(let why)) = m.status, why.hasPrefix("unexpected sasDumped") else { Issue.record("\(m.status)"); return }
        #expect(Self.spis(m.mirror) == [1])  // still served, said to be stale
        // Before any subscription, a notification is out of step too.
        var n = MirrorSync()
        #expect(n.handle(.notification(.flushPolicy)) == .subscribe(after: .zero))
    }

    /// The claim the protocol rests on: every notification is a write of a key's whole state
    /// (present with a value, or absent) that does not depend on the mirror's state. So applying
    /// every notification sent since the subscription, in order, to any dump taken after the
    /// subscription — even a torn one, each entry from a different moment — ends at the kernel's
    /// state; notifications the dump already shows change nothing (idempotent by kernel key).
    @Test func applyingEverythingSinceTheSubscriptionConvergesFromAnyDump() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            // A random history on 6 SA keys (two protocols) and 3 SPD keys.
            var state: [UInt32: SecurityAssociation] = [:]
            var spd: [UInt16: PolicyEntry] = [:]
            var history: [(sas: [UInt32: SecurityAssociation], spd: [UInt16: PolicyEntry])] = [(state, spd)]
            var events: [XfrmEvent] = []
            for _ in 0..<Int.random(in: 1...25, using: &rng) {
                let spi = UInt32.random(in: 1...6, using: &rng)
                var sa = Self.sa(spi)
                sa.proto = spi % 2 == 0 ? .ah : .esp
                sa.replayWindow = UInt8.random(in: 0...3, using: &rng)
                let port = UInt16.random(in: 1...3, using: &rng)
                switch Int.random(in: 0..<8, using: &rng) {
                case 0, 1: events.append(.sa(.newSA, sa)); state[spi] = sa
                case 2: events.append(.sa(.updSA, sa)); state[spi] = sa
                case 3: events.append(.sa(.delSA, sa)); state[spi] = nil
                case 4:
                    events.append(.expire(sa, hard: Bool.random(using: &rng)))
                    if case .expire(_, true) = events.last! { state[spi] = nil }
                case 5: events.append(.flushSA(.ah)); state = state.filter { $0.value.proto != .ah }
                case 6: events.append(.policy(.newPolicy, Self.policy(port))); spd[port] = Self.policy(port)
                default: events.append(.policy(.delPolicy, Self.policy(port))); spd[port] = nil
                }
                history.append((state, spd))
            }
            // A torn dump: each key as it was at its own random moment since the subscription.
            var dumpSAs: [SecurityAssociation] = []
            for spi in UInt32(1)...6 {
                if let sa = history[Int.random(in: 0..<history.count, using: &rng)].sas[spi] { dumpSAs.append(sa) }
            }
            var dumpSPD: [PolicyEntry] = []
            for port in UInt16(1)...3 {
                if let p = history[Int.random(in: 0..<history.count, using: &rng)].spd[port] { dumpSPD.append(p) }
            }
            var m = MirrorSync()
            m.handle(.subscribed)
            m.handle(.sasDumped(.complete(dumpSAs)))
            m.handle(.policiesDumped(.complete(dumpSPD)))
            for e in events { m.handle(.notification(e)) }
            #expect(Set(m.mirror.sas) == Set(state.values))
            #expect(Set(m.mirror.policies) == Set(spd.values))
        }
    }
}
