// Keeping an XfrmMirror current from a live kernel: subscribe to the xfrm multicast groups first,
// dump the SAD and SPD, then apply the notifications; on a loss (ENOBUFS, a notification that cannot
// be decoded, a MIGRATE) start over with a fresh subscription and a fresh dump, and install the new
// mirror at once. The protocol and its sources: Specs/resolver/semantics.md, "The sync protocol".
//
// Three parts:
//   MirrorSync        the protocol as a pure state machine: inputs (subscribed, dump results,
//                     notifications, failures) in; the mirror, its status and the next action out.
//   LiveMirror        the machine behind a Mutex: consistent snapshots for other threads.
//   MirrorSyncDriver  the thin loop that carries out the machine's actions on an XfrmEventFeed.

import Foundation
public import IPsecModel
public import Resolver
import Synchronization
public import XfrmManager
public import XfrmWire

/// The sync protocol as a state machine, without I/O: each ``handle(_:at:)`` takes what the last
/// action produced and returns the next action.
///
/// ```swift
/// var sync = MirrorSync()                       // nextAction == .subscribe
/// sync.handle(.subscribed)                      // → .dumpSAs
/// sync.handle(.sasDumped(.complete(sas)))       // → .dumpPolicies
/// sync.handle(.policiesDumped(.complete(ps)))   // → .receive: the mirror is installed, synchronized
/// sync.handle(.notification(event))             // → .receive
/// ```
public struct MirrorSync: Sendable {
    /// Whether the mirror can be trusted.
    public enum Status: Sendable, Hashable, CustomStringConvertible {
        /// No dump has completed yet: the mirror is empty, not the kernel's.
        case unsynchronized
        /// The mirror is the dump plus every notification since: the kernel's SAD and SPD as of the
        /// last notification read.
        case synchronized
        /// The mirror is known to miss changes (`reason`); a resynchronization is under way. It is
        /// still served, so that a consumer can say what it answered from, but never as current.
        case stale(StaleReason)

        public var description: String {
            switch self {
            case .unsynchronized: "unsynchronized (no dump yet)"
            case .synchronized: "synchronized"
            case .stale(let r): "stale: \(r)"
            }
        }
    }

    /// Why the mirror is known to miss changes.
    public enum StaleReason: Sendable, Hashable, CustomStringConvertible {
        /// The receive queue overran (`ENOBUFS`): notifications were lost.
        case overflow
        /// A notification of a type the mirror follows could not be decoded: its change is unknown.
        case malformedNotification(String)
        /// An `XFRM_MSG_MIGRATE`: the kernel moved SAs and policies without SA or policy notifications.
        case migrated
        /// Every one of ``MirrorSync/maximumDumpAttempts`` dumps was interrupted (`NLM_F_DUMP_INTR`).
        case dumpKeptInterrupted
        /// The subscription, a dump or a receive failed (the error).
        case failure(String)

        public var description: String {
            switch self {
            case .overflow: "notifications were lost (ENOBUFS)"
            case .malformedNotification(let why): "a notification could not be decoded (\(why))"
            case .migrated: "SAs or policies were migrated (XFRM_MSG_MIGRATE)"
            case .dumpKeptInterrupted: "every dump was interrupted (NLM_F_DUMP_INTR)"
            case .failure(let why): "the connection failed (\(why))"
            }
        }
    }

    /// What the driver does next.
    public enum Action: Sendable, Hashable {
        /// Open a new subscription (a new socket joined to the groups; the old one, if any, is
        /// dropped with everything still queued on it), after waiting `after` (zero unless attempts
        /// keep failing), then report ``Input/subscribed``.
        case subscribe(after: Duration)
        /// Dump the SAD on the subscribed socket; report ``Input/sasDumped(_:)``.
        case dumpSAs
        /// Dump the SPD on the subscribed socket; report ``Input/policiesDumped(_:)``.
        case dumpPolicies
        /// Read the next notification; report ``Input/notification(_:)``.
        case receive
    }

    /// What the last action produced.
    public enum Input: Sendable {
        case subscribed
        case sasDumped(XfrmDump<SecurityAssociation>)
        case policiesDumped(XfrmDump<PolicyEntry>)
        /// A notification (an ``XfrmEvent/overflow(resynchronized:)`` for a loss). During a dump
        /// they are kept and applied after it, in order.
        case notification(XfrmEvent)
        /// The subscription, a dump or a receive failed.
        case failed(String)
    }

    /// Counters since the machine was created.
    public struct Statistics: Sendable, Hashable {
        /// Notifications that changed the mirror (`XfrmMirror.apply` answered `.applied`).
        public var eventsApplied = 0
        /// Notifications that changed nothing (ACQUIRE, soft expiry, a deletion of something absent,
        /// types the mirror does not follow).
        public var eventsIgnored = 0
        /// Notifications that could not be decoded, of a type the mirror follows (each a resync).
        public var malformedNotifications = 0
        /// Losses reported by the socket (`ENOBUFS`), during a dump or after.
        public var overflows = 0
        /// Dumps that carried `NLM_F_DUMP_INTR` and were taken again.
        public var dumpInterruptions = 0
        /// Failed subscriptions, dumps and receives.
        public var failures = 0
        /// Mirrors installed from a dump (the first included).
        public var synchronizations = 0
        /// Mirrors installed from a dump after a loss (the first not included).
        public var resynchronizations = 0
        /// From the start of the last synchronization (the subscription it began with) to the
        /// installation of its mirror.
        public var lastSynchronizationDuration: Duration?
        /// The sizes of the last dumps installed.
        public var lastDumpSAs = 0
        public var lastDumpPolicies = 0
        /// Why the last attempt was abandoned or the mirror last went stale.
        public var lastStaleReason: StaleReason?

        public init() {}
    }

    /// How many times one table's dump is taken when it keeps coming back interrupted, before the
    /// attempt is abandoned (and started again after a pause).
    public static let maximumDumpAttempts = 5

    /// The types of notification the mirror follows: one of these that cannot be decoded is a loss.
    public static let followedTypes: Set<XfrmMessageType> = [
        .newSA, .updSA, .delSA, .expire, .flushSA, .newPolicy, .updPolicy, .delPolicy, .polExpire, .flushPolicy,
    ]

    private enum Phase: Sendable {
        case subscribing
        case dumpingSAs(attempt: Int)
        case dumpingPolicies(sas: [SecurityAssociation], attempt: Int)
        case live
    }

    /// The mirror served: the last one installed, kept current by notifications.
    public private(set) var mirror: XfrmMirror
    public private(set) var status: Status = .unsynchronized
    public private(set) var statistics = Statistics()
    /// What the driver must do next.
    public private(set) var nextAction: Action = .subscribe(after: .zero)

    private var phase: Phase = .subscribing
    /// Notifications read during the dumps, applied in order once the dumps are in.
    private var pending: [XfrmEvent] = []
    private var attemptStarted: ContinuousClock.Instant?
    /// Synchronization attempts abandoned since the last mirror was installed (for the back-off).
    private var abandonedAttempts = 0

    /// A machine that starts from `mirror` (empty by default; status unsynchronized until a dump).
    public init(mirror: XfrmMirror = XfrmMirror()) {
        self.mirror = mirror
    }

    /// Whether the mirror is the kernel's as of the last notification read.
    public var isSynchronized: Bool { status == .synchronized }

    /// Takes what the last action produced; returns (and records in ``nextAction``) the next action.
    @discardableResult
    public mutating func handle(_ input: Input, at now: ContinuousClock.Instant = .now) -> Action {
        nextAction = transition(input, now)
        return nextAction
    }

    private mutating func transition(_ input: Input, _ now: ContinuousClock.Instant) -> Action {
        switch (phase, input) {
        case (_, .failed(let why)):
            statistics.failures += 1
            return abandon(.failure(why))

        case (.subscribing, .subscribed):
            attemptStarted = now
            pending.removeAll()
            phase = .dumpingSAs(attempt: 1)
            return .dumpSAs

        case (.dumpingSAs(let attempt), .sasDumped(let dump)):
            switch dump {
            case .complete(let sas):
                phase = .dumpingPolicies(sas: sas, attempt: 1)
                return .dumpPolicies
            case .interrupted:
                statistics.dumpInterruptions += 1
                guard attempt < Self.maximumDumpAttempts else { return abandon(.dumpKeptInterrupted) }
                phase = .dumpingSAs(attempt: attempt + 1)
                return .dumpSAs
            case .overflow:
                statistics.overflows += 1
                return abandon(.overflow)
            }

        case (.dumpingPolicies(let sas, let attempt), .policiesDumped(let dump)):
            switch dump {
            case .complete(let policies):
                return install(sas: sas, policies: policies, now)
            case .interrupted:
                // The SA dump stands: no notification was lost, and those since the subscription
                // are kept for after the dumps.
                statistics.dumpInterruptions += 1
                guard attempt < Self.maximumDumpAttempts else { return abandon(.dumpKeptInterrupted) }
                phase = .dumpingPolicies(sas: sas, attempt: attempt + 1)
                return .dumpPolicies
            case .overflow:
                statistics.overflows += 1
                return abandon(.overflow)
            }

        case (.dumpingSAs, .notification(let event)), (.dumpingPolicies, .notification(let event)):
            // A driver with the dump on another socket hands these over while the dump runs; over
            // one socket they come after it. Either way they are applied after the dumps, in order.
            if let loss = lossReason(of: event) { return abandon(loss) }
            pending.append(event)
            return nextAction

        case (.live, .notification(let event)):
            if let loss = lossReason(of: event) { return abandon(loss) }
            apply(event)
            return .receive

        default:
            // An answer to an action that was not asked for: the driver is out of step with the
            // machine; start over rather than guess.
            statistics.failures += 1
            return abandon(.failure("unexpected \(input) while \(phase)"))
        }
    }

    /// Whether a notification means the mirror missed changes (and counts it).
    private mutating func lossReason(of event: XfrmEvent) -> StaleReason? {
        switch event {
        case .overflow:
            statistics.overflows += 1
            return .overflow
        case .other(let type, let why) where Self.followedTypes.contains(type):
            statistics.malformedNotifications += 1
            return .malformedNotification("\(type): \(why)")
        case .other(let type, _) where type == XfrmEventFeed.migrateMessage:
            return .migrated
        default:
            return nil
        }
    }

    private mutating func apply(_ event: XfrmEvent) {
        switch mirror.apply(event) {
        case .applied: statistics.eventsApplied += 1
        case .ignored: statistics.eventsIgnored += 1
        case .resynchronizationNeeded: break  // an overflow, handled by lossReason before
        }
    }

    /// Builds the new mirror from the dumps and the notifications read meanwhile, and installs it.
    private mutating func install(sas: [SecurityAssociation], policies: [PolicyEntry], _ now: ContinuousClock.Instant) -> Action {
        var fresh = XfrmMirror(sas: sas, policies: policies)
        swap(&mirror, &fresh)
        fresh = XfrmMirror()  // the old mirror's storage goes now, not at the next install
        for event in pending { apply(event) }
        pending.removeAll()
        if statistics.synchronizations > 0 { statistics.resynchronizations += 1 }
        statistics.synchronizations += 1
        statistics.lastDumpSAs = sas.count
        statistics.lastDumpPolicies = policies.count
        if let start = attemptStarted { statistics.lastSynchronizationDuration = now - start }
        status = .synchronized
        abandonedAttempts = 0
        phase = .live
        return .receive
    }

    /// Gives up the current subscription: the mirror is stale until a fresh subscription and dump.
    private mutating func abandon(_ reason: StaleReason) -> Action {
        if status != .unsynchronized { status = .stale(reason) }
        statistics.lastStaleReason = reason
        pending.removeAll()
        phase = .subscribing
        defer { abandonedAttempts += 1 }
        return .subscribe(after: Self.backOff(abandonedAttempts))
    }

    /// No wait for the first attempt after a loss; then 50 ms, doubling, at most 5 s.
    static func backOff(_ abandoned: Int) -> Duration {
        guard abandoned > 0 else { return .zero }
        return min(.milliseconds(50) * (1 << min(abandoned - 1, 10)), .seconds(5))
    }
}

/// A mirror kept by a ``MirrorSyncDriver`` and read from any thread: each ``snapshot()`` is one
/// consistent state (mirror, status, statistics) taken under a lock. Readers that keep a snapshot
/// while events arrive make the next change copy the mirror's storage once (copy-on-write).
public final class LiveMirror: Sendable {
    /// What a reader sees.
    public struct Snapshot: Sendable {
        public var mirror: XfrmMirror
        public var status: MirrorSync.Status
        public var statistics: MirrorSync.Statistics
        /// Whether the answers from ``mirror`` are current (otherwise say so: ``status``).
        public var isSynchronized: Bool { status == .synchronized }
    }

    let machine: Mutex<MirrorSync>

    public init(_ sync: MirrorSync = MirrorSync()) {
        machine = Mutex(sync)
    }

    /// The mirror, its status and the counters, consistently.
    public func snapshot() -> Snapshot {
        machine.withLock { Snapshot(mirror: $0.mirror, status: $0.status, statistics: $0.statistics) }
    }

    /// The status alone (cheap: no mirror copy is retained).
    public var status: MirrorSync.Status { machine.withLock { $0.status } }
    public var statistics: MirrorSync.Statistics { machine.withLock { $0.statistics } }

    /// Hands an input to the machine; returns the next action.
    @discardableResult
    public func handle(_ input: MirrorSync.Input, at now: ContinuousClock.Instant = .now) -> MirrorSync.Action {
        // A completed policy dump builds a whole new mirror: do it on a copy, outside the lock, and
        // swap it in (only the driver writes, so nothing changes in between). The copy shares the
        // old mirror's storage but never mutates it: install replaces it whole.
        if case .policiesDumped(.complete) = input {
            var copy = machine.withLock { $0 }
            if case .dumpPolicies = copy.nextAction {
                let action = copy.handle(input, at: now)
                machine.withLock { swap(&$0, &copy) }
                return action  // `copy` now holds the old mirror, released here, outside the lock
            }
        }
        return machine.withLock { $0.handle(input, at: now) }
    }

    /// The action the driver must carry out next.
    public var nextAction: MirrorSync.Action { machine.withLock { $0.nextAction } }
}

/// Carries out a ``MirrorSync``'s actions on an ``XfrmEventFeed`` (a netlink socket, or a fake
/// kernel in tests) and publishes the result in a ``LiveMirror``. Runs on one thread.
///
/// ```swift
/// let live = LiveMirror()
/// let driver = MirrorSyncDriver(live: live) { try XfrmEventFeed(netns: "server") }
/// Thread { driver.run { !stopped.load(ordering: .relaxed) } }.start()
/// let snapshot = live.snapshot()   // from any thread; check snapshot.isSynchronized
/// ```
public final class MirrorSyncDriver {
    public let live: LiveMirror
    private let makeFeed: () throws(XfrmKernelError) -> XfrmEventFeed
    private var feed: XfrmEventFeed?

    /// - Parameters:
    ///   - live: where the mirror is published.
    ///   - makeFeed: opens a new feed (a new socket); called for every (re)subscription.
    public init(live: LiveMirror = LiveMirror(), makeFeed: @escaping () throws(XfrmKernelError) -> XfrmEventFeed) {
        self.live = live
        self.makeFeed = makeFeed
    }

    /// A driver for the caller's network namespace or `netns`.
    public convenience init(netns: String?, live: LiveMirror = LiveMirror()) {
        self.init(live: live) { () throws(XfrmKernelError) in try XfrmEventFeed(netns: netns) }
    }

    /// Carries out the next action and hands its result to the machine. A back-off the machine asks
    /// for is waited here.
    /// - Returns: `false` when a receive timed out with nothing to read.
    /// - Throws: the feed's error; the machine has not seen it (``run(while:)`` hands it over).
    @discardableResult
    public func step() throws(XfrmKernelError) -> Bool {
        switch live.nextAction {
        case .subscribe(let delay):
            if delay > .zero { Thread.sleep(forTimeInterval: Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18) }
            feed = nil  // the old socket, and whatever is queued on it, goes first
            let fresh = try makeFeed()
            try fresh.subscribe()
            feed = fresh
            live.handle(.subscribed)
        case .dumpSAs:
            live.handle(.sasDumped(try subscribed().dumpSAs()))
        case .dumpPolicies:
            live.handle(.policiesDumped(try subscribed().dumpPolicies()))
        case .receive:
            guard let event = try subscribed().next() else { return false }
            live.handle(.notification(event))
        }
        return true
    }

    /// Hands a failure of the last step to the machine (which asks for a fresh subscription).
    public func fail(_ error: XfrmKernelError) {
        feed = nil
        live.handle(.failed(error.description))
    }

    /// Steps until `shouldContinue` returns false (checked after every step, and at least once per
    /// receive timeout); failures are handed to the machine, which backs off and starts over.
    public func run(while shouldContinue: () -> Bool) {
        while shouldContinue() {
            do { try step() } catch { fail(error) }
        }
    }

    private func subscribed() throws(XfrmKernelError) -> XfrmEventFeed {
        guard let feed else { throw XfrmKernelError(errno: 107, message: "no subscription (ENOTCONN)") }
        return feed
    }
}
