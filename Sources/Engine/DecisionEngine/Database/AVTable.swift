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
/// table; keys pack three 16-bit values (the kernel's avtab keys are 16-bit too).
public struct AVTable: Sendable {
    @usableFromInline var keys: [UInt64]
    @usableFromInline var values: [AVEntry]
    @usableFromInline var mask: Int
    public internal(set) var count: Int

    public init(minimumCapacity: Int = 16) {
        var cap = 16
        while cap < minimumCapacity * 2 { cap <<= 1 }
        keys = Array(repeating: 0, count: cap)
        values = Array(repeating: .empty, count: cap)
        mask = cap - 1
        count = 0
    }

    /// The packed key; `classValue` is 1-based so that 0 marks an empty slot.
    @inline(__always)
    public static func key(source: Int, target: Int, classValue: Int) -> UInt64 {
        UInt64(truncatingIfNeeded: source) << 32 | UInt64(truncatingIfNeeded: target) << 16 | UInt64(truncatingIfNeeded: classValue)
    }

    @usableFromInline @inline(__always)
    static func slot(_ key: UInt64, _ mask: Int) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 40) & mask
    }

    /// The entry for a key, if any rule produced one.
    @inlinable @inline(__always)
    public func lookup(_ key: UInt64) -> AVEntry? {
        var i = AVTable.slot(key, mask)
        while true {
            let k = keys[i]
            if k == key { return values[i] }
            if k == 0 { return nil }
            i = (i + 1) & mask
        }
    }

    /// Merges `entry` into the entry for `key`.
    public mutating func merge(_ key: UInt64, _ entry: AVEntry) {
        if (count + 1) * 2 > keys.count { grow() }
        var i = AVTable.slot(key, mask)
        while true {
            let k = keys[i]
            if k == key {
                values[i].merge(entry)
                return
            }
            if k == 0 {
                keys[i] = key
                var v = AVEntry.empty
                v.merge(entry)
                values[i] = v
                count += 1
                return
            }
            i = (i + 1) & mask
        }
    }

    /// Every (key, entry) pair, in table order.
    public func forEach(_ body: (UInt64, AVEntry) -> Void) {
        for i in keys.indices where keys[i] != 0 { body(keys[i], values[i]) }
    }

    private mutating func grow() {
        let oldKeys = keys, oldValues = values
        let cap = keys.count * 2
        keys = Array(repeating: 0, count: cap)
        values = Array(repeating: .empty, count: cap)
        mask = cap - 1
        count = 0
        for i in oldKeys.indices where oldKeys[i] != 0 { merge(oldKeys[i], oldValues[i]) }
    }
}
