import SecurityContexts
import SELinuxPolicy

// The policy language written back from a compiled policy (`checkpolicy -b -F`): the sections in
// the order checkpolicy's grammar requires, names as declared, rules one statement per key.
// Specs/engine/policy-conversion.md describes the written form and what cannot be written.

extension PolicyDB {
    /// The policy in the kernel policy language (policy.conf), in the section order checkpolicy's
    /// grammar requires, so that checkpolicy (`-M` when the policy has MLS) and salabel compile it
    /// to a policy with the same decisions. The policy may come from either form (text or binary).
    ///
    /// The output is deterministic: declarations in index order, unconditional rules sorted by
    /// (source, target, class), conditionals in their order. Parts that a `PolicyDB` no longer
    /// holds (role attributes, `neverallow`, extended permissions, source locations) are not
    /// written; `handle_unknown`, which checkpolicy takes as an option (`-U`), is a comment.
    public func policyLanguage() -> String {
        var writer = PolicyTextWriter(self)
        writer.writeAll()
        return writer.text
    }
}

/// Writes a ``PolicyDB`` as policy.conf text; see ``PolicyDB/policyLanguage()``.
struct PolicyTextWriter {
    let db: PolicyDB
    /// The text written so far.
    var text = ""
    /// Type, role and user names by index, and bool names.
    let typeNames: [String]
    let roleNames: [String]
    let userNames: [String]

    init(_ db: PolicyDB) {
        self.db = db
        typeNames = db.types.map(\.name)
        roleNames = db.roles.map(\.name)
        userNames = db.users.map(\.name)
    }

    /// Every section, in checkpolicy's `base_policy` order.
    mutating func writeAll() {
        line("# Written by salabel from a compiled policy (salabel policy convert).")
        line("# handle_unknown \(db.handleUnknown.rawValue) (checkpolicy -U \(db.handleUnknown.rawValue))")
        if db.extendedPermissionRuleCount > 0 {
            line("# \(db.extendedPermissionRuleCount) extended-permission rules (allowxperm…) are not written: salabel does not hold their sets")
        }
        writeClassDeclarations()
        writeInitialSIDDeclarations()
        writeAccessVectors()
        writeDefaults()
        writeMLS()
        writePolicyCapabilities()
        writeAttributes()
        writeBooleans()
        writeTypes()
        writeAVRules()
        writeTypeRules()
        writeFilenameTransitions()
        writeRangeTransitions()
        writeConditionals()
        writeRoles()
        writeRoleTransitions()
        writeRoleAllows()
        writeUsers()
        writeConstraints(mls: false)
        writeLabeling()
    }

    // MARK: Output helpers

    mutating func line(_ s: String) {
        text += s
        text += "\n"
    }

    /// A section comment, with a blank line before it.
    mutating func section(_ title: String) {
        text += "\n# \(title)\n"
    }

    /// One name as it is, several as `{ a b }`, none as `{ }` (callers avoid the empty case).
    static func nameSet(_ names: [String]) -> String {
        names.count == 1 ? names[0] : "{ " + names.joined(separator: " ") + " }"
    }

    /// A permission set, always in braces.
    func permissions(_ mask: UInt32, classValue: Int) -> String {
        "{ " + db.permissionNames(mask, classValue: classValue).joined(separator: " ") + " }"
    }

    func className(_ value: Int) -> String { db.classes[value - 1].name }

    /// The (source, target, class) of a packed key.
    static func unpack(_ key: UInt64) -> (source: Int, target: Int, classValue: Int) {
        (Int((key >> 32) & 0xFFFF), Int((key >> 16) & 0xFFFF), Int(key & 0xFFFF))
    }

    /// `source target:class` of a packed key with the given names for the first field.
    func keyText(_ key: UInt64, sources: [String]) -> String {
        let (s, t, c) = Self.unpack(key)
        return "\(sources[s]) \(typeNames[t]):\(className(c))"
    }

    // MARK: MLS text

    /// A level by primary names (`s0:c0.c3,c7`).
    func levelText(_ level: MLSLevel) -> String {
        db.mls.map { $0.canonical(level) } ?? ""
    }

    /// A range with ` - ` between its levels: checkpolicy's lexer reads `s0-s1` as one identifier.
    func rangeText(_ range: MLSRange) -> String {
        range.isSingleLevel ? levelText(range.low) : levelText(range.low) + " - " + levelText(range.high)
    }

    /// A context as checkpolicy reads it: `user:role:type[:low[ - high]]`.
    static func contextText(_ context: SecurityContext) -> String {
        var out = context.user + ":" + context.role + ":" + context.type
        if let range = context.range {
            out += ":" + range.low.description
            if let high = range.high, high != range.low { out += " - " + high.description }
        }
        return out
    }
}
