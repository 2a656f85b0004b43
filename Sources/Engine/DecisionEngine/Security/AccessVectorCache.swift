import Synchronization

/// The access vector cache: decisions of a ``SecurityServer`` cached per (source SID, target SID,
/// class), as the kernel's AVC (`security/selinux/avc.c`) and libselinux's caches them.
///
/// - Invalidation: every entry carries the policy sequence number it was computed under. A reload
///   or boolean change resets the cache to the new number (the server calls ``reset(seqno:)``), and
///   an insert computed under an older number is refused (libselinux `avc_insert`, `EAGAIN`).
/// - Permissive: when a denial is not enforced (permissive mode or a permissive domain), the
///   denied permissions are added to the cached entry, so that they are audited once, as the
///   kernel's `avc_denied` → `avc_update_node(AVC_CALLBACK_GRANT)` does.
/// - Bounded: at `capacity` entries the cache is emptied (a reclaim) and counted.
public final class AccessVectorCache: Sendable {
    /// Counters, as `/sys/fs/selinux/avc/cache_stats` reports them.
    public struct Statistics: Sendable, Hashable {
        public var lookups = 0
        public var hits = 0
        public var misses = 0
        /// Inserts refused because the decision was computed under an older policy.
        public var staleInsertsRefused = 0
        /// Times the cache was emptied because it was full.
        public var reclaims = 0
        /// Times the cache was reset by a policy change.
        public var resets = 0
        /// Entries now held.
        public var entries = 0
    }

    private struct Table {
        var keys: [UInt64]
        var values: [AVDecision]
        var mask: Int
        var count = 0
        var latestSeqno: UInt32
        var stats = Statistics()
    }

    public let server: SecurityServer
    private let capacity: Int
    private let table: Mutex<Table>
    private let generationCounter = Atomic<UInt32>(1)

    /// A number that changes whenever cached decisions may have changed (a reset by a policy
    /// reload or a boolean change). A reader that keeps decisions of its own in front of the cache
    /// (the resolver's inbound fast path) compares it, without taking the cache's lock.
    public var generation: UInt32 { generationCounter.load(ordering: .acquiring) }

    /// A cache in front of `server`, holding at most `capacity` entries.
    public init(server: SecurityServer, capacity: Int = 8192) {
        self.server = server
        self.capacity = max(16, capacity)
        var size = 16
        while size < self.capacity * 2 { size <<= 1 }
        let empty = AVDecision(allowed: 0, auditAllow: 0, auditDeny: 0, permissive: false, seqno: 0)
        table = Mutex(Table(keys: Array(repeating: 0, count: size), values: Array(repeating: empty, count: size), mask: size - 1, latestSeqno: server.seqno))
        server.onPolicyChange { [weak self] seqno in self?.reset(seqno: seqno) }
    }

    @inline(__always)
    static func key(_ s: SID, _ t: SID, _ c: Int) -> UInt64 {
        UInt64(s.rawValue & 0xFF_FFFF) << 40 | UInt64(t.rawValue & 0xFF_FFFF) << 16 | UInt64(c & 0xFFFF)
    }

    @inline(__always)
    private static func slot(_ key: UInt64, _ mask: Int) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 40) & mask
    }

    /// The cached decision, without computing on a miss.
    @inline(__always)
    public func lookup(_ ssid: SID, _ tsid: SID, classValue c: Int) -> AVDecision? {
        let key = AccessVectorCache.key(ssid, tsid, c)
        return table.withLock { t -> AVDecision? in
            t.stats.lookups += 1
            var i = AccessVectorCache.slot(key, t.mask)
            while true {
                let k = t.keys[i]
                if k == key { t.stats.hits += 1; return t.values[i] }
                if k == 0 { t.stats.misses += 1; return nil }
                i = (i + 1) & t.mask
            }
        }
    }

    /// Caches a decision. Refused (returns `false`) when it was computed under an older policy.
    @discardableResult
    public func insert(_ ssid: SID, _ tsid: SID, classValue c: Int, _ decision: AVDecision) -> Bool {
        let key = AccessVectorCache.key(ssid, tsid, c)
        let capacity = self.capacity
        return table.withLock { t -> Bool in
            guard decision.seqno >= t.latestSeqno else {
                t.stats.staleInsertsRefused += 1
                return false
            }
            if t.count >= capacity {
                for i in t.keys.indices { t.keys[i] = 0 }
                t.count = 0
                t.stats.reclaims += 1
            }
            var i = AccessVectorCache.slot(key, t.mask)
            while t.keys[i] != 0 && t.keys[i] != key { i = (i + 1) & t.mask }
            if t.keys[i] == 0 { t.count += 1 }
            t.keys[i] = key
            t.values[i] = decision
            return true
        }
    }

    /// The decision for (source, target, class): from the cache, or computed and cached
    /// (`avc_has_perm_noaudit` without the enforcement).
    public func decision(_ ssid: SID, _ tsid: SID, classValue c: Int) -> AVDecision {
        if let d = lookup(ssid, tsid, classValue: c) { return d }
        let d = server.computeAV(ssid, tsid, classValue: c)
        insert(ssid, tsid, classValue: c, d)
        return d
    }

    /// Adds permissions to a cached entry after a permissive denial (`AVC_CALLBACK_GRANT`).
    func grant(_ ssid: SID, _ tsid: SID, classValue c: Int, _ perms: UInt32, seqno: UInt32) {
        let key = AccessVectorCache.key(ssid, tsid, c)
        table.withLock { t in
            var i = AccessVectorCache.slot(key, t.mask)
            while true {
                let k = t.keys[i]
                if k == 0 { return }
                if k == key {
                    if t.values[i].seqno == seqno { t.values[i].allowed |= perms }
                    return
                }
                i = (i + 1) & t.mask
            }
        }
    }

    /// Empties the cache and accepts only decisions computed under `seqno` or later
    /// (`avc_ss_reset`).
    public func reset(seqno: UInt32) {
        table.withLock { t in
            for i in t.keys.indices { t.keys[i] = 0 }
            t.count = 0
            t.latestSeqno = max(t.latestSeqno, seqno)
            t.stats.resets += 1
        }
        generationCounter.add(1, ordering: .releasing)
    }

    /// The counters so far.
    public var statistics: Statistics {
        table.withLock { t in
            var s = t.stats
            s.entries = t.count
            return s
        }
    }
}
