// Security contexts as text names: `user:role:type[:range]`. This is the one model of a context that
// every component of salabel shares (policy statements, SAs, SPD entries, audit records). Names are
// resolved against a policy (or an `MLSVocabulary`) only where meaning is needed.

/// One item of a category set as written: `c5` or the range `c0.c255`.
public enum CategoryItem: Sendable, Hashable {
    case single(String)
    case range(String, String)
}

/// A level as written: a sensitivity name and optional category items (`s0`, `s2:c0.c3,c7`).
public struct LevelSyntax: Sendable, Hashable {
    public var sensitivity: String
    public var categories: [CategoryItem]

    public init(sensitivity: String, categories: [CategoryItem] = []) {
        self.sensitivity = sensitivity
        self.categories = categories
    }
}

/// A range as written: `low` or `low-high` (`low - high` in policy sources).
public struct RangeSyntax: Sendable, Hashable {
    public var low: LevelSyntax
    /// The high level, when written.
    public var high: LevelSyntax?

    public init(low: LevelSyntax, high: LevelSyntax? = nil) {
        self.low = low
        self.high = high
    }
}

/// A security context: `user:role:type[:range]`.
public struct SecurityContext: Sendable, Hashable {
    public var user: String
    public var role: String
    public var type: String
    /// The MLS range; `nil` for contexts of policies without MLS.
    public var range: RangeSyntax?

    public init(user: String, role: String, type: String, range: RangeSyntax? = nil) {
        self.user = user
        self.role = role
        self.type = type
        self.range = range
    }
}
