/// A growable set of small non-negative integers (type, role, user or boolean indices), stored as
/// 64-bit words. The policy's `ebitmap`.
public struct Bitset: Sendable, Hashable {
    public private(set) var words: [UInt64]

    public init() { words = [] }

    /// A set with room for `capacity` bits.
    public init(capacity: Int) { words = Array(repeating: 0, count: (capacity + 63) >> 6) }

    public init<S: Sequence>(_ members: S) where S.Element == Int {
        self.init()
        for m in members { insert(m) }
    }

    @inline(__always)
    public func contains(_ i: Int) -> Bool {
        let w = i >> 6
        return w < words.count && (words[w] >> UInt64(i & 63)) & 1 == 1
    }

    public mutating func insert(_ i: Int) {
        let w = i >> 6
        if w >= words.count { words.append(contentsOf: repeatElement(0, count: w - words.count + 1)) }
        words[w] |= 1 << UInt64(i & 63)
    }

    public mutating func remove(_ i: Int) {
        let w = i >> 6
        if w < words.count { words[w] &= ~(1 << UInt64(i & 63)) }
    }

    public mutating func formUnion(_ other: Bitset) {
        if other.words.count > words.count {
            words.append(contentsOf: repeatElement(0, count: other.words.count - words.count))
        }
        for i in other.words.indices { words[i] |= other.words[i] }
    }

    public mutating func subtract(_ other: Bitset) {
        for i in 0..<min(words.count, other.words.count) { words[i] &= ~other.words[i] }
    }

    public var isEmpty: Bool { words.allSatisfy { $0 == 0 } }

    public var count: Int { words.reduce(0) { $0 + $1.nonzeroBitCount } }

    /// The members in increasing order.
    public var members: [Int] {
        var out: [Int] = []
        for (wi, var w) in words.enumerated() {
            while w != 0 {
                let b = w.trailingZeroBitCount
                out.append(wi << 6 | b)
                w &= w - 1
            }
        }
        return out
    }

    public static func == (a: Bitset, b: Bitset) -> Bool {
        let n = max(a.words.count, b.words.count)
        for i in 0..<n where (i < a.words.count ? a.words[i] : 0) != (i < b.words.count ? b.words[i] : 0) {
            return false
        }
        return true
    }

    public func hash(into hasher: inout Hasher) {
        var end = words.count
        while end > 0 && words[end - 1] == 0 { end -= 1 }
        for i in 0..<end { hasher.combine(words[i]) }
    }
}
