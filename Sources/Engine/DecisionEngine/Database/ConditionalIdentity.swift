/// When two conditionals are one (Specs/engine/binary-policy.md §3.5): libsepol stores an `if`
/// whose expression ends in `!` as the expression without it and its branches swapped
/// (`cond_normalize_expr`), and merges an `if` into an earlier one whose expression names the same
/// booleans and has the same truth table (`cond_expr_equal`: over at most 5 booleans; beyond,
/// the same nodes). The first expression is kept; the rules of both branches are joined.
struct ConditionalIdentity: Hashable {
    /// The booleans in order of first appearance (at most 5 kept, as libsepol keeps them).
    var booleans: [Int]
    /// How many distinct booleans the expression names.
    var booleanCount: Int
    /// Bit `t` set when the expression is true with boolean `booleans[j]` = bit `j` of `t`.
    var truthTable: UInt32
    /// The nodes themselves, compared when there are more than 5 booleans.
    var nodes: [ConditionalNode]?

    /// libsepol's `COND_MAX_BOOLS`.
    static let maximumTabulated = 5

    init(_ expression: [ConditionalNode]) {
        var seen: [Int] = []
        for case .bool(let b) in expression where !seen.contains(b) { seen.append(b) }
        booleanCount = seen.count
        booleans = Array(seen.prefix(Self.maximumTabulated))
        truthTable = 0
        nodes = nil
        guard booleanCount <= Self.maximumTabulated else {
            nodes = expression
            return
        }
        let width = (seen.max() ?? -1) + 1
        for test in 0..<(UInt32(1) << UInt32(booleanCount)) {
            var values = Array(repeating: false, count: width)
            for (j, b) in seen.enumerated() { values[b] = test & (1 << UInt32(j)) != 0 }
            if RuleSet.evaluate(expression, values) { truthTable |= 1 << test }
        }
    }

    /// `cond_expr_equal`: the same set of booleans and the same truth table (each computed in its
    /// own order of appearance, as libsepol computes them), or the same nodes beyond 5 booleans.
    func isSame(as other: ConditionalIdentity) -> Bool {
        guard booleanCount == other.booleanCount else { return false }
        if let nodes { return nodes == other.nodes }
        return Set(booleans) == Set(other.booleans) && truthTable == other.truthTable
    }

    /// The expression without a final `!`, and whether it was removed (then the branches swap).
    static func normalized(_ expression: [ConditionalNode]) -> (expression: [ConditionalNode], swapped: Bool) {
        guard expression.count > 1, expression.last == .not else { return (expression, false) }
        return (Array(expression.dropLast()), true)
    }
}
