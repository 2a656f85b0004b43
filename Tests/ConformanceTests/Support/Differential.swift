import DecisionEngine
import Foundation
import SecurityContexts
import TestSupport

/// Differential comparison of salabel's security server with libsepol on the same policy source:
/// the engine compiles the policy.conf itself, libsepol loads what checkpolicy compiled from it.
struct Differential {
    let server: SecurityServer
    let oracle: Oracle
    /// Mismatch descriptions, capped.
    private(set) var mismatches: [String] = []
    private(set) var mismatchCount = 0
    private(set) var comparisons = 0
    /// Comparisons where the policy grants at least one permission (so agreement is not only on
    /// empty vectors).
    private(set) var nonEmptyGrants = 0

    init(server: SecurityServer, oracle: Oracle) {
        self.server = server
        self.oracle = oracle
    }

    mutating func mismatch(_ text: @autoclosure () -> String) {
        mismatchCount += 1
        if mismatches.count < 25 { mismatches.append(text()) }
    }

    var summary: String {
        "\(mismatchCount) mismatches in \(comparisons) comparisons" + (mismatches.isEmpty ? "" : ":\n" + mismatches.joined(separator: "\n"))
    }

    // MARK: Context universe

    /// Candidate contexts from libsepol's own symbol tables: every user × (its roles + object_r) ×
    /// (the role's types, or every type for object_r), with MLS levels drawn from the user's range,
    /// its default level and a few generated levels. Returns valid and invalid candidates.
    static func candidates(_ oracle: Oracle, typesPerRole: Int = .max, extraLevels: Int = 3, allTypesForEveryRole: Bool = false) -> [String] {
        let allTypes = oracle.symbols(0)
        let mls = sepolMLS(oracle)
        var out: [String] = []
        var seen = Set<String>()
        let levels = mls ? generatedLevels(oracle, count: extraLevels) : []
        for user in oracle.symbols(3) {
            let roles = oracle.userRoles(user) + ["object_r"]
            let userRange = mls ? oracle.userRange(user) : nil
            for role in Array(Set(roles)).sorted() {
                let types = (role == "object_r" || allTypesForEveryRole) ? allTypes : oracle.roleTypes(role)
                for type in types.prefix(typesPerRole) {
                    var ranges: [String] = []
                    if let userRange {
                        ranges = [userRange.level, userRange.range] + levels
                    }
                    let base = "\(user):\(role):\(type)"
                    for r in (mls ? ranges : [""]) {
                        let ctx = r.isEmpty ? base : "\(base):\(r)"
                        if seen.insert(ctx).inserted { out.append(ctx) }
                    }
                }
            }
        }
        return out
    }

    static func sepolMLS(_ oracle: Oracle) -> Bool { !oracle.symbols(6).isEmpty }

    /// A few levels and ranges over the policy's sensitivities and first categories.
    static func generatedLevels(_ oracle: Oracle, count: Int) -> [String] {
        let sens = oracle.symbols(6), cats = oracle.symbols(7)
        var levels: [String] = []
        for s in sens {
            levels.append(s)
            if cats.count >= 1 { levels.append("\(s):\(cats[0])") }
            if cats.count >= 2 { levels.append("\(s):\(cats[1])") }
            if cats.count >= 3 { levels.append("\(s):\(cats[0]),\(cats[2])") }
        }
        var out = Array(levels.prefix(count * 2))
        if sens.count >= 2 {
            out.append("\(sens[0])-\(sens[sens.count - 1])")
            if cats.count >= 2 { out.append("\(sens[0])-\(sens[1]):\(cats[0]).\(cats[1])") }
        }
        return out
    }

    // MARK: Comparisons

    /// Compares context validity; returns the contexts both consider valid.
    mutating func compareValidity(_ candidates: [String]) -> [String] {
        var valid: [String] = []
        for c in candidates {
            comparisons += 1
            let theirs = oracle.isValid(c)
            let ours = (try? server.sid(forText: c)) != nil
            if theirs != ours {
                var why = ""
                if !ours { do { _ = try server.sid(forText: c) } catch { why = " (\(error))" } }
                mismatch("validity of \(c): libsepol \(theirs), salabel \(ours)\(why)")
            }
            if theirs && ours { valid.append(c) }
        }
        return valid
    }

    /// Compares the access vector for every pair of contexts and every class.
    mutating func compareAccessVectors(_ contexts: [String], classes: [String]) {
        let ours = contexts.map { try! server.sid(forText: $0) }
        let theirs = contexts.map { oracle.sid($0)! }
        for cls in classes {
            guard let c = server.classValue(cls), let tc = oracle.classValue(cls) else {
                mismatch("class \(cls) unknown to one side")
                continue
            }
            let n = oracle.permissionCount(cls)
            let mask: UInt32 = n >= 32 ? ~0 : (1 << UInt32(n)) - 1
            for i in contexts.indices {
                for j in contexts.indices {
                    comparisons += 1
                    let d = server.computeAV(ours[i], ours[j], classValue: c)
                    guard let (a, aa, ad) = oracle.av(theirs[i], theirs[j], tc) else {
                        mismatch("libsepol could not compute \(contexts[i]) \(contexts[j]) \(cls)")
                        continue
                    }
                    if a & mask != 0 { nonEmptyGrants += 1 }
                    if d.allowed & mask != a & mask || d.auditAllow & mask != aa & mask || d.auditDeny & mask != ad & mask {
                        mismatch(
                            "\(contexts[i]) \(contexts[j]) \(cls): salabel allowed \(Self.hex(d.allowed & mask)) auditallow \(Self.hex(d.auditAllow & mask)) auditdeny \(Self.hex(d.auditDeny & mask)); libsepol \(Self.hex(a & mask)) \(Self.hex(aa & mask)) \(Self.hex(ad & mask))"
                        )
                    }
                }
            }
        }
    }

    /// Compares `count` random access vectors on a reference-policy-sized policy: a source from the
    /// policy's own domains (every user × role × role type at s0), a target that is another domain or
    /// an object of any type, and any class, drawn from a seeded generator so a failure repeats.
    mutating func compareRandomAccessVectors(_ count: Int, seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        let domains = RefpolicyConformanceTests.domainContexts(oracle)
        let types = oracle.symbols(0), classes = oracle.symbols(4)
        for _ in 0..<count {
            let s = rng.pick(domains)
            let t = rng.next() % 2 == 0 ? rng.pick(domains) : "system_u:object_r:\(rng.pick(types)):s0"
            compareAccessVectors(pairs: [(s, t)], cls: rng.pick(classes))
        }
    }

    /// Compares the access vector for the given (source, target) pairs and one class.
    mutating func compareAccessVectors(pairs: [(String, String)], cls: String) {
        guard let c = server.classValue(cls), let tc = oracle.classValue(cls) else {
            mismatch("class \(cls) unknown to one side")
            return
        }
        let n = oracle.permissionCount(cls)
        let mask: UInt32 = n >= 32 ? ~0 : (1 << UInt32(n)) - 1
        for (s, t) in pairs {
            comparisons += 1
            guard let ss = oracle.sid(s), let ts = oracle.sid(t) else {
                if (try? server.sid(forText: s)) != nil && (try? server.sid(forText: t)) != nil {
                    mismatch("libsepol refuses \(s) or \(t), salabel accepts both")
                }
                continue
            }
            guard let os = try? server.sid(forText: s), let ot = try? server.sid(forText: t) else {
                mismatch("salabel refuses \(s) or \(t), libsepol accepts both")
                continue
            }
            let d = server.computeAV(os, ot, classValue: c)
            guard let (a, aa, ad) = oracle.av(ss, ts, tc) else { mismatch("libsepol cannot compute \(s) \(t) \(cls)"); continue }
            if a & mask != 0 { nonEmptyGrants += 1 }
            if d.allowed & mask != a & mask || d.auditAllow & mask != aa & mask || d.auditDeny & mask != ad & mask {
                mismatch(
                    "\(s) \(t) \(cls): salabel allowed \(Self.hex(d.allowed & mask)) auditallow \(Self.hex(d.auditAllow & mask)) auditdeny \(Self.hex(d.auditDeny & mask)); libsepol \(Self.hex(a & mask)) \(Self.hex(aa & mask)) \(Self.hex(ad & mask))"
                )
            }
        }
    }

    /// Compares `permissive` for every type.
    mutating func comparePermissive() {
        for t in oracle.symbols(0) {
            comparisons += 1
            let ours = server.policy.typeIndex[t].map { server.policy.types[$0].isPermissive } ?? false
            if ours != oracle.isPermissive(type: t) { mismatch("permissive \(t): salabel \(ours)") }
        }
    }

    /// Compares transition decisions (kinds: 0 transition, 1 member, 2 change).
    mutating func compareTransitions(_ contexts: [String], classes: [String], kinds: [TransitionKind] = TransitionKind.allCases) {
        for cls in classes {
            for s in contexts {
                for t in contexts {
                    for kind in kinds {
                        comparisons += 1
                        let k: Int32 = kind == .transition ? 0 : kind == .member ? 1 : 2
                        let theirs = oracle.computeSID(kind: k, s, t, cls)
                        let ours: String?
                        do {
                            ours = try server.computeTransition(
                                kind, source: SecurityContext(parsing: s), target: SecurityContext(parsing: t), objectClass: cls, objectName: nil
                            ).description
                        } catch { ours = nil }
                        switch theirs {
                        case .success(let ctx):
                            // Compared by meaning: libsepol prints a run of two categories as
                            // `c0,c1`, the kernel (and salabel) as `c0.c1`.
                            if ours.map(sameContext(ctx)) != true { mismatch("\(kind) \(s) \(t) \(cls): salabel \(ours ?? "error"), libsepol \(ctx)") }
                        case .failure(let e):
                            if let ours { mismatch("\(kind) \(s) \(t) \(cls): salabel \(ours), libsepol error \(e)") }
                        }
                    }
                }
            }
        }
    }

    /// Compares validatetrans decisions for every (old, new, task) triple of the given contexts.
    mutating func compareValidateTrans(_ contexts: [String], classes: [String]) {
        for cls in classes {
            for o in contexts {
                for n in contexts {
                    for t in contexts {
                        comparisons += 1
                        let theirs = oracle.validateTransition(old: o, new: n, task: t, cls)
                        let ours = try? server.validateTransition(
                            old: SecurityContext(parsing: o), new: SecurityContext(parsing: n), task: SecurityContext(parsing: t), objectClass: cls)
                        if theirs < 0 || ours == nil || (theirs == 1) != ours! {
                            mismatch("validatetrans \(o) -> \(n) by \(t) \(cls): salabel \(String(describing: ours)), libsepol \(theirs)")
                        }
                    }
                }
            }
        }
    }

    /// Whether two context strings denote the same context under the loaded policy.
    func sameContext(_ a: String) -> (String) -> Bool {
        { b in
            guard let ca = try? SecurityContext(parsing: a), let cb = try? SecurityContext(parsing: b) else { return a == b }
            guard let ra = try? server.policy.resolve(ca), let rb = try? server.policy.resolve(cb) else { return a == b }
            return ra == rb
        }
    }

    private static func hex(_ v: UInt32) -> String { "0x" + String(v, radix: 16) }
}
