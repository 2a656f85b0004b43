public import IPsecModel
public import SecurityContexts

/// The SAD key of an inbound lookup (`xfrm_state_lookup`): destination address, SPI and protocol,
/// packed into integers so that hashing it allocates nothing.
public struct SADKey: Hashable, Sendable {
    var high: UInt64
    var low: UInt64
    var spi: UInt32
    var proto: UInt8
    var family: UInt8

    @inline(__always)
    public init(destination: IPAddress, spi: UInt32, proto: IPsecProtocol) {
        // The address's words, as the packet form below reads them (IPv4: the 32-bit value in
        // `low`): no byte array is made.
        let w = destination.words
        if destination.family == .inet {
            high = 0
            low = w.high >> 32
        } else {
            (high, low) = w
        }
        self.spi = spi
        self.proto = proto.rawValue
        self.family = UInt8(truncatingIfNeeded: destination.family.rawValue)
    }

    /// Two words into the hasher (not five fields): a dictionary probe per packet stays cheap.
    public func hash(into h: inout Hasher) {
        h.combine(high ^ low &* 0x9E37_79B9_7F4A_7C15)
        h.combine(UInt64(spi) << 16 | UInt64(proto) << 8 | UInt64(family))
    }

    /// The key of an SA: its destination, SPI and protocol.
    public init(_ sa: SecurityAssociation) { self.init(destination: sa.destination, spi: sa.spi, proto: sa.proto) }

    /// The key of a received packet, read from its bytes: the destination address (4 or 16 bytes,
    /// network order) and the SPI (network order), as the kernel's `xfrm_input` reads them.
    @inline(__always)
    public init(destination: UnsafeRawBufferPointer, spi: UInt32, proto: IPsecProtocol) {
        var high: UInt64 = 0, low: UInt64 = 0
        if destination.count == 16 {
            high = UInt64(bigEndian: destination.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
            low = UInt64(bigEndian: destination.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        } else {
            low = UInt64(UInt32(bigEndian: destination.loadUnaligned(fromByteOffset: 0, as: UInt32.self)))
        }
        self.high = high
        self.low = low
        self.spi = spi
        self.proto = proto.rawValue
        self.family = destination.count == 16 ? 10 : 2
    }
}

/// An ACQUIRE the kernel sent and has not resolved: its larval SA (state `XFRM_STATE_ACQ`) blocks new
/// ACQUIREs for the same template and endpoints, whatever the flow's label (Specs/kernel/labeled-ipsec.md,
/// edge 18), until an SA is installed for them or it expires (`net.core.xfrm_acq_expires`, 30 s by default).
public struct PendingAcquire: Sendable, Hashable {
    public var source: IPAddress
    public var destination: IPAddress
    public var proto: IPsecProtocol
    /// The template's mode and reqid, when the ACQUIRE carried its policy.
    public var mode: XfrmMode?
    public var reqid: UInt32?
    /// The flow's label the ACQUIRE carried (labeled policies only).
    public var label: SecurityContext?
    /// The kernel's acquire sequence number.
    public var sequence: UInt32
    /// When it was seen (seconds, on the caller's clock); `nil`: it never expires in the model.
    public var seenAt: Double?

    public init(
        source: IPAddress, destination: IPAddress, proto: IPsecProtocol, mode: XfrmMode? = nil, reqid: UInt32? = nil,
        label: SecurityContext? = nil, sequence: UInt32 = 0, seenAt: Double? = nil
    ) {
        self.source = source
        self.destination = destination
        self.proto = proto
        self.mode = mode
        self.reqid = reqid
        self.label = label
        self.sequence = sequence
        self.seenAt = seenAt
    }

    /// Whether this larval SA is what `xfrm_state_find` would meet for a template (endpoints,
    /// protocol, mode, reqid); labels are not compared.
    func blocks(_ t: PolicyTemplate, source: IPAddress, destination: IPAddress) -> Bool {
        self.source == source && self.destination == destination && proto == t.proto
            && (mode == nil || mode == t.mode) && (reqid == nil || t.reqid == 0 || reqid == t.reqid)
    }

    /// Whether an installed SA resolves it (the kernel replaces the larval SA on ADD/UPDSA).
    func isResolved(by sa: SecurityAssociation) -> Bool {
        sa.source == source && sa.destination == destination && sa.proto == proto
    }
}

/// The kernel's SAD and SPD as the resolver sees them: from the kernel (a dump kept current by the
/// monitor), or from a scenario, without a kernel.
///
/// SAs are indexed by ``SADKey``, and each SA's label is interned (``labelID(of:)``), so that an
/// inbound lookup hashes a few integers and never a context. Removed SAs leave a hole that is
/// reclaimed once holes outnumber live SAs, so every change costs amortized O(1).
public struct XfrmMirror: Sendable, Hashable {
    /// Live SAs and holes, in insertion order (the kernel prefers the most recently added SA).
    private var slots: [SecurityAssociation?] = []
    /// Per slot: the interned label (−1: unlabeled or empty).
    private var slotLabels: [Int32] = []
    /// The first slot of each SAD key, and further slots holding the same key (SAs that differ
    /// only in mark), in ascending order.
    private var index: [SADKey: Int] = [:]
    private var sharedKeys: [SADKey: [Int]] = [:]
    private var holes = 0
    /// Every label an SA has carried, interned; ``labelID(of:)`` numbers them.
    public private(set) var labels: [SecurityContext] = []
    private var labelNumbers: [SecurityContext: Int32] = [:]

    /// The SPD entries, in insertion order.
    public var policies: [PolicyEntry]
    /// ACQUIREs the kernel has sent and not yet resolved (larval SAs).
    public var acquires: [PendingAcquire]
    /// How long a larval SA lives (`net.core.xfrm_acq_expires`).
    public var acquireLifetime: Double = 30

    public init(sas: [SecurityAssociation] = [], policies: [PolicyEntry] = [], acquires: [PendingAcquire] = []) {
        self.policies = policies
        self.acquires = acquires
        for sa in sas { append(sa) }
    }

    /// The SAs, in insertion order. Setting it rebuilds the index.
    public var sas: [SecurityAssociation] {
        get { slots.compactMap { $0 } }
        set {
            slots = []
            slotLabels = []
            index = [:]
            sharedKeys = [:]
            holes = 0
            slots.reserveCapacity(newValue.count)
            for sa in newValue { append(sa) }
        }
    }

    /// Whether any SA or SPD entry carries a label (the kernel counts SELinux xfrm contexts).
    public var hasLabels: Bool {
        slotLabels.contains { $0 >= 0 } || policies.contains { $0.securityContext != nil } || acquires.contains { $0.label != nil }
    }

    /// The number of SAs.
    public var saCount: Int { slots.count - holes }

    /// The SA a packet names: destination, SPI, protocol (the SAD key), in constant time.
    public func sa(destination: IPAddress, spi: UInt32, proto: IPsecProtocol) -> SecurityAssociation? {
        index[SADKey(destination: destination, spi: spi, proto: proto)].flatMap { slots[$0] }
    }

    /// The interned label of the SA with this key: `nil` when there is no such SA, −1 when it is
    /// unlabeled, else an index into ``labels``.
    @inline(__always)
    public func labelID(of key: SADKey) -> Int32? {
        index[key].map { slotLabels[$0] }
    }

    /// The SAD index and the per-slot labels, for a reader that keeps them (copy-on-write
    /// references: no copy is made).
    var labelLookup: (index: [SADKey: Int], slotLabels: [Int32]) { (index, slotLabels) }

    /// The SAs from the most recently added to the oldest.
    func newestFirst() -> some Sequence<SecurityAssociation> { slots.reversed().lazy.compactMap { $0 } }

    // MARK: - Changes

    private mutating func intern(_ label: SecurityContext?) -> Int32 {
        guard let label else { return -1 }
        if let n = labelNumbers[label] { return n }
        let n = Int32(labels.count)
        labels.append(label)
        labelNumbers[label] = n
        return n
    }

    private mutating func append(_ sa: SecurityAssociation) {
        let key = SADKey(sa)
        // The first SA with a key wins, as a linear scan of the SAD would find it.
        if index[key] == nil { index[key] = slots.count } else { sharedKeys[key, default: []].append(slots.count) }
        slots.append(sa)
        slotLabels.append(intern(sa.securityContext))
    }

    private func slot(sameKernelKeyAs sa: SecurityAssociation) -> Int? {
        let key = SADKey(sa)
        guard let first = index[key] else { return nil }
        if slots[first]?.hasSameKernelKey(as: sa) == true { return first }
        return sharedKeys[key]?.first { slots[$0]?.hasSameKernelKey(as: sa) == true }
    }

    /// Adds an SA, or replaces the one with the same kernel key (destination, SPI, protocol, mark).
    /// An SA for the endpoints of a pending ACQUIRE resolves it.
    public mutating func insert(_ sa: SecurityAssociation) {
        acquires.removeAll { $0.isResolved(by: sa) }
        if let i = slot(sameKernelKeyAs: sa) {
            slots[i] = sa
            slotLabels[i] = intern(sa.securityContext)
        } else {
            append(sa)
        }
    }

    /// Removes the SA with the same kernel key; `false` if there was none.
    @discardableResult
    public mutating func remove(_ sa: SecurityAssociation) -> Bool {
        guard let i = slot(sameKernelKeyAs: sa) else { return false }
        clear(slot: i)
        compactIfSparse()
        return true
    }

    /// Removes every SA `predicate` selects.
    public mutating func removeSAs(where predicate: (SecurityAssociation) -> Bool) {
        for i in slots.indices { if let sa = slots[i], predicate(sa) { clear(slot: i) } }
        compactIfSparse()
    }

    private mutating func clear(slot i: Int) {
        let key = SADKey(slots[i]!)
        slots[i] = nil
        slotLabels[i] = -1
        holes += 1
        if index[key] == i {
            // The next SA with the same key, if any, takes over.
            if var rest = sharedKeys[key], !rest.isEmpty {
                index[key] = rest.removeFirst()
                sharedKeys[key] = rest.isEmpty ? nil : rest
            } else {
                index[key] = nil
            }
        } else {
            sharedKeys[key]?.removeAll { $0 == i }
        }
    }

    private mutating func compactIfSparse() {
        guard holes > 64, holes * 2 > slots.count else { return }
        let live = sas
        self.sas = live
    }

    /// Drops larval SAs older than ``acquireLifetime`` at time `now` (the caller's clock).
    public mutating func expireAcquires(now: Double) {
        let lifetime = acquireLifetime
        acquires.removeAll { Self.isExpired($0, now: now, lifetime: lifetime) }
    }

    /// Whether ``expireAcquires(now:)`` would drop a larval SA.
    public func hasExpiredAcquires(now: Double) -> Bool {
        acquires.contains { Self.isExpired($0, now: now, lifetime: acquireLifetime) }
    }

    private static func isExpired(_ a: PendingAcquire, now: Double, lifetime: Double) -> Bool {
        a.seenAt.map { now - $0 >= lifetime } ?? false
    }

    public static func == (a: XfrmMirror, b: XfrmMirror) -> Bool {
        a.sas == b.sas && a.policies == b.policies && a.acquires == b.acquires
    }

    public func hash(into h: inout Hasher) {
        h.combine(sas)
        h.combine(policies)
        h.combine(acquires)
    }
}
