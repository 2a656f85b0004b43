/// A bounds-checked little-endian reader over the bytes of a binary policy (§1.1). It knows its
/// offset and the section being read, so every error says where it is; it never reads past the end
/// and never trusts a count before checking that the bytes it announces exist (§4.1).
struct BinaryCursor {
    let bytes: [UInt8]
    private(set) var offset = 0
    /// The section being read; errors carry it.
    var section: BinarySection = .header {
        didSet { if sectionStarts[section] == nil { sectionStarts[section] = offset } }
    }
    /// Where each section read so far starts (tests use it to aim at a field).
    private(set) var sectionStarts: [BinarySection: Int] = [.header: 0]

    typealias BinarySection = BinaryPolicySection

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var remaining: Int { bytes.count - offset }

    /// An error at `at` (default: the current offset) in the current section.
    func error(_ kind: BinaryPolicyError.Kind, at: Int? = nil) -> BinaryPolicyError {
        BinaryPolicyError(offset: at ?? offset, section: section, kind: kind)
    }

    private func need(_ n: Int) throws(BinaryPolicyError) {
        guard n <= remaining else { throw error(.truncated(needed: n, available: remaining)) }
    }

    mutating func u8() throws(BinaryPolicyError) -> UInt8 {
        try need(1)
        defer { offset += 1 }
        return bytes[offset]
    }

    /// A little-endian integer at the offset, after `need` has checked the bytes exist.
    @inline(__always)
    private func load<T: FixedWidthInteger>(_: T.Type) -> T {
        bytes.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
    }

    mutating func u16() throws(BinaryPolicyError) -> UInt16 {
        try need(2)
        defer { offset += 2 }
        return load(UInt16.self)
    }

    mutating func u32() throws(BinaryPolicyError) -> UInt32 {
        try need(4)
        defer { offset += 4 }
        return load(UInt32.self)
    }

    mutating func u64() throws(BinaryPolicyError) -> UInt64 {
        try need(8)
        defer { offset += 8 }
        return load(UInt64.self)
    }

    /// `n` raw bytes (addresses, masks: network order, §1.1).
    mutating func raw(_ n: Int) throws(BinaryPolicyError) -> [UInt8] {
        try need(n)
        defer { offset += n }
        return Array(bytes[offset..<offset + n])
    }

    /// A count of records each at least `minimumSize` bytes long: refused unless that many bytes
    /// remain and the count is within `cap` (§4.1).
    mutating func count(minimumSize: Int, cap: Int = Int(UInt32.max)) throws(BinaryPolicyError) -> Int {
        let at = offset
        let n = try u32()
        guard Int(n) <= cap else { throw error(.countTooLarge(count: n, limit: cap), at: at) }
        let limit = minimumSize > 0 ? remaining / minimumSize : Int(UInt32.max)
        guard Int(n) <= limit else { throw error(.countTooLarge(count: n, limit: min(limit, cap)), at: at) }
        return Int(n)
    }

    /// A name length word: 1…`maximum` and within the remaining bytes (§1.2).
    mutating func nameLength(maximum: Int = Int(UInt32.max)) throws(BinaryPolicyError) -> Int {
        let at = offset
        let n = try u32()
        guard n != 0 else { throw error(.invalidName("length 0"), at: at) }
        guard Int(n) <= maximum else { throw error(.invalidName("length \(n) exceeds \(maximum)"), at: at) }
        guard Int(n) <= remaining else { throw error(.truncated(needed: Int(n), available: remaining), at: at) }
        return Int(n)
    }

    /// The `length` bytes of a name: no NUL byte, valid UTF-8 (§1.2).
    mutating func name(_ length: Int) throws(BinaryPolicyError) -> String {
        let at = offset
        try need(length)
        let slice = bytes[offset..<offset + length]
        offset += length
        guard !slice.contains(0) else { throw error(.invalidName("a NUL byte inside a name"), at: at) }
        guard let s = String(validating: slice, as: UTF8.self) else { throw error(.invalidName("not UTF-8"), at: at) }
        return s
    }

    /// An ebitmap (§1.5), checked against every invariant; its nodes as (start bit, map).
    mutating func ebitmap() throws(BinaryPolicyError) -> EBitmap {
        let at = offset
        let mapsize = try u32()
        let highbit = try u32()
        let count = try u32()
        guard mapsize == 64 else { throw error(.invalidEBitmap("map size \(mapsize), not 64"), at: at) }
        guard highbit % 64 == 0 else { throw error(.invalidEBitmap("high bit \(highbit) is not a multiple of 64"), at: at) }
        if highbit == 0 {
            guard count == 0 else { throw error(.invalidEBitmap("empty but \(count) nodes"), at: at) }
            return EBitmap(nodes: [])
        }
        guard count >= 1 else { throw error(.invalidEBitmap("high bit \(highbit) but no node"), at: at) }
        guard Int(count) <= remaining / 12 else {
            throw error(.countTooLarge(count: count, limit: remaining / 12), at: at + 8)
        }
        var nodes: [(start: UInt32, map: UInt64)] = []
        nodes.reserveCapacity(Int(count))
        var previous: UInt32? = nil
        for _ in 0..<count {
            let nodeAt = offset
            let start = try u32()
            let map = try u64()
            guard start % 64 == 0 else { throw error(.invalidEBitmap("node start \(start) is not a multiple of 64"), at: nodeAt) }
            guard start <= highbit - 64 else { throw error(.invalidEBitmap("node start \(start) beyond high bit \(highbit)"), at: nodeAt) }
            if let previous, start <= previous {
                throw error(.invalidEBitmap("node starts not increasing (\(start) after \(previous))"), at: nodeAt)
            }
            guard map != 0 else { throw error(.invalidEBitmap("node at \(start) has an empty map"), at: nodeAt) }
            nodes.append((start, map))
            previous = start
        }
        guard let last = nodes.last, last.start + 64 == highbit else {
            throw error(.invalidEBitmap("high bit \(highbit) does not end the last node"), at: at)
        }
        return EBitmap(nodes: nodes, offset: at)
    }

    /// Refuses bytes after the last section (§4.1).
    func expectEnd() throws(BinaryPolicyError) {
        guard remaining == 0 else { throw error(.trailingBytes(count: remaining)) }
    }
}

/// A checked ebitmap as read: nodes in increasing order, none empty (§1.5). Its size is bounded by
/// the bytes it was read from (12 bytes per node).
struct EBitmap {
    var nodes: [(start: UInt32, map: UInt64)]
    /// Where it starts in the file.
    var offset = 0

    var isEmpty: Bool { nodes.isEmpty }

    /// One past the highest bit the last node covers (the `highbit` field).
    var highBit: UInt64 { nodes.last.map { UInt64($0.start) + 64 } ?? 0 }

    /// Calls `body` with every set bit, in increasing order.
    func forEachBit(_ body: (Int) throws(BinaryPolicyError) -> Void) throws(BinaryPolicyError) {
        for node in nodes {
            var m = node.map
            while m != 0 {
                try body(Int(node.start) + m.trailingZeroBitCount)
                m &= m - 1
            }
        }
    }

    /// The set bits.
    var bits: [Int] {
        var out: [Int] = []
        for node in nodes {
            var m = node.map
            while m != 0 {
                out.append(Int(node.start) + m.trailingZeroBitCount)
                m &= m - 1
            }
        }
        return out
    }
}

/// A symbol table's value → database index map (§5). Dense (an array indexed by value) when the
/// value space is at most 65536, the bound of types and classes, so lookups on the avtab's hot
/// path cost an index; a dictionary above, so that a file announcing a huge value space with few
/// records allocates by its records, not by its count (§4.1).
struct ValueMap {
    private var dense: [Int32] = []
    private var sparse: [UInt32: Int] = [:]
    private var isDense = false

    static let denseLimit: UInt32 = 65536

    init() {}

    init(valueCount: UInt32) {
        guard valueCount <= Self.denseLimit else { return }
        dense = Array(repeating: -1, count: Int(valueCount) + 1)
        isDense = true
    }

    subscript(value: UInt32) -> Int? {
        get {
            guard isDense else { return sparse[value] }
            guard Int(value) < dense.count else { return nil }
            let i = dense[Int(value)]
            return i >= 0 ? Int(i) : nil
        }
        set {
            guard isDense, Int(value) < dense.count else {
                sparse[value] = newValue
                return
            }
            dense[Int(value)] = Int32(newValue ?? -1)
        }
    }
}
