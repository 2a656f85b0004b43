// Resolved MLS levels and ranges, and the relations between levels as the kernel defines them
// (security/selinux/ss/mls_types.h: mls_level_eq, mls_level_dom, mls_level_incomp, mls_range_contains).

/// How two levels compare. The order of levels is partial: two levels may be incomparable.
public enum MLSRelation: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Same sensitivity and same categories (`eq`).
    case equal = "eq"
    /// Strictly dominates: sensitivity ≥, categories ⊇, and not equal (`dom` and not `eq`).
    case dominates = "dom"
    /// Strictly dominated: sensitivity ≤, categories ⊆, and not equal (`domby` and not `eq`).
    case dominatedBy = "domby"
    /// Neither dominates the other (`incomp`).
    case incomparable = "incomp"

    /// The keyword of the relation in constraint expressions.
    public var description: String { rawValue }
}

/// A resolved level: a sensitivity (its index in dominance order, lowest first) and a set of
/// categories (by index in declaration order). Meaningful with the `MLSVocabulary` that made it.
public struct MLSLevel: Sendable, Hashable {
    /// The index of the sensitivity in dominance order (0 is the lowest).
    public var sensitivity: Int
    /// The categories.
    public var categories: CategorySet

    /// Creates a level.
    public init(sensitivity: Int, categories: CategorySet = []) {
        precondition(sensitivity >= 0, "a sensitivity index is not negative")
        self.sensitivity = sensitivity
        self.categories = categories
    }

    /// `dom`: this level's sensitivity is at least `other`'s and its categories include `other`'s.
    /// True for equal levels.
    public func dominates(_ other: MLSLevel) -> Bool {
        sensitivity >= other.sensitivity && categories.isSuperset(of: other.categories)
    }

    /// `domby`: `other` dominates this level. True for equal levels.
    public func isDominated(by other: MLSLevel) -> Bool { other.dominates(self) }

    /// `incomp`: neither level dominates the other.
    public func isIncomparable(with other: MLSLevel) -> Bool { !dominates(other) && !other.dominates(self) }

    /// How this level compares with `other`: `.equal`, `.dominates` (strictly), `.dominatedBy`
    /// (strictly) or `.incomparable`.
    public func relation(to other: MLSLevel) -> MLSRelation {
        let up = dominates(other)
        let down = other.dominates(self)
        switch (up, down) {
        case (true, true): return .equal
        case (true, false): return .dominates
        case (false, true): return .dominatedBy
        case (false, false): return .incomparable
        }
    }

    /// Whether `self` and `other` satisfy the constraint-expression relation `relation`, where
    /// `.dominates` means `dom` (equal included) and `.dominatedBy` means `domby` (equal included).
    public func satisfies(_ relation: MLSRelation, _ other: MLSLevel) -> Bool {
        switch relation {
        case .equal: return self == other
        case .dominates: return dominates(other)
        case .dominatedBy: return other.dominates(self)
        case .incomparable: return isIncomparable(with: other)
        }
    }
}

/// A resolved range: a low level and a high level. A range is well formed when the high level
/// dominates the low level; like the kernel's `struct mls_range`, the type does not enforce it
/// (computed ranges, such as `glblub` results, are checked afterwards). `MLSVocabulary.resolve`
/// only returns well-formed ranges, and `MLSVocabulary.isValid` checks it.
public struct MLSRange: Sendable, Hashable {
    /// The low level (the current, or effective, level of a subject).
    public var low: MLSLevel
    /// The high level (the clearance).
    public var high: MLSLevel

    /// A range from `low` to `high`, unchecked: see `isWellFormed`.
    public init(low: MLSLevel, high: MLSLevel) {
        self.low = low
        self.high = high
    }

    /// The range of one level (`low == high`).
    public init(_ level: MLSLevel) {
        low = level
        high = level
    }

    /// Whether the high level dominates the low level.
    public var isWellFormed: Bool { high.dominates(low) }

    /// Whether the range is one level.
    public var isSingleLevel: Bool { low == high }

    /// The kernel's `mls_range_contains(self, other)`: `other.low` dominates `low` and `high`
    /// dominates `other.high`.
    public func contains(_ other: MLSRange) -> Bool {
        other.low.dominates(low) && high.dominates(other.high)
    }

    /// The kernel's `mls_level_between(level, low, high)`: `level` dominates `low` and `high`
    /// dominates `level`.
    public func contains(_ level: MLSLevel) -> Bool {
        level.dominates(low) && high.dominates(level)
    }
}
