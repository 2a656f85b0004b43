// A set of MLS categories as a compact bitmap, like the kernel's ebitmap.

/// A set of categories, by index (0-based, in the order the vocabulary declares them), stored as a
/// bitmap of 64-bit words.
///
/// Equality and hashing are by members; iteration is in ascending order; `isSuperset(of:)` and
/// `isSubset(of:)` compare whole words.
public struct CategorySet: Sendable, Hashable, SetAlgebra, Sequence, ExpressibleByArrayLiteral,
    CustomStringConvertible
{
    /// A category index.
    public typealias Element = Int

    /// The bitmap; invariant: no trailing zero word (so equal sets have equal storage).
    private var words: [UInt64]

    /// The empty set.
    public init() { words = [] }

    /// The set of `categories`.
    public init<S: Sequence>(_ categories: S) where S.Element == Int {
        words = []
        for category in categories { insert(category) }
    }

    /// The set of the categories in `range`.
    public init(_ range: ClosedRange<Int>) {
        words = []
        insert(contentsOf: range)
    }

    /// The set of `elements`.
    public init(arrayLiteral elements: Int...) {
        self.init(elements)
    }

    /// The number of members.
    public var count: Int { words.reduce(0) { $0 + $1.nonzeroBitCount } }

    /// Whether the set has no members.
    public var isEmpty: Bool { words.isEmpty }

    /// The highest member.
    public var last: Int? {
        guard let word = words.last else { return nil }
        return (words.count - 1) * 64 + (63 - word.leadingZeroBitCount)
    }

    /// The lowest member.
    public var first: Int? {
        for (index, word) in words.enumerated() where word != 0 {
            return index * 64 + word.trailingZeroBitCount
        }
        return nil
    }

    /// Whether `category` is a member.
    public func contains(_ category: Int) -> Bool {
        guard category >= 0 else { return false }
        let word = category >> 6
        guard word < words.count else { return false }
        return words[word] & (1 << UInt64(category & 63)) != 0
    }

    /// Adds `category` (which must not be negative).
    @discardableResult
    public mutating func insert(_ category: Int) -> (inserted: Bool, memberAfterInsert: Int) {
        precondition(category >= 0, "a category index is not negative")
        let word = category >> 6
        if word >= words.count { words.append(contentsOf: repeatElement(0, count: word - words.count + 1)) }
        let bit: UInt64 = 1 << UInt64(category & 63)
        let inserted = words[word] & bit == 0
        words[word] |= bit
        return (inserted, category)
    }

    /// Adds every category of `range` (whose bounds must not be negative).
    public mutating func insert(contentsOf range: ClosedRange<Int>) {
        precondition(range.lowerBound >= 0, "a category index is not negative")
        let lastWord = range.upperBound >> 6
        if lastWord >= words.count { words.append(contentsOf: repeatElement(0, count: lastWord - words.count + 1)) }
        var index = range.lowerBound
        while index <= range.upperBound {
            let word = index >> 6
            let low = index & 63
            let high = word == lastWord ? range.upperBound & 63 : 63
            let width = high - low + 1
            let mask: UInt64 = width == 64 ? ~0 : ((1 << UInt64(width)) - 1) << UInt64(low)
            words[word] |= mask
            index = (word + 1) << 6
        }
    }

    /// Removes `category`; returns it if it was a member.
    @discardableResult
    public mutating func remove(_ category: Int) -> Int? {
        guard contains(category) else { return nil }
        words[category >> 6] &= ~(1 << UInt64(category & 63))
        trim()
        return category
    }

    /// Adds `category`; returns it if it was already a member.
    @discardableResult
    public mutating func update(with category: Int) -> Int? {
        insert(category).inserted ? nil : category
    }

    private mutating func trim() {
        while let last = words.last, last == 0 { words.removeLast() }
    }

    /// The members of either set.
    public func union(_ other: CategorySet) -> CategorySet {
        var result = self
        result.formUnion(other)
        return result
    }

    /// The members of both sets.
    public func intersection(_ other: CategorySet) -> CategorySet {
        var result = self
        result.formIntersection(other)
        return result
    }

    /// The members of exactly one of the sets.
    public func symmetricDifference(_ other: CategorySet) -> CategorySet {
        var result = self
        result.formSymmetricDifference(other)
        return result
    }

    /// Adds the members of `other`.
    public mutating func formUnion(_ other: CategorySet) {
        if other.words.count > words.count {
            words.append(contentsOf: repeatElement(0, count: other.words.count - words.count))
        }
        for index in other.words.indices { words[index] |= other.words[index] }
    }

    /// Keeps only the members also in `other`.
    public mutating func formIntersection(_ other: CategorySet) {
        if words.count > other.words.count { words.removeLast(words.count - other.words.count) }
        for index in words.indices { words[index] &= other.words[index] }
        trim()
    }

    /// Keeps the members in exactly one of the sets.
    public mutating func formSymmetricDifference(_ other: CategorySet) {
        if other.words.count > words.count {
            words.append(contentsOf: repeatElement(0, count: other.words.count - words.count))
        }
        for index in other.words.indices { words[index] ^= other.words[index] }
        trim()
    }

    /// The members of this set that are not in `other`.
    public func subtracting(_ other: CategorySet) -> CategorySet {
        var result = self
        result.subtract(other)
        return result
    }

    /// Removes the members of `other`.
    public mutating func subtract(_ other: CategorySet) {
        for index in 0..<Swift.min(words.count, other.words.count) { words[index] &= ~other.words[index] }
        trim()
    }

    /// Whether every member of `other` is a member of this set (the kernel's `ebitmap_contains`).
    public func isSuperset(of other: CategorySet) -> Bool {
        guard other.words.count <= words.count else { return false }
        for index in other.words.indices where other.words[index] & ~words[index] != 0 { return false }
        return true
    }

    /// Whether every member of this set is a member of `other`.
    public func isSubset(of other: CategorySet) -> Bool { other.isSuperset(of: self) }

    /// Whether the sets have no member in common.
    public func isDisjoint(with other: CategorySet) -> Bool {
        for index in 0..<Swift.min(words.count, other.words.count) where words[index] & other.words[index] != 0 {
            return false
        }
        return true
    }

    /// The maximal runs of consecutive members, in ascending order (`{0,1,2,5}` → `[0...2, 5...5]`).
    public var runs: [ClosedRange<Int>] {
        var result: [ClosedRange<Int>] = []
        var start = -1
        var previous = -2
        for category in self {
            if category != previous + 1 {
                if start >= 0 { result.append(start...previous) }
                start = category
            }
            previous = category
        }
        if start >= 0 { result.append(start...previous) }
        return result
    }

    /// Iterates the members in ascending order.
    public struct Iterator: IteratorProtocol {
        private let words: [UInt64]
        private var wordIndex = 0
        private var remaining: UInt64

        init(_ words: [UInt64]) {
            self.words = words
            remaining = words.first ?? 0
        }

        /// The next member, in ascending order.
        public mutating func next() -> Int? {
            while remaining == 0 {
                wordIndex += 1
                guard wordIndex < words.count else { return nil }
                remaining = words[wordIndex]
            }
            let bit = remaining.trailingZeroBitCount
            remaining &= remaining - 1
            return wordIndex * 64 + bit
        }
    }

    /// An iterator over the members in ascending order.
    public func makeIterator() -> Iterator { Iterator(words) }

    /// The number of members.
    public var underestimatedCount: Int { count }

    /// `{0-2,5}`: the runs of members, by index.
    public var description: String {
        "{"
            + runs.map { $0.count == 1 ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)" }
            .joined(separator: ",") + "}"
    }
}
