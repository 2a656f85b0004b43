public import IPsecModel
public import SecurityContexts

/// An SA's lifetime as the kernel keeps it: the limits of `struct xfrm_lifetime_cfg` and the
/// counters of `struct xfrm_lifetime_cur` (Specs/dataplane/node.md, "Lifetimes").
///
/// - Before each packet (`xfrm_state_check_expire`): the first use is remembered; counters at or
///   over a hard byte or packet limit expire the SA and refuse the packet; at or over a soft one,
///   the soft expiry is reported once.
/// - After each packet sealed or opened, the counters grow by one packet and by the bytes the
///   kernel counts: the transport-mode payload (the UDP segment) or the tunnel-mode inner packet.
///   So the packet that crosses a limit passes, and the next one meets it.
/// - On the clock (`xfrm_timer_handler`): `add_expires_seconds` after the SA was added, and
///   `use_expires_seconds` after its first use (never, if it is never used), hard then soft.
///   A limit of 0 seconds is none, as in the kernel; byte and packet limits of `UInt64.max`
///   (`XFRM_INF`) are none.
final class SALifetime {
    let sa: SecurityAssociation
    /// `sa.lifetime`, held apart: the per-packet checks read it without touching the SA.
    let limits: LifetimeConfig
    /// Whether any limit is in seconds (else the clock is never read).
    private let timed: Bool
    private(set) var bytes: UInt64 = 0
    private(set) var packets: UInt64 = 0
    /// When the node first looked at the SA's clock: when it was added (an SA installed with the
    /// node counts from the host's first tick, which follows at once).
    private(set) var addTime: Double?
    private(set) var useTime: Double?
    /// The soft expiry was reported (the kernel's `km.dying`).
    private(set) var dying = false

    enum Verdict: Equatable {
        case valid
        case soft(String)
        case hard(String)
    }

    init(_ sa: SecurityAssociation) {
        self.sa = sa
        limits = sa.lifetime
        timed = Self.hasTimeLimits(limits)
    }

    /// Starts the clock of an SA added now (a key manager's SA), if it has not started.
    func start(_ now: Double) {
        if addTime == nil { addTime = now }
    }

    /// Whether any limit is set: an SA without one needs no bookkeeping.
    static func limited(_ l: LifetimeConfig) -> Bool {
        l.softByteLimit != .max || l.hardByteLimit != .max || l.softPacketLimit != .max || l.hardPacketLimit != .max || hasTimeLimits(l)
    }

    private static func hasTimeLimits(_ l: LifetimeConfig) -> Bool {
        l.softAddExpiresSeconds != 0 || l.hardAddExpiresSeconds != 0 || l.softUseExpiresSeconds != 0 || l.hardUseExpiresSeconds != 0
    }

    /// The check before a packet: the clock's limits first (the kernel's timer would have fired),
    /// then the counters'.
    func beforePacket(now: @autoclosure () -> Double) -> Verdict {
        var clock = Verdict.valid
        if timed {
            let t = now()
            if useTime == nil { useTime = t }
            clock = onClock(now: t)
            if case .hard = clock { return clock }
        }
        if bytes >= limits.hardByteLimit { return .hard("\(bytes) bytes reached byte-hard \(limits.hardByteLimit)") }
        if packets >= limits.hardPacketLimit { return .hard("\(packets) packets reached packet-hard \(limits.hardPacketLimit)") }
        if case .soft = clock { return clock }
        guard !dying else { return .valid }
        if bytes >= limits.softByteLimit { dying = true; return .soft("\(bytes) bytes reached byte-soft \(limits.softByteLimit)") }
        if packets >= limits.softPacketLimit { dying = true; return .soft("\(packets) packets reached packet-soft \(limits.softPacketLimit)") }
        return .valid
    }

    /// Counts one packet of `length` bytes, as the kernel does after the transform.
    func count(_ length: Int) {
        bytes &+= UInt64(length)
        packets &+= 1
    }

    /// The clock's limits: hard add, hard use, then soft add, soft use (a soft expiry once).
    func onClock(now: Double) -> Verdict {
        start(now)
        let age = now - addTime!
        if limits.hardAddExpiresSeconds != 0 && age >= Double(limits.hardAddExpiresSeconds) {
            return .hard("\(limits.hardAddExpiresSeconds) s since it was added (time-hard)")
        }
        if limits.hardUseExpiresSeconds != 0, let used = useTime, now - used >= Double(limits.hardUseExpiresSeconds) {
            return .hard("\(limits.hardUseExpiresSeconds) s since its first use (time-use-hard)")
        }
        guard !dying else { return .valid }
        if limits.softAddExpiresSeconds != 0 && age >= Double(limits.softAddExpiresSeconds) {
            dying = true
            return .soft("\(limits.softAddExpiresSeconds) s since it was added (time-soft)")
        }
        if limits.softUseExpiresSeconds != 0, let used = useTime, now - used >= Double(limits.softUseExpiresSeconds) {
            dying = true
            return .soft("\(limits.softUseExpiresSeconds) s since its first use (time-use-soft)")
        }
        return .valid
    }
}

/// An SA reached a lifetime limit, as the kernel reports it to key managers (`XFRM_MSG_EXPIRE`,
/// `struct xfrm_user_expire`): soft, a warning to negotiate a new SA; hard, the SA is deleted.
public struct ExpireEvent: Sendable, Hashable, CustomStringConvertible {
    public var source: IPAddress
    public var sa: SAIdentifier
    public var label: SecurityContext?
    /// `hard` in `struct xfrm_user_expire`.
    public var hard: Bool
    /// Which limit, with the counter's value.
    public var reason: String

    public var description: String {
        "EXPIRE \(hard ? "hard" : "soft") src \(source) \(sa)" + (label.map { " ctx \($0)" } ?? " (unlabeled)")
            + ": \(reason)" + (hard ? "; the SA is deleted" : "")
    }
}
