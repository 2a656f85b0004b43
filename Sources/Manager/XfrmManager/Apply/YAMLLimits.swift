/// The bounds every YAML input of salabel is read within (apply files, key files, scenario files),
/// so that a small hostile file cannot take unbounded time or memory ("billion laughs": aliases
/// that name lists of aliases, each level multiplying the nodes). Specs/manager/apply.md, "Limits".
public struct YAMLLimits: Sendable, Hashable {
    /// The largest document, in bytes of UTF-8 (refused before parsing).
    public var maximumBytes: Int
    /// The most nodes the document may stand for once every alias is replaced by what it names
    /// (each scalar, list and mapping counts one, every time it is reached).
    public var maximumNodes: Int
    /// The deepest nesting of lists and mappings.
    public var maximumDepth: Int
    /// Whether anchors and aliases (`&name`, `*name`) are allowed at all.
    public var allowsAliases: Bool

    public init(maximumBytes: Int, maximumNodes: Int, maximumDepth: Int, allowsAliases: Bool) {
        self.maximumBytes = maximumBytes
        self.maximumNodes = maximumNodes
        self.maximumDepth = maximumDepth
        self.allowsAliases = allowsAliases
    }

    /// Apply and scenario files: 4 MiB, 100,000 expanded nodes, 64 levels; aliases allowed (the
    /// largest real file, the echo demo's, is about 3 KiB and 150 nodes).
    public static let document = YAMLLimits(maximumBytes: 4 << 20, maximumNodes: 100_000, maximumDepth: 64, allowsAliases: true)

    /// Key files: 1 MiB, 100,000 nodes, 8 levels, and no anchors or aliases (salabel never writes
    /// them; a key file holds three levels of mappings).
    public static let keyFile = YAMLLimits(maximumBytes: 1 << 20, maximumNodes: 100_000, maximumDepth: 8, allowsAliases: false)
}
