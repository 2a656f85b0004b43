/// The rules in force for one assignment of booleans: the unconditional rules merged with the
/// enabled branch of every conditional. Access-vector entries for one key combine the same way
/// whether they come from the unconditional or a conditional table (allowed and auditallow ORed,
/// auditdeny ANDed), so one merged table answers for both. For type rules an unconditional rule
/// takes precedence over a conditional one, as in `security_compute_sid`.
public struct RuleSet: Sendable {
    /// The boolean values this set was built for.
    public let booleans: [Bool]
    /// Unconditional and enabled conditional AV rules.
    public let avTable: AVTable
    /// For each class value, the source keys (types or attributes) that have any rule for it.
    let sourcesWithRules: [Bitset]
    /// For each class value, the target keys that have any rule for it.
    let targetsWithRules: [Bitset]
    /// Type rules of enabled conditional branches.
    let conditionalTypeRules: [TransitionKind: [UInt64: Int]]

    /// Builds the rule set for the given boolean values (indexed like `PolicyDB.bools`).
    public init(policy: PolicyDB, booleans: [Bool]) {
        self.booleans = booleans
        var table = policy.avTable
        var condTypes: [TransitionKind: [UInt64: Int]] = [.transition: [:], .member: [:], .change: [:]]
        for cond in policy.conditionals {
            let rules = RuleSet.evaluate(cond.expression, booleans) ? cond.trueRules : cond.falseRules
            for (key, entry) in rules.av { table.merge(key, entry) }
            for (kind, key, newType) in rules.typeRules where condTypes[kind]![key] == nil {
                condTypes[kind]![key] = newType
            }
        }
        var sources = Array(repeating: Bitset(), count: policy.classes.count + 1)
        var targets = sources
        table.forEach { key, _ in
            let c = Int(key & 0xFFFF)
            sources[c].insert(Int((key >> 32) & 0xFFFF))
            targets[c].insert(Int((key >> 16) & 0xFFFF))
        }
        avTable = table
        sourcesWithRules = sources
        targetsWithRules = targets
        conditionalTypeRules = condTypes
    }

    /// Evaluates a postfix conditional expression (the kernel's `cond_evaluate_expr`).
    static func evaluate(_ expr: [ConditionalNode], _ values: [Bool]) -> Bool {
        var stack: [Bool] = []
        stack.reserveCapacity(8)
        for node in expr {
            switch node {
            case .bool(let b): stack.append(values[b])
            case .not: stack[stack.count - 1].toggle()
            default:
                let b = stack.removeLast(), a = stack.removeLast()
                switch node {
                case .and: stack.append(a && b)
                case .or: stack.append(a || b)
                case .xor: stack.append(a != b)
                case .eq: stack.append(a == b)
                case .neq: stack.append(a != b)
                default: stack.append(false)
                }
            }
        }
        return stack.last ?? false
    }

    /// The type rule for (source, target, class) of a kind: the unconditional rule if any, else an
    /// enabled conditional one.
    func typeRule(_ kind: TransitionKind, key: UInt64, policy: PolicyDB) -> Int? {
        policy.typeRules[kind]![key] ?? conditionalTypeRules[kind]![key]
    }
}
