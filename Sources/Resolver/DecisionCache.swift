import DecisionEngine
import IPsecModel

/// The resolver's one cache of decisions in front of the AVC (Specs/resolver/semantics.md,
/// "The decision cache"): per packet question — an inbound packet's policy check and delivery to
/// one socket, or an outbound flow's SA — the answer the full resolver gave, when it wrote no
/// record.
///
/// - **What may be cached:** only answers whose every check passed and wrote no AVC record (no
///   denial, no `auditallow`, no permissive grant), so every record is written as the kernel
///   writes it: a packet whose answer is not cached goes through the full resolver again.
/// - **Invalidation:** every entry carries the AVC's `AccessVectorCache/generation` it was
///   computed under and is void under another (a policy reload or a boolean change); every change
///   of the resolver's state (SAs, SPD entries, pending ACQUIREs, its flags) empties the cache.
/// - **Bounded:** at ``capacity`` entries it is emptied.
///
/// A value (part of a ``Resolver``): one thread owns it.
public struct DecisionCache: Sendable {
    /// One packet's question, packed in integers: hashing it is a few multiplications.
    struct Key: Hashable, Sendable {
        /// Inbound: the SA the packet came through (all zero for clear traffic); outbound: zero.
        var sa: SADKey
        var sourceHigh: UInt64, sourceLow: UInt64
        var destinationHigh: UInt64, destinationLow: UInt64
        /// Source port << 16 | destination port.
        var ports: UInt32
        /// Inbound: the receiving socket's SID; outbound: the sending socket's.
        var subject: UInt32
        /// 1 inbound, 2 outbound; plus the families.
        var kind: UInt32

        init(_ kind: UInt32, sa: SADKey, _ source: IPAddress, _ destination: IPAddress, _ sourcePort: UInt16, _ destinationPort: UInt16, _ subject: SID) {
            self.sa = sa
            (sourceHigh, sourceLow) = source.words
            (destinationHigh, destinationLow) = destination.words
            ports = UInt32(sourcePort) << 16 | UInt32(destinationPort)
            self.subject = subject.rawValue
            self.kind = kind | UInt32(source.family.rawValue) << 8 | UInt32(destination.family.rawValue) << 16
        }

        /// An inbound packet: the SA it came through (`nil`: clear), its inner addresses and ports,
        /// and the receiving socket.
        @inline(__always)
        static func inbound(_ source: IPAddress, _ destination: IPAddress, _ sourcePort: UInt16, _ destinationPort: UInt16, sa: SADKey?, socket: SID) -> Key {
            Key(1, sa: sa ?? Self.none, source, destination, sourcePort, destinationPort, socket)
        }

        /// An outbound flow (addresses and ports) from a socket with SID `sender`.
        @inline(__always)
        static func outbound(_ source: IPAddress, _ destination: IPAddress, _ sourcePort: UInt16, _ destinationPort: UInt16, sender: SID) -> Key {
            Key(2, sa: Self.none, source, destination, sourcePort, destinationPort, sender)
        }

        fileprivate static let none = SADKey(destination: IPAddress.any(.inet), spi: 0, proto: .any)

        @inline(__always)
        func slot(_ seed: UInt64, _ mask: Int) -> Int {
            var h = (sa.low ^ seed) &* 0x9E37_79B9_7F4A_7C15
            h ^= (sa.high ^ UInt64(sa.spi) << 8 ^ UInt64(sa.proto)) &* 0xC2B2_AE3D_27D4_EB4F
            h ^= (sourceHigh ^ sourceLow >> 1) &* 0x1656_67B1_9E37_79F9
            h ^= (destinationHigh ^ destinationLow >> 1) &* 0x27D4_EB2F_1656_67C5
            h ^= (UInt64(ports) << 32 | UInt64(subject)) &* 0x85EB_CA77_C2B2_AE63
            h ^= UInt64(kind) &* 0xFF51_AFD7_ED55_8CCD
            return Int(truncatingIfNeeded: h ^ (h >> 29)) & mask
        }
    }

    /// What an outbound entry holds: the resolution the flow's first datagram got (the SPD entry,
    /// the SA and the checks, the egress checks included). A class, so that a hit hands out one
    /// reference rather than a copy of the resolution.
    public final class Route: Sendable {
        /// The resolution: `.protected(entry, sa)`, and the checks of the first datagram.
        public let resolution: OutboundResolution
        init(_ resolution: OutboundResolution) { self.resolution = resolution }
    }

    private struct Entry {
        var key: Key
        /// The AVC generation it was computed under; 0: an empty slot.
        var generation: UInt32
        var route: Route?
    }

    /// At most this many entries; at this count the cache is emptied.
    public static let capacity = 4096

    private var entries: [Entry] = []
    private var count = 0
    /// The generation of the last insert: an insert under another empties the cache first.
    private var generation: UInt32 = 0
    private var mask = 0
    private let seed = UInt64.random(in: 1...UInt64.max) | 1

    /// An empty cache (it allocates on its first insert).
    public init() {}

    /// The number of entries held (some may be void under a newer generation).
    public var entryCount: Int { count }

    /// Forgets every decision.
    public mutating func removeAll() {
        guard count > 0 else { return }
        for i in entries.indices { entries[i] = Entry(key: entries[i].key, generation: 0, route: nil) }
        count = 0
    }

    /// The slot holding `key` under `generation`, if any.
    @inline(__always)
    private func find(_ key: Key, _ generation: UInt32) -> Int? {
        guard count > 0 else { return nil }
        return entries.withUnsafeBufferPointer { e -> Int? in
            var i = key.slot(seed, mask)
            while true {
                if e[i].generation == 0 { return nil }
                if e[i].key == key { return e[i].generation == generation ? i : nil }
                i = (i + 1) & mask
            }
        }
    }

    /// Whether an inbound packet's question is answered: accepted and delivered, without a record.
    @inline(__always)
    func delivers(_ key: Key, generation: UInt32) -> Bool { find(key, generation) != nil }

    /// An outbound flow's cached resolution.
    func route(_ key: Key, generation: UInt32) -> Route? {
        find(key, generation).flatMap { entries[$0].route }
    }

    /// Remembers an answer computed under `generation` (never 0: the AVC's start at 1).
    mutating func insert(_ key: Key, generation: UInt32, route: OutboundResolution? = nil) {
        guard generation != 0 else { return }
        if count >= Self.capacity || generation != self.generation { removeAll() }
        self.generation = generation
        if count * 2 >= entries.count { grow() }
        let entry = Entry(key: key, generation: generation, route: route.map(Route.init))
        var i = key.slot(seed, mask)
        while entries[i].generation != 0 {
            if entries[i].key == key { entries[i] = entry; return }
            i = (i + 1) & mask
        }
        entries[i] = entry
        count += 1
    }

    private mutating func grow() {
        let old = entries
        let size = max(16, entries.count * 2)
        mask = size - 1
        entries = Array(
            repeating: Entry(key: Key(0, sa: Key.none, .any(.inet), .any(.inet), 0, 0, SID(rawValue: 0)), generation: 0, route: nil),
            count: size)
        count = 0
        for e in old where e.generation != 0 {
            var i = e.key.slot(seed, mask)
            while entries[i].generation != 0 { i = (i + 1) & mask }
            entries[i] = e
            count += 1
        }
    }
}
