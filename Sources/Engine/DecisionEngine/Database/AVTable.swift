/// The access vectors one TE key contributes: what `allow`, `auditallow` and `dontaudit`/`auditdeny`
/// rules for (source, target, class) say, merged.
public struct AVEntry: Sendable, Hashable {
    /// `allow`: ORed.
    public var allowed: UInt32
    /// `auditallow`: ORed.
    public var auditAllow: UInt32
    /// `dontaudit` clears bits, `auditdeny` keeps only its bits: ANDed. All ones when no such rule.
    public var auditDeny: UInt32

    public static let empty = AVEntry(allowed: 0, auditAllow: 0, auditDeny: ~0)

    public init(allowed: UInt32, auditAllow: UInt32, auditDeny: UInt32) {
        self.allowed = allowed
        self.auditAllow = auditAllow
        self.auditDeny = auditDeny
    }

    /// Merges another entry for the same key, as the kernel merges avtab nodes.
    @inline(__always)
    public mutating func merge(_ other: AVEntry) {
        allowed |= other.allowed
        auditAllow |= other.auditAllow
        auditDeny &= other.auditDeny
    }
}

/// The TE access-vector table: (source type or attribute, target type or attribute, class) →
/// ``AVEntry``, like the kernel's `avtab`. Open addressing with linear probing over a power-of-two
/// table; keys pack three 16-bit values (the kernel's avtab keys are 16-bit too). A slot holds its
/// key and entry together, so that a probe touches one cache line rather than one per array.
public struct AVTable: Sendable {
    /// One slot: the key (0 when empty), its entry, and — while a binary policy is read — the
    /// record kinds seen for the key (AVTable+Reading.swift). The kinds fill the slot's padding.
    @usableFromInline struct Slot: Sendable {
        @usableFromInline var key: UInt64
        @usableFromInline var entry: AVEntry
        @usableFromInline var kinds: UInt8

        @usableFromInline static let empty = Slot(key: 0, entry: .empty, kinds: 0)
    }

    @usableFromInline var slots: [Slot]
    @usableFromInline var mask: Int
    public internal(set) var count: Int

    public init(minimumCapacity: Int = 16) {
        var cap = 16
        while cap < minimumCapacity * 2 { cap <<= 1 }
        slots = Array(repeating: .empty, count: cap)
        mask = cap - 1
        count = 0
    }

    /// The packed key; `classValue` is 1-based so that 0 marks an empty slot.
    @inline(__always)
    public static func key(source: Int, target: Int, classValue: Int) -> UInt64 {
        UInt64(truncatingIfNeeded: source) << 32 | UInt64(truncatingIfNeeded: target) << 16 | UInt64(truncatingIfNeeded: classValue)
    }

    /// The slot a key hashes to: the kernel's and libsepol's avtab hash (MurmurHash3's 32-bit
    /// block mix over the class, the target type and the source type, then its finalizer), over the
    /// binary policy's 1-based values. Binary policies list their avtab in the writer's hash order,
    /// so with the same hash a table read from one fills nearly in slot order instead of at random
    /// (Specs/engine/binary-policy.md §5.1).
    @usableFromInline @inline(__always)
    static func slot(_ key: UInt64, _ mask: Int) -> Int {
        @inline(__always) func mix(_ hash: inout UInt32, _ input: UInt32) {
            var v = input &* 0xCC9E_2D51
            v = v << 15 | v >> 17
            v = v &* 0x1B87_3593
            hash ^= v
            hash = hash << 13 | hash >> 19
            hash = hash &* 5 &+ 0xE654_6B64
        }
        var hash: UInt32 = 0
        mix(&hash, UInt32(truncatingIfNeeded: key & 0xFFFF))
        mix(&hash, UInt32(truncatingIfNeeded: key >> 16 & 0xFFFF) &+ 1)
        mix(&hash, UInt32(truncatingIfNeeded: key >> 32 & 0xFFFF) &+ 1)
        hash ^= hash >> 16
        hash = hash &* 0x85EB_CA6B
        hash ^= hash >> 13
        hash = hash &* 0xC2B2_AE35
        hash ^= hash >> 16
        return Int(hash) & mask
    }

    /// The entry for a key, if any rule produced one.
    @inlinable @inline(__always)
    public func lookup(_ key: UInt64) -> AVEntry? {
        slots.withUnsafeBufferPointer { slots in
            var i = AVTable.slot(key, mask)
            while true {
                let k = slots[i].key
                if k == key { return slots[i].entry }
                if k == 0 { return nil }
                i = (i + 1) & mask
            }
        }
    }

    /// Merges `entry` into the entry for `key`.
    public mutating func merge(_ key: UInt64, _ entry: AVEntry) {
        if (count + 1) * 2 > slots.count { grow() }
        var i = AVTable.slot(key, mask)
        while true {
            let k = slots[i].key
            if k == key {
                slots[i].entry.merge(entry)
                return
            }
            if k == 0 {
                var v = AVEntry.empty
                v.merge(entry)
                slots[i] = Slot(key: key, entry: v, kinds: 0)
                count += 1
                return
            }
            i = (i + 1) & mask
        }
    }

    /// Every (key, entry) pair, in table order.
    public func forEach(_ body: (UInt64, AVEntry) -> Void) {
        for slot in slots where slot.key != 0 { body(slot.key, slot.entry) }
    }

    private mutating func grow() {
        let old = slots
        let cap = slots.count * 2
        slots = Array(repeating: .empty, count: cap)
        mask = cap - 1
        count = 0
        for slot in old where slot.key != 0 { merge(slot.key, slot.entry) }
    }
}
