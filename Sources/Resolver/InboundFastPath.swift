public import DecisionEngine
public import IPsecModel
public import SecurityContexts

/// The verdict of the inbound fast path: what happened to the packet and the peer SID the checks
/// used. ``InboundFastPath/explain(_:spi:proto:socket:interface:source:)`` gives the same answer with its
/// reasons.
public struct InboundVerdict: Sendable, Hashable {
    public enum Outcome: UInt8, Sendable, Hashable {
        case delivered
        /// A check denied delivery (the AVC record was written, as the kernel logs it).
        case denied
        /// No SA has the packet's SAD key: dropped (`XFRMINNOSTATES`).
        case noSA
    }

    public var outcome: Outcome
    /// The SID the checks used for the peer: the SA's label, or `unlabeled`.
    public var peer: SID
    public var labeledBySA: Bool
}

/// Inbound resolution and delivery for one SA per packet at table speed: a snapshot of a
/// ``Resolver`` whose SA labels are already SIDs and whose permissions are already bits, so that a
/// packet costs one probe of a flat SAD table and, at most, one to three AVC lookups, with no
/// context hashed and no string built. Reasons are built only when asked for
/// (``explain(_:spi:proto:socket:interface:source:)``, the full resolver). Build a new one after the mirror
/// changes: it costs one SID lookup per distinct label and one table insert per SA.
///
/// Per SA label it remembers the last socket and origin it granted delivery to, tagged with the
/// AVC's `AccessVectorCache/generation`: a policy reload or boolean change empties that memo at
/// once. Only grants that write no audit record are remembered; a denial, an `auditallow` grant or
/// a permissive grant goes to the AVC every time, so every AVC record is written as the kernel
/// writes it. A value per worker thread: ``verdict(_:socket:origin:)`` is `mutating`.
///
/// It gives the same verdict as `resolver.deliver(resolver.inbound(...), ...)` for every packet
/// (ResolverTests check it exhaustively on the examples).
public struct InboundFastPath: Sendable {
    public let resolver: Resolver
    private let table: SADLabelTable
    private let labelSIDs: [SID]
    /// Per label (the last slot: unlabeled), the last remembered grant.
    private var memo: [Memo]
    /// Whether grants are remembered (on by default; off, every packet goes to the AVC).
    public var remembersGrants = true

    private struct Memo {
        var generation: UInt32 = 0
        var socket: UInt32 = 0
        var netif: UInt32 = 0
        var node: UInt32 = 0
    }
    private let unlabeledSID: SID
    private let cache: AccessVectorCache
    private let peerControls: Bool
    private let peerChecksOn: Bool
    /// `always_check_network`: `packet { recv }` on the secmark (0, unlabeled) too (``Resolver/secmarkEnabled``).
    private let secmarkOn: Bool
    private let unknownAllowed: Bool
    private let recvfrom: (Int, UInt32)?
    private let peerRecv: (Int, UInt32)?
    private let netifIngress: (Int, UInt32)?
    private let nodeRecvfrom: (Int, UInt32)?
    private let packetRecv: (Int, UInt32)?

    /// Where a packet came from, as SIDs: the interface's and the source node's labels (checked
    /// only with `network_peer_controls`). Resolve it once per interface and source with
    /// ``origin(interface:source:)``.
    public struct Origin: Sendable, Hashable {
        public var netif: SID?
        public var node: SID?
        public init(netif: SID? = nil, node: SID? = nil) {
            self.netif = netif
            self.node = node
        }
    }

    public init(_ resolver: Resolver) {
        self.resolver = resolver
        let (index, slotLabels) = resolver.mirror.labelLookup
        table = SADLabelTable(index.map { ($0.key, slotLabels[$0.value]) })
        let server = resolver.authorizer.cache.server
        cache = resolver.authorizer.cache
        let unlabeled = (try? server.initialSID("unlabeled")) ?? SID(rawValue: 0)
        unlabeledSID = unlabeled
        // A label the policy does not (or no longer) know is evaluated as unlabeled
        // (Specs/kernel/labeled-ipsec.md, edge 29).
        labelSIDs = resolver.mirror.labels.map { (try? server.sid(for: $0)) ?? unlabeled }
        memo = Array(repeating: Memo(), count: labelSIDs.count + 1)
        let policy = server.policy
        peerControls = policy.hasCapability("network_peer_controls")
        peerChecksOn = resolver.peerLabelingEnabled
        secmarkOn = resolver.secmarkEnabled
        unknownAllowed = policy.handleUnknown == .allow
        recvfrom = server.permission("association", "recvfrom")
        peerRecv = server.permission("peer", "recv")
        netifIngress = server.permission("netif", "ingress")
        nodeRecvfrom = server.permission("node", "recvfrom")
        packetRecv = server.permission("packet", "recv")
    }

    /// The SIDs of an interface's and a source address's labels (`netifcon`/`nodecon`, else the
    /// initial SIDs), as ``Resolver/deliver(_:to:interface:source:)`` uses them.
    public func origin(interface: String?, source: IPAddress?) -> Origin {
        let server = cache.server
        let netif = resolver.netifLabel(interface).flatMap { try? server.sid(for: $0) }
        let node = source.flatMap { resolver.nodeLabel($0) }.flatMap { try? server.sid(for: $0) }
        return Origin(netif: netif, node: node)
    }

    /// One check; `quiet` turns false when the answer is not a plain, unaudited grant.
    @inline(__always)
    private func allowed(_ s: SID, _ t: SID, _ p: (Int, UInt32)?, _ quiet: inout Bool, _ quietOnly: Bool) -> Bool {
        guard let (c, bit) = p else { return unknownAllowed }
        // The common case, granted and not audited, straight from the cached decision; a denial
        // or an auditallow goes through the full check (enforcement, permissive, the record),
        // unless only a quiet answer is wanted.
        let d = cache.decision(s, t, classValue: c)
        if bit & ~d.allowed == 0 && (bit & d.auditAllow == 0 || d.neverAudit) { return true }
        quiet = false
        if quietOnly { return false }
        return cache.check(s, t, classValue: c, requested: bit).granted
    }

    /// The verdict for a packet that arrived on the SA with SAD key `key`, for a socket with SID
    /// `socket`.
    @inline(__always)
    public mutating func verdict(_ key: SADKey, socket: SID, origin: Origin = Origin()) -> InboundVerdict {
        resolve(key, socket: socket, origin: origin, quietOnly: false)!
    }

    /// The verdict only when it writes no AVC record: a remembered grant, or grants that are plain
    /// in the cache (allowed, not audited). `nil` when a check would deny, audit or grant
    /// permissively: then ask the full resolver (``explain(_:spi:proto:socket:interface:source:)``),
    /// which makes those checks once, with their records and reasons: table speed for the common
    /// case, every record written once. (The userspace data plane asks the resolver's
    /// ``DecisionCache`` instead: Specs/resolver/semantics.md.)
    @inline(__always)
    public mutating func quietVerdict(_ key: SADKey, socket: SID, origin: Origin = Origin()) -> InboundVerdict? {
        resolve(key, socket: socket, origin: origin, quietOnly: true)
    }

    @inline(__always)
    private mutating func resolve(_ key: SADKey, socket: SID, origin: Origin, quietOnly: Bool) -> InboundVerdict? {
        guard let id = table.label(of: key) else {
            return InboundVerdict(outcome: .noSA, peer: SID(rawValue: 0), labeledBySA: false)
        }
        let peer = id < 0 ? unlabeledSID : labelSIDs[Int(id)]
        let slot = id < 0 ? labelSIDs.count : Int(id)
        let generation = cache.generation
        let netif = origin.netif?.rawValue ?? 0, node = origin.node?.rawValue ?? 0
        let m = memo[slot]
        if remembersGrants && m.generation == generation && m.socket == socket.rawValue && m.netif == netif && m.node == node {
            return InboundVerdict(outcome: .delivered, peer: peer, labeledBySA: id >= 0)
        }
        var ok: Bool, quiet = true
        if peerControls {
            ok = true
            guard peerChecksOn || secmarkOn else { return InboundVerdict(outcome: .delivered, peer: peer, labeledBySA: id >= 0) }
            if peerChecksOn {
                if let netif = origin.netif { ok = allowed(peer, netif, netifIngress, &quiet, quietOnly) }
                if ok && (quiet || !quietOnly), let node = origin.node { ok = allowed(peer, node, nodeRecvfrom, &quiet, quietOnly) }
                if ok && (quiet || !quietOnly) { ok = allowed(socket, peer, peerRecv, &quiet, quietOnly) }
            }
            if ok && secmarkOn && (quiet || !quietOnly) { ok = allowed(socket, unlabeledSID, packetRecv, &quiet, quietOnly) }
        } else {
            ok = true
            if secmarkOn { ok = allowed(socket, unlabeledSID, packetRecv, &quiet, quietOnly) }
            if ok && (quiet || !quietOnly) { ok = allowed(socket, peer, recvfrom, &quiet, quietOnly) }
        }
        if quietOnly && !quiet { return nil }
        if ok && quiet { memo[slot] = Memo(generation: generation, socket: socket.rawValue, netif: netif, node: node) }
        return InboundVerdict(outcome: ok ? .delivered : .denied, peer: peer, labeledBySA: id >= 0)
    }

    /// The same resolution with every check and reason: the full resolver's answer.
    public func explain(
        _ destination: IPAddress, spi: UInt32, proto: IPsecProtocol, socket: SecurityContext,
        interface: String? = nil, source: IPAddress? = nil
    ) -> DeliveryResolution {
        resolver.deliver(resolver.inbound(destination: destination, spi: spi, proto: proto), to: socket, interface: interface, source: source)
    }
}

/// The SAD keys of a mirror and their interned labels in one open-addressing table: a key and its
/// label share a 32-byte entry, so a lookup touches one cache line; the hash is a seeded multiply
/// of the key's words (the keys are the installed SAs', not chosen by senders, and the load factor
/// stays under one half, so a probe for an absent key ends at the first empty entry nearby).
struct SADLabelTable: Sendable {
    private struct Entry {
        var key: SADKey
        /// −2: empty; −1: unlabeled; else the label's number.
        var label: Int32
    }

    private let entries: [Entry]
    private let mask: Int
    private let seed: UInt64

    init(_ pairs: [(SADKey, Int32)]) {
        var size = 16
        while size < pairs.count * 2 + 1 { size <<= 1 }
        mask = size - 1
        seed = UInt64.random(in: 1...UInt64.max) | 1
        let empty = Entry(key: SADKey(destination: IPAddress.any(.inet), spi: 0, proto: .any), label: -2)
        var entries = [Entry](repeating: empty, count: size)
        for (key, label) in pairs {
            var i = Self.slot(key, seed, mask)
            while entries[i].label != -2 { i = (i + 1) & mask }
            entries[i] = Entry(key: key, label: label)
        }
        self.entries = entries
    }

    @inline(__always)
    private static func slot(_ k: SADKey, _ seed: UInt64, _ mask: Int) -> Int {
        var h = (k.low ^ seed) &* 0x9E37_79B9_7F4A_7C15
        h ^= k.high &* 0xC2B2_AE3D_27D4_EB4F
        h ^= (UInt64(k.spi) << 16 | UInt64(k.proto) << 8 | UInt64(k.family)) &* 0x1656_67B1_9E37_79F9
        return Int(truncatingIfNeeded: h ^ (h >> 29)) & mask
    }

    /// The label of the SA with this key: `nil` when there is none, −1 when it is unlabeled.
    @inline(__always)
    func label(of key: SADKey) -> Int32? {
        entries.withUnsafeBufferPointer { e in
            var i = Self.slot(key, seed, mask)
            while true {
                let entry = e[i]
                if entry.label == -2 { return nil }
                if entry.key == key { return entry.label }
                i = (i + 1) & mask
            }
        }
    }
}
