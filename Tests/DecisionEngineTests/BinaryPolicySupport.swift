@testable import DecisionEngine
import Foundation
import SecurityContexts
import Testing
import TestSupport

/// checkpolicy 3.4 writing binaries at a chosen version, in a temporary directory.
enum BinaryFixtures {
    static let policiesDirectory = repositoryRoot.appendingPathComponent("Tests/Fixtures/policies")
    static let embeddedPolicy = repositoryRoot.appendingPathComponent("Sources/Engine/DecisionEngine/Resources/default-policy.conf")

    static var fixtureNames: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: policiesDirectory.path)) ?? []).filter { $0.hasSuffix(".conf") }.sorted()
    }

    static func isMLS(_ text: String) -> Bool {
        text.split(separator: "\n").contains {
            let line = $0.trimmingCharacters(in: .whitespaces)
            return line.hasPrefix("sensitivity ") || line.hasPrefix("# MLS: checkpolicy -M")
        }
    }

    /// `checkpolicy [-M] -c version -o out conf`; the binary's bytes.
    static func compile(conf: URL, version: Int, mls: Bool) throws -> [UInt8] {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("salabel-binread-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("policy.\(version)")
        let r = try runProcess(
            URL(fileURLWithPath: "/usr/bin/checkpolicy"), (mls ? ["-M"] : []) + ["-c", String(version), "-o", out.path, conf.path],
            standardError: .standardOutput)
        try #require(r.status == 0, "checkpolicy -c \(version) \(conf.lastPathComponent): \(r.stdout)")
        return [UInt8](try Data(contentsOf: out))
    }

    static func compile(text: String, version: Int, mls: Bool) throws -> [UInt8] {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("salabel-binread-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let conf = dir.appendingPathComponent("policy.conf")
        try text.write(to: conf, atomically: true, encoding: .utf8)
        return try compile(conf: conf, version: version, mls: mls)
    }
}

/// The decision-relevant content of a PolicyDB as sorted lines per part, by names (indices differ
/// between the compiler, which numbers in declaration order, and the reader, which follows the
/// file's values). Effective access vectors and type rules are listed per concrete type triple,
/// so attribute keys and their expansion (below version 20) compare equal.
enum DecisionSummary {
    static func summary(_ p: PolicyDB, booleans: [Bool]? = nil) -> [String: [String]] {
        var out: [String: [String]] = [:]
        func add(_ part: String, _ line: String) { out[part, default: []].append(line) }
        func names(_ set: Bitset, _ all: [String]) -> String { set.members.map { all[$0] }.sorted().joined(separator: ",") }
        let typeNames = p.types.map(\.name), roleNames = p.roles.map(\.name), userNames = p.users.map(\.name)
        for cls in p.classes {
            add("classes", "\(cls.value) \(cls.name) {\(cls.permissions.joined(separator: " "))} common=\(cls.common ?? "-")")
            add(
                "defaults",
                "\(cls.name) \(String(describing: cls.defaultUser)) \(String(describing: cls.defaultRole)) \(String(describing: cls.defaultType)) \(String(describing: cls.defaultRange))"
            )
            for (kind, list) in [("constrain", cls.constraints), ("validatetrans", cls.validateTrans)] {
                for k in list {
                    let expr = k.expression.map { node -> String in
                        switch node {
                        case .not: "not"
                        case .and: "and"
                        case .or: "or"
                        case .attribute(let a, let op): "\(a)\(op)"
                        case .names(let operand, let op, let set):
                            "\(operand)\(op){\(names(set, operand.rawValue.hasPrefix("u") ? userNames : operand.rawValue.hasPrefix("r") ? roleNames : typeNames))}"
                        }
                    }
                    add(kind, "\(cls.name) 0x\(String(k.permissions, radix: 16)) \(expr.joined(separator: " "))")
                }
            }
        }
        for (name, perms) in p.commons { add("commons", "\(name) \(perms)") }
        for t in p.types where !t.isAttribute {
            add(
                "types",
                "\(t.name) aliases=\(t.aliases.sorted()) bounds=\(t.bounds.map { typeNames[$0] } ?? "-")")
            if t.isPermissive { add("permissive", t.name) }
        }
        add("attributeCount", "\(p.attributeCount)")
        for (i, t) in p.types.enumerated() where !t.isAttribute {
            add("typeAttributeMap", "\(t.name): \(p.typeAttributeMap[i].map { typeNames[Int($0)] }.sorted())")
        }
        for r in p.roles { add("roles", "\(r.name) types={\(names(r.types, typeNames))} dominates={\(names(r.dominates, roleNames))}") }
        for u in p.users {
            let range = p.mls.flatMap { mls in u.range.map { mls.text($0) } } ?? "-"
            let level = p.mls.flatMap { mls in u.defaultLevel.map { mls.text($0) } } ?? "-"
            add("users", "\(u.name) roles={\(names(u.roles, roleNames))} range=\(range) level=\(level)")
        }
        for b in p.bools { add("booleans", "\(b.name)=\(b.defaultValue)") }
        // Not the number of conditionals: libsepol merges `if` blocks with equal expressions (§3.5).
        if let mls = p.mls {
            for (i, s) in mls.sensitivities.enumerated() {
                add("mls", "sensitivity \(i) \(s.name) aliases=\(s.aliases.sorted()) allows=\(mls.allowedCategories[i])")
            }
            for (i, c) in mls.categories.enumerated() { add("mls", "category \(i) \(c.name) aliases=\(c.aliases.sorted())") }
        }
        add("handleUnknown", "\(p.handleUnknown)")
        for c in p.policyCapabilities { add("capabilities", c) }
        // Effective rules per concrete (source, target, class) under the given booleans.
        let values = booleans ?? p.bools.map(\.defaultValue)
        let rules = RuleSet(policy: p, booleans: values)
        let concrete = p.types.indices.filter { !p.types[$0].isAttribute }
        for s in concrete {
            for t in concrete {
                for cls in p.classes {
                    var e = AVEntry.empty
                    var any = false
                    for sa in p.typeAttributeMap[s] {
                        for ta in p.typeAttributeMap[t] {
                            if let x = rules.avTable.lookup(AVTable.key(source: Int(sa), target: Int(ta), classValue: cls.value)) {
                                e.merge(x)
                                any = true
                            }
                        }
                    }
                    let triple = "\(typeNames[s]) \(typeNames[t]):\(cls.name)"
                    if any && (e.allowed != 0 || e.auditAllow != 0 || e.auditDeny & cls.allPermissions != cls.allPermissions) {
                        add(
                            "av",
                            "\(triple) allow{\(p.permissionNames(e.allowed, classValue: cls.value).joined(separator: " "))} auditallow{\(p.permissionNames(e.auditAllow, classValue: cls.value).joined(separator: " "))} auditdeny~{\(p.permissionNames(~e.auditDeny, classValue: cls.value).joined(separator: " "))}"
                        )
                    }
                    let key = AVTable.key(source: s, target: t, classValue: cls.value)
                    for kind in TransitionKind.allCases {
                        if let n = rules.typeRule(kind, key: key, policy: p) { add("typeRules", "\(kind) \(triple) \(typeNames[n])") }
                    }
                }
            }
        }
        for (k, n) in p.filenameTransitions {
            add("filenameTransitions", "\(typeNames[k.source]) \(typeNames[k.target]):\(p.classes[k.classValue - 1].name) \"\(k.name)\" \(typeNames[n])")
        }
        func triple(_ key: UInt64, _ first: [String]) -> String {
            "\(first[Int(key >> 32)]) \(typeNames[Int((key >> 16) & 0xFFFF)]):\(p.classes[Int(key & 0xFFFF) - 1].name)"
        }
        for (k, r) in p.roleTransitions { add("roleTransitions", "\(triple(k, roleNames)) \(roleNames[r])") }
        for k in p.roleAllows { add("roleAllows", "\(roleNames[Int(k >> 32)]) \(roleNames[Int(k & 0xFFFF_FFFF)])") }
        for (k, r) in p.rangeTransitions { add("rangeTransitions", "\(triple(k, typeNames)) \(p.mls!.text(r))") }
        for (_, ctx) in p.initialSIDs { if let ctx { add("initialSIDContexts", ctx.description) } }
        for pc in p.portcons { add("portcons", "\(pc.protocol) \(pc.low)-\(pc.high) \(pc.context)") }
        for n in p.netifcons { add("netifcons", "\(n.interface) \(n.interfaceContext) \(n.packetContext)") }
        for n in p.nodecons { add("nodecons", "\(n.address.bytes) \(n.mask.bytes) \(n.context)") }
        for f in p.fsUses { add("fsUses", "\(f.behavior) \(f.filesystem) \(f.context)") }
        for g in p.genfscons { add("genfscons", "\(g.filesystem) \(g.path) \(g.fileType ?? "*") \(g.context)") }
        return out.mapValues { $0.sorted() }
    }

    /// The parts a version cannot carry, so checkpolicy 3.4 drops them when it compiles the source
    /// (Specs/engine/binary-policy.md §6 item 11, §3.6, §3.11).
    static func droppedParts(version: Int) -> Set<String> {
        var out: Set<String> = []
        if version < 16 { out.insert("booleans") }
        if version < 20 { out.insert("attributeCount") }  // attributes are expanded away
        if version < 24 { out.insert("typeAttributeMap") }  // attributes unnamed (synthetic names) or absent
        if version < 21 { out.insert("rangeTransitions") }
        if version < 22 { out.insert("capabilities") }
        if version < 23 { out.insert("permissive") }
        if version < 24 { out.insert("types") }  // no bounds before 24
        if version < 25 { out.insert("filenameTransitions") }
        if version < 26 { out.insert("roleTransitions") }
        if version < 28 { out.insert("defaults") }
        if version < 17 { out.insert("nodecons") }
        if version < 19 { out.insert("validatetrans") }
        return out
    }

    /// The parts that differ between two databases, with a sample of lines on each side.
    static func differences(_ a: PolicyDB, _ b: PolicyDB, ignoring: Set<String> = [], booleans: [String: Bool] = [:]) -> [String] {
        func values(_ p: PolicyDB) -> [Bool] { p.bools.map { booleans[$0.name] ?? $0.defaultValue } }
        let sa = summary(a, booleans: values(a)), sb = summary(b, booleans: values(b))
        var out: [String] = []
        for part in Set(sa.keys).union(sb.keys).sorted() where !ignoring.contains(part) {
            let la = sa[part] ?? [], lb = sb[part] ?? []
            if la != lb {
                let onlyA = Set(la).subtracting(lb).sorted().prefix(4), onlyB = Set(lb).subtracting(la).sorted().prefix(4)
                out.append("\(part): only in the first \(Array(onlyA)), only in the second \(Array(onlyB)) (\(la.count) vs \(lb.count) lines)")
            }
        }
        return out
    }
}
