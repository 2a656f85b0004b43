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

/// A kernel's SAD and SPD behind fake netlink sockets: each subscription (``feed()``) is a new
/// `FakeNetlinkKernel` that answers dumps from the tables as they are; changes update the tables and
/// notify the current socket, or not (a lost notification).
final class ModelKernel {
    var sas: [SecurityAssociation] = []
    var policies: [PolicyEntry] = []
    /// The next dumps (of either table) to carry `NLM_F_DUMP_INTR`.
    var interruptedDumps = 0
    /// Run when the next SA dump is asked for: before the dump is taken (changes the dump shows) and
    /// after (changes it misses); their notifications arrive between the dump's parts.
    var beforeSADump: ((ModelKernel) -> [XfrmMessage])?
    var afterSADump: ((ModelKernel) -> [XfrmMessage])?
    /// The groups joined when each dump was asked for.
    private(set) var groupsAtDump: [Set<UInt32>] = []
    private(set) var sockets: [FakeNetlinkKernel] = []
    var socket: FakeNetlinkKernel { sockets.last! }

    init(sas: [SecurityAssociation] = [], policies: [PolicyEntry] = []) {
        self.sas = sas
        self.policies = policies
    }

    func feed() -> XfrmEventFeed {
        let fake = FakeNetlinkKernel.eachRequest { [unowned self] request, kernel in try self.answer(request, kernel) }
        sockets.append(fake)
        return XfrmEventFeed(connection: NetlinkConnection(transport: fake, firstSequence: 1, trace: nil))
    }

    private func answer(_ request: NetlinkMessage, _ kernel: FakeNetlinkKernel) throws -> [FakeNetlinkKernel.Delivery] {
        guard request.flags.isSuperset(of: .dump) else { return [.messages([kernel.ack(request)])] }
        groupsAtDump.append(kernel.joinedGroups)
        let interrupted = interruptedDumps > 0
        if interrupted { interruptedDumps -= 1 }
        switch XfrmMessageType(rawValue: request.type.rawValue) {
        case .getSA:
            var during = beforeSADump.map { $0(self) } ?? []
            beforeSADump = nil
            let payloads = try sas.map { try XfrmRequest.addSA($0).payload() }
            during += afterSADump.map { $0(self) } ?? []
            afterSADump = nil
            var parts = kernel.dump(request, type: XfrmMessageType.newSA.netlink, payloads: payloads, perDatagram: 2, interrupted: interrupted)
            parts.insert(contentsOf: try during.map(Self.multicast), at: min(1, parts.count))
            return parts
        case .getPolicy:
            let payloads = try policies.map { try XfrmRequest.addPolicy($0).payload() }
            return kernel.dump(request, type: XfrmMessageType.newPolicy.netlink, payloads: payloads, perDatagram: 2, interrupted: interrupted)
        default:
            return [.messages([kernel.nack(request, .notPermitted)])]
        }
    }

    static func multicast(_ m: XfrmMessage) throws -> FakeNetlinkKernel.Delivery {
        let group: UInt32 =
            switch m.type {
            case .newSA, .updSA, .delSA, .flushSA: 3
            case .newPolicy, .updPolicy, .delPolicy, .flushPolicy: 4
            case .expire, .polExpire: 2
            default: 7
            }
        return .datagram(NetlinkDatagram([try m.netlinkMessage()], from: NetlinkSender(portID: 0, group: group)))
    }

    // MARK: Changes, as the kernel makes them and notifies them

    @discardableResult
    func add(_ sa: SecurityAssociation) -> XfrmMessage {
        let update = sas.contains { $0.hasSameKernelKey(as: sa) }
        sas.removeAll { $0.hasSameKernelKey(as: sa) }
        sas.append(sa)
        var m = try! XfrmRequest.addSA(sa, update: update)
        m.flags = []
        return m
    }

    @discardableResult
    func delete(_ sa: SecurityAssociation) -> XfrmMessage {
        sas.removeAll { $0.hasSameKernelKey(as: sa) }
        return Self.delSA(sa)
    }

    @discardableResult
    func add(_ p: PolicyEntry) -> XfrmMessage {
        policies.removeAll { $0.hasSameKernelKey(as: p) }
        policies.append(p)
        var m = try! XfrmRequest.addPolicy(p)
        m.flags = []
        return m
    }

    /// The DELSA notification: `xfrm_usersa_id`, then the SA in `XFRMA_SA` and its attributes
    /// (xfrm_notify_sa).
    static func delSA(_ sa: SecurityAssociation) -> XfrmMessage {
        guard case .sa(let info, let attributes) = try! XfrmRequest.addSA(sa).body else { fatalError() }
        let id = XfrmUserSAID(daddr: XfrmAddress(sa.destination), spi: sa.spi, family: sa.destination.family == .inet6 ? 10 : 2, proto: sa.proto.rawValue)
        return XfrmMessage(type: .delSA, flags: [], body: .saID(id, [.saInfo(info)] + attributes))
    }

    /// Delivers notifications to the current socket.
    func notify(_ messages: XfrmMessage...) {
        for m in messages { socket.queue.append(try! Self.multicast(m)) }
    }
}

/// Steps the driver until the fake socket has nothing more to deliver.
func drain(_ driver: MirrorSyncDriver, maximumSteps: Int = 10_000) {
    for _ in 0..<maximumSteps {
        do { guard try driver.step() else { return } } catch { return }
    }
    Issue.record("the driver never went idle")
}

/// The sync protocol (Specs/resolver/semantics.md, "The sync protocol"): over fake netlink sockets,
/// and the pure state machine on its own.
struct MirrorSyncTests {
    static let a = IPAddress("10.0.0.1")!, b = IPAddress("10.0.0.2")!
    static func sa(_ spi: UInt32, _ ctx: SecurityContext? = EdgeCaseTests.client) -> SecurityAssociation { EdgeCaseTests.sa(spi, ctx) }
    static func policy(_ port: UInt16, _ ctx: SecurityContext? = EdgeCaseTests.spd) -> PolicyEntry {
        var p = EdgeCaseTests.policy(ctx, index: 8 * UInt32(port) + 1)
        p.selector.destinationPort = port
        p.selector.destinationPortMask = 0xffff
        p.selector.upperProtocol = 6
        return p
    }

    static func spis(_ m: XfrmMirror) -> [UInt32] { m.sas.map(\.spi).sorted() }
    static func spis(_ k: ModelKernel) -> [UInt32] { k.sas.map(\.spi).sorted() }

    static func setUp(_ kernel: ModelKernel) -> MirrorSyncDriver {
        MirrorSyncDriver(live: LiveMirror()) { kernel.feed() }
    }

    // MARK: - Over fake netlink sockets

    @Test func initialDumpAfterSubscribing() throws {
        let kernel = ModelKernel(
            sas: [Self.sa(0x100), Self.sa(0x101, nil), Self.sa(0x102, EdgeCaseTests.other)],
            policies: [Self.policy(7), Self.policy(8, nil)])
        let driver = Self.setUp(kernel)
        #expect(driver.live.status == .unsynchronized)
        drain(driver)
        let s = driver.live.snapshot()
        #expect(s.isSynchronized)
        #expect(Set(s.mirror.sas) == Set(kernel.sas))
        #expect(Set(s.mirror.policies) == Set(kernel.policies))
        // Subscribed first: every group was joined when each dump was asked for.
        #expect(kernel.groupsAtDump.count == 2)
        #expect(kernel.groupsAtDump.allSatisfy { $0 == Set(XfrmEventFeed.mirrorGroups) })
        #expect(s.statistics.synchronizations == 1 && s.statistics.resynchronizations == 0)
        #expect(s.statistics.lastDumpSAs == 3 && s.statistics.lastDumpPolicies == 2)
        #expect(s.statistics.lastSynchronizationDuration != nil)
        #expect(kernel.sockets.count == 1)
    }

    @Test func eventsAppliedInOrder() throws {
        let kernel = ModelKernel(sas: [Self.sa(0x100), Self.sa(0x101)], policies: [Self.policy(7)])
        let driver = Self.setUp(kernel)
        drain(driver)
        var changed = Self.sa(0x100)
        changed.replayWindow = 64
        kernel.notify(
            kernel.add(Self.sa(0x200)), kernel.add(changed), kernel.delete(Self.sa(0x101)), kernel.add(Self.policy(9)),
            kernel.add(Self.sa(0x201)), kernel.delete(Self.sa(0x201)))
        drain(driver)
        let s = driver.live.snapshot()
        #expect(s.isSynchronized)
        #expect(Self.spis(s.mirror) == [0x100, 0x200])
        #expect(s.mirror.sa(destination: Self.b, spi: 0x100, proto: .esp)?.replayWindow == 64)
        #expect(Set(s.mirror.policies) == Set(kernel.policies))
        #expect(s.statistics.eventsApplied == 6)
        // A deletion of something absent changes nothing and is counted as ignored.
        kernel.notify(ModelKernel.delSA(Self.sa(0x999)))
        drain(driver)
        #expect(driver.live.statistics.eventsIgnored == 1)
    }

    /// Notifications sent while the dump is read: those the dump already shows are applied again
    /// (no change), those it missed are applied; nothing is lost, nothing doubled.
    @Test func eventsDuringTheDump() throws {
        let kernel = ModelKernel(sas: [Self.sa(0x100), Self.sa(0x101), Self.sa(0x102)])
        kernel.beforeSADump = { k in [k.add(Self.sa(0x300)), k.delete(Self.sa(0x102))] }  // the dump shows these
        kernel.afterSADump = { k in
            var changed = Self.sa(0x100)
            changed.replayWindow = 32
            return [k.add(Self.sa(0x301)), k.delete(Self.sa(0x101)), k.add(changed)]  // the dump misses these
        }
        let driver = Self.setUp(kernel)
        drain(driver)
        let s = driver.live.snapshot()
        #expect(s.isSynchronized)
        #expect(Self.spis(s.mirror) == Self.spis(kernel))
        #expect(Self.spis(s.mirror) == [0x100, 0x300, 0x301])
        #expect(s.mirror.sa(destination: Self.b, spi: 0x100, proto: .esp)?.replayWindow == 32)
        #expect(s.mirror.sas.count == 3)  // 0x300, in the dump and notified, once
        #expect(s.statistics.resynchronizations == 0)
    }

    /// ENOBUFS: notifications were lost. The mirror is reported stale at once (and still served),
    /// then replaced by a fresh subscription and dump: an SA deleted while notifications were lost
    /// disappears; a notification still queued on the old socket, older than the loss, is dropped
    /// with it rather than applied after the new dump.
    @Test func overflowResynchronizes() throws {
        let kernel = ModelKernel(sas: [Self.sa(0x100), Self.sa(0x101), Self.sa(0x102)], policies: [Self.policy(7)])
        let driver = Self.setUp(kernel)
        drain(driver)
        let stale = kernel.add(Self.sa(0x101))  // queued before the loss
        kernel.delete(Self.sa(0x101))  // lost
        kernel.add(Self.sa(0x103))  // lost
        kernel.socket.inject(.overflow)
        kernel.notify(stale)
        #expect(try driver.step())  // reads ENOBUFS
        let during = driver.live.snapshot()
        #expect(during.status == .stale(.overflow))
        #expect(!during.isSynchronized)
        #expect(Self.spis(during.mirror) == [0x100, 0x101, 0x102])  // the old mirror, said to be stale
        drain(driver)
        let s = driver.live.snapshot()
        #expect(s.isSynchronized)
        #expect(Self.spis(s.mirror) == [0x100, 0x102, 0x103])
        #expect(s.statistics.overflows == 1 && s.statistics.resynchronizations == 1 && s.statistics.synchronizations == 2)
        #expect(kernel.sockets.count == 2)
        #expect(s.statistics.lastStaleReason == .overflow)
    }

    /// The overflow hits while the dump is read (the dump's own answer may be lost): start over.
    @Test func overflowDuringTheDump() throws {
        let kernel = ModelKernel(sas: [Self.sa(0x100), Self.sa(0x101), Self.sa(0x102), Self.sa(0x103)])
        var first = true
        kernel.afterSADump = { _ in [] }
        let driver = MirrorSyncDriver(live: LiveMirror()) {
            let feed = kernel.feed()
            if first {
                first = false
                // The first socket's receive queue overruns right after the dump request.
                kernel.beforeSADump = { k in
                    k.socket.queue.append(.overflow); return []
                }
            }
            return feed
        }
        drain(driver)
        let s = driver.live.snapshot()
        #expect(s.isSynchronized)
        #expect(Self.spis(s.mirror) == [0x100, 0x101, 0x102, 0x103])
        #expect(s.statistics.overflows >= 1)
        #expect(kernel.sockets.count == 2)
    }

    /// `NLM_F_DUMP_INTR`: the dump is taken again on the same socket (no notification was lost);
    /// only the interrupted table's.
    @Test func interruptedDumpIsRetried() throws {
        let kernel = ModelKernel(sas: [Self.sa(0x100), Self.sa(0x101)], policies: [Self.policy(7)])
        kernel.interruptedDumps = 2  // the SA dump, then its retry
        let driver = Self.setUp(kernel)
        drain(driver)
        let s = driver.live.snapshot()
        #expect(s.isSynchronized)
        #expect(s.statistics.dumpInterruptions == 2)
        #expect(Self.spis(s.mirror) == [0x100, 0x101])
        #expect(kernel.sockets.count == 1)
        let types = kernel.socket.sentMessages.map { XfrmMessageType(rawValue: $0.header.type.rawValue) }
        #expect(types == [.getSA, .getSA, .getSA, .getPolicy])
    }

    @Test func dumpInterruptedEveryTimeStartsOverAndBacksOff() throws {
        let kernel = ModelKernel(sas: [Self.sa(0x100)])
        kernel.interruptedDumps = MirrorSync.maximumDumpAttempts
        let driver = Self.setUp(kernel)
        for _ in 0..<(1 + MirrorSync.maximumDumpAttempts) { try driver.step() }
        #expect(driver.live.status == .unsynchronized)
        #expect(driver.live.statistics.lastStaleReason == .dumpKeptInterrupted)
        #expect(driver.live.nextAction == .subscribe(after: .zero))
        drain(driver)
        #expect(driver.live.snapshot().isSynchronized)
        #expect(kernel.sockets.count == 2)
    }

    /// Fail closed: a notification of a followed type that cannot be decoded means an unknown
    /// change; the mirror is stale until a resync. Types the mirror does not follow are ignored.
    @Test func malformedNotificationResynchronizes() throws {
        let kernel = ModelKernel(sas: [Self.sa(0x100), Self.sa(0x101)])
        let driver = Self.setUp(kernel)
        drain(driver)
        // A NEWSA too short for xfrm_usersa_info; the kernel's SA is gone meanwhile.
        kernel.delete(Self.sa(0x101))
        kernel.socket.inject(
            .datagram(
                NetlinkDatagram(
                    [NetlinkMessage(type: XfrmMessageType.newSA.netlink, payload: [1, 2, 3, 4])],
                    from: NetlinkSender(portID: 0, group: 3))))
        #expect(try driver.step())
        guard case .stale(.malformedNotification) = driver.live.status else { Issue.record("\(driver.live.status)"); return }
        drain(driver)
        var s = driver.live.snapshot()
        #expect(s.isSynchronized && Self.spis(s.mirror) == [0x100])
        #expect(s.statistics.malformedNotifications == 1 && s.statistics.resynchronizations == 1)

        // A DELSA without the SA in XFRMA_SA: which SA went is unknown.
        let id = XfrmUserSAID(daddr: XfrmAddress(Self.b), spi: 0x100, family: 2, proto: 50)
        kernel.notify(XfrmMessage(type: .delSA, flags: [], body: .saID(id, [])))
        drain(driver)
        s = driver.live.snapshot()
        #expect(s.statistics.malformedNotifications == 2 && s.statistics.resynchronizations == 2 && s.isSynchronized)

        // XFRM_MSG_GETDEFAULT (40) on the policy group, XFRM_MSG_NEWAE (30): not followed, ignored.
        kernel.socket.inject(
            .datagram(
                NetlinkDatagram(
                    [NetlinkMessage(type: NetlinkMessageType(rawValue: 40), payload: [0, 0, 0, 0])],
                    from: NetlinkSender(portID: 0, group: 4))),
            .datagram(
                NetlinkDatagram(
                    [NetlinkMessage(type: NetlinkMessageType(rawValue: 30), payload: [])],
                    from: NetlinkSender(portID: 0, group: 5))))
        drain(driver)
        s = driver.live.snapshot()
        #expect(s.statistics.resynchronizations == 2 && s.statistics.eventsIgnored == 2 && s.isSynchronized)
    }

    @Test func migrateResynchronizes() throws {
        let kernel = ModelKernel(sas: [Self.sa(0x100)])
        let driver = Self.setUp(kernel)
        drain(driver)
        kernel.socket.inject(
            .datagram(
                NetlinkDatagram(
                    [NetlinkMessage(type: NetlinkMessageType(rawValue: 33), payload: [0, 0, 0, 0])],
                    from: NetlinkSender(portID: 0, group: 7))))
        #expect(try driver.step())
        #expect(driver.live.status == .stale(.migrated))
        drain(driver)
        #expect(driver.live.snapshot().isSynchronized && driver.live.statistics.resynchronizations == 1)
    }

    /// A receive that fails: stale, a fresh subscription.
    @Test func failureResubscribes() throws {
        let kernel = ModelKernel(sas: [Self.sa(0x100)])
        let driver = Self.setUp(kernel)
        drain(driver)
        kernel.socket.inject(.malformed([1, 2, 3]))  // not netlink: the receive throws
        do {
            try driver.step()
            Issue.record("no error")
        } catch {
            driver.fail(error)
        }
        guard case .stale(.failure) = driver.live.status else { Issue.record("\(driver.live.status)"); return }
        #expect(driver.live.nextAction == .subscribe(after: .zero))
        drain(driver)
        #expect(driver.live.snapshot().isSynchronized && kernel.sockets.count == 2)
    }

    /// Snapshots from other threads while the driver applies events: each is one consistent state.
    @Test func snapshotsFromAnotherThread() async throws {
        let kernel = ModelKernel(sas: (0..<100).map { Self.sa(0x1000 + $0) })
        let driver = Self.setUp(kernel)
        drain(driver)
        let live = driver.live
        let reader = Task.detached {
            var seen = 0
            for _ in 0..<200 {
                let s = live.snapshot()
                // Events come in add/delete pairs here, applied one by one: 100 or 101 SAs.
                if s.mirror.sas.count == 100 || s.mirror.sas.count == 101 { seen += 1 }
                await Task.yield()
            }
            return seen
        }
        for i in 0..<200 {
            kernel.notify(kernel.add(Self.sa(0x9000 + UInt32(i))), kernel.delete(Self.sa(0x9000 + UInt32(i))))
            drain(driver)
        }
        #expect(await reader.value == 200)
        #expect(driver.live.snapshot().mirror.sas.count == 100)
    }
}
