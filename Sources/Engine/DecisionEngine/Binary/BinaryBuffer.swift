import SecurityContexts

/// The output side of ``BinaryCursor``: little-endian words, length-prefixed names and ebitmaps in
/// the canonical form (Specs/engine/binary-policy.md §1).
struct BinaryBuffer {
    private(set) var bytes: [UInt8] = []

    mutating func u8(_ v: UInt8) { bytes.append(v) }

    mutating func u16(_ v: UInt16) {
        bytes.append(UInt8(truncatingIfNeeded: v))
        bytes.append(UInt8(truncatingIfNeeded: v >> 8))
    }

    mutating func u32(_ v: UInt32) {
        for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: v >> UInt32(8 * i))) }
    }

    /// A count or value held as `Int`; callers have checked it fits (§1.3).
    mutating func u32(_ v: Int) { u32(UInt32(truncatingIfNeeded: v)) }

    mutating func u64(_ v: UInt64) {
        for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: v >> UInt64(8 * i))) }
    }

    mutating func raw(_ b: [UInt8]) { bytes.append(contentsOf: b) }

    /// The name's bytes, without the length word (which precedes it in a different place per record).
    mutating func nameBytes(_ s: String) { bytes.append(contentsOf: s.utf8) }

    /// An ebitmap of the given bits (§1.5): nodes of 64 bits in increasing order, no empty node,
    /// `highbit` one past the last node; an empty map is `64, 0, 0`.
    mutating func ebitmap(_ bits: some Sequence<Int>) {
        var nodes: [(start: UInt32, map: UInt64)] = []
        for bit in bits.sorted() {
            let start = UInt32(bit - bit % 64)
            if nodes.last?.start != start { nodes.append((start, 0)) }
            nodes[nodes.count - 1].map |= 1 << UInt64(bit % 64)
        }
        u32(64)
        u32(nodes.last.map { $0.start + 64 } ?? 0)
        u32(nodes.count)
        for node in nodes {
            u32(node.start)
            u64(node.map)
        }
    }

    /// An ebitmap with bit = index: the value − 1 of a symbol numbered value = index + 1.
    mutating func ebitmap(_ set: Bitset) { ebitmap(set.members) }

    /// A level (§1.6): the sensitivity's value, then its categories (bit = value − 1).
    mutating func level(_ l: MLSLevel) {
        u32(l.sensitivity + 1)
        ebitmap(l.categories)
    }

    /// A range (§1.6): one level when both ends are equal, as libsepol writes it.
    mutating func range(_ r: MLSRange) {
        let items = r.low == r.high ? 1 : 2
        u32(items)
        u32(r.low.sensitivity + 1)
        if items == 2 { u32(r.high.sensitivity + 1) }
        ebitmap(r.low.categories)
        if items == 2 { ebitmap(r.high.categories) }
    }

    /// The empty range and level a policy without MLS carries from version 19 (§1.6).
    mutating func placeholderRange() {
        u32(1)
        u32(0)
        ebitmap([Int]())
    }

    mutating func placeholderLevel() {
        u32(0)
        ebitmap([Int]())
    }
}
