import SecurityContexts
import SELinuxPolicy

// Declarations: classes, initial SIDs, commons and class permissions, defaults, MLS, policy
// capabilities, attributes, booleans, types.

extension PolicyTextWriter {
    mutating func writeClassDeclarations() {
        section("Classes")
        for c in db.classes { line("class \(c.name)") }
    }

    mutating func writeInitialSIDDeclarations() {
        section("Initial SIDs")
        for sid in db.initialSIDs { line("sid \(sid.name)") }
    }

    /// Commons (sorted by name: their order carries no value), then each defined class's own
    /// permissions after its common's.
    mutating func writeAccessVectors() {
        section("Access vectors")
        for name in db.commons.keys.sorted() {
            line("common \(name) { \(db.commons[name]!.joined(separator: " ")) }")
        }
        for c in db.classes where c.isDefined {
            var statement = "class \(c.name)"
            var own = c.permissions
            if let common = c.common {
                statement += " inherits \(common)"
                own = Array(own.dropFirst(db.commons[common]?.count ?? 0))
            }
            if !own.isEmpty || c.common == nil { statement += " { \(own.joined(separator: " ")) }" }
            line(statement)
        }
    }

    mutating func writeDefaults() {
        var lines: [String] = []
        for c in db.classes {
            if let d = c.defaultUser { lines.append("default_user \(c.name) \(d.rawValue);") }
            if let d = c.defaultRole { lines.append("default_role \(c.name) \(d.rawValue);") }
            if let d = c.defaultType { lines.append("default_type \(c.name) \(d.rawValue);") }
            if let d = c.defaultRange { lines.append("default_range \(c.name) \(Self.rangeDefault(d));") }
        }
        guard !lines.isEmpty else { return }
        section("Defaults")
        for l in lines { line(l) }
    }

    /// `default_range`'s words as the language spells them (`low-high`, not the case's `low_high`).
    static func rangeDefault(_ d: DefaultRange) -> String {
        switch d {
        case .sourceLowHigh: "source low-high"
        case .targetLowHigh: "target low-high"
        default: d.rawValue
        }
    }

    /// Sensitivities, dominance, categories, levels, then the MLS constraints.
    mutating func writeMLS() {
        guard let mls = db.mls else { return }
        section("MLS")
        func declaration(_ keyword: String, _ d: MLSVocabulary.Declaration) -> String {
            d.aliases.isEmpty ? "\(keyword) \(d.name);" : "\(keyword) \(d.name) alias \(Self.nameSet(d.aliases));"
        }
        for s in mls.sensitivities { line(declaration("sensitivity", s)) }
        line("dominance { \(mls.sensitivities.map(\.name).joined(separator: " ")) }")
        for c in mls.categories { line(declaration("category", c)) }
        for (i, s) in mls.sensitivities.enumerated() {
            let cats = mls.allowedCategories[i]
            line(cats.isEmpty ? "level \(s.name);" : "level \(s.name):\(mls.canonicalCategories(cats));")
        }
        writeConstraints(mls: true)
    }

    mutating func writePolicyCapabilities() {
        guard !db.policyCapabilities.isEmpty else { return }
        section("Policy capabilities")
        for cap in db.policyCapabilities { line("policycap \(cap);") }
    }

    mutating func writeAttributes() {
        let attributes = db.types.filter(\.isAttribute)
        guard !attributes.isEmpty else { return }
        section("Attributes")
        for a in attributes { line("attribute \(a.name);") }
    }

    mutating func writeBooleans() {
        guard !db.bools.isEmpty else { return }
        section("Booleans")
        for b in db.bools { line("\(b.isTunable ? "tunable" : "bool") \(b.name) \(b.defaultValue);") }
    }

    /// Types with their aliases, then their attributes, bounds, permissive and neveraudit marks.
    mutating func writeTypes() {
        section("Types")
        for t in db.types where !t.isAttribute {
            line(t.aliases.isEmpty ? "type \(t.name);" : "type \(t.name) alias \(Self.nameSet(t.aliases));")
        }
        for (i, t) in db.types.enumerated() where !t.isAttribute {
            let attributes = (i < db.typeAttributeMap.count ? db.typeAttributeMap[i] : []).map(Int.init).filter { $0 != i }
            if !attributes.isEmpty {
                line("typeattribute \(t.name) \(attributes.map { typeNames[$0] }.joined(separator: ", "));")
            }
        }
        for t in db.types where !t.isAttribute {
            if let b = t.bounds { line("typebounds \(typeNames[b]) \(t.name);") }
        }
        for t in db.types where t.isPermissive && !t.isAttribute { line("permissive \(t.name);") }
        // salabel's extension (checkpolicy 3.9's statement; 3.4 rejects it).
        for t in db.types where t.isNeverAudit && !t.isAttribute { line("neveraudit \(t.name);") }
    }
}
