import DecisionEngine
import Foundation
import SecurityContexts
import Testing
import TestSupport

/// The flattened Debian reference policy (selinux-policy-default, written back to policy.conf by
/// `checkpolicy -b -F -M`): salabel compiles the 10 MB text, libsepol reads the binary it came
/// from, and their answers must agree.
@Suite(.serialized)
struct RefpolicyConformanceTests {
    static let loaded: Result<(SecurityServer, Oracle, Double), any Error> = Result {
        let (conf, binary) = try refpolicyConf()
        let start = Date()
        let server = try SecurityServer.load(path: conf)
        let seconds = Date().timeIntervalSince(start)
        return (server, try Oracle(binaryPolicy: binary), seconds)
    }

    /// Subject contexts drawn from the policy's own users, roles and role types (at s0, within
    /// every user's range).
    static func domainContexts(_ oracle: Oracle) -> [String] {
        var out: [String] = []
        for user in oracle.symbols(3) {
            for role in oracle.userRoles(user) where role != "object_r" {
                for type in oracle.roleTypes(role) { out.append("\(user):\(role):\(type):s0") }
            }
        }
        return out
    }

    @Test func loadsAndCountsMatchLibsepol() throws {
        let (server, oracle, seconds) = try Self.loaded.get()
        let p = server.policy
        #expect(p.typeCount == oracle.symbols(0).count)
        #expect(p.attributeCount == oracle.symbols(1).count)
        #expect(p.roles.count == oracle.symbols(2).count)
        #expect(p.users.count == oracle.symbols(3).count)
        #expect(p.classes.count == oracle.symbols(4).count)
        #expect(p.bools.count == oracle.symbols(5).count)
        #expect(p.mls?.categoryCount == oracle.symbols(7).count)
        print("refpolicy: compiled by salabel in \(String(format: "%.2f", seconds)) s (debug build)")
    }

    @Test func hundredThousandRandomQueriesAgree() throws {
        let (server, oracle, _) = try Self.loaded.get()
        var rng = SplitMix64(seed: 0x5A1A_BE15)
        let domains = Self.domainContexts(oracle)
        let types = oracle.symbols(0)
        let classes = oracle.symbols(4)
        #expect(domains.count > 1000)
        var diff = Differential(server: server, oracle: oracle)
        var queries = 0
        while queries < 100_000 {
            let s = rng.pick(domains)
            let t = rng.next() % 2 == 0 ? rng.pick(domains) : "system_u:object_r:\(rng.pick(types)):s0"
            let cls = rng.pick(classes)
            diff.compareAccessVectors(pairs: [(s, t)], cls: cls)
            queries += 1
        }
        #expect(diff.comparisons >= 100_000)
        #expect(diff.nonEmptyGrants >= 1_000, "random queries must include granted permissions (\(diff.nonEmptyGrants))")
        print("refpolicy: \(diff.comparisons) random queries, \(diff.nonEmptyGrants) with permissions granted")
        #expect(diff.mismatchCount == 0, "\(diff.summary)")
    }

    @Test func everyDomainAssociationQueryAgrees() throws {
        let (server, oracle, _) = try Self.loaded.get()
        let domainTypes = Set(oracle.attributeTypes("domain"))
        #expect(domainTypes.count > 500)
        // One subject context per domain type that some role may have.
        var subjects: [String: String] = [:]
        for ctx in Self.domainContexts(oracle) {
            let type = String(ctx.split(separator: ":")[2])
            if domainTypes.contains(type) && subjects[type] == nil { subjects[type] = ctx }
        }
        var diff = Differential(server: server, oracle: oracle)
        var pairs: [(String, String)] = []
        for (_, s) in subjects.sorted(by: { $0.key < $1.key }) {
            pairs.append((s, "system_u:object_r:ipsec_spd_t:s0"))
            pairs.append((s, "system_u:object_r:unlabeled_t:s0"))
            pairs.append((s, s))
        }
        diff.compareAccessVectors(pairs: pairs, cls: "association")
        #expect(diff.comparisons == pairs.count)
        #expect(diff.nonEmptyGrants > 100)
        print("refpolicy: \(pairs.count) domain × {ipsec_spd_t, unlabeled_t, self} association queries, \(diff.nonEmptyGrants) granting")
        #expect(diff.mismatchCount == 0, "\(diff.summary)")
        // The reference policy's own statement of the rule (ipsec.te): ipsec_t may setcontext any SPD type.
        let d = try server.computeAccess(
            source: SecurityContext(parsing: "system_u:system_r:ipsec_t:s0"),
            target: SecurityContext(parsing: "system_u:object_r:ipsec_spd_t:s0"), objectClass: "association")
        #expect(d.allowed.contains("setcontext"))
    }

    @Test func transitionsOnRandomQueriesAgree() throws {
        let (server, oracle, _) = try Self.loaded.get()
        var rng = SplitMix64(seed: 0x7E57)
        let domains = Self.domainContexts(oracle)
        let types = oracle.symbols(0)
        let classes = oracle.symbols(4).filter { $0 != "socket" && !$0.hasSuffix("_socket") }
        var diff = Differential(server: server, oracle: oracle)
        for _ in 0..<5_000 {
            let s = rng.pick(domains)
            let t = "system_u:object_r:\(rng.pick(types)):s0"
            diff.compareTransitions([s, t], classes: [rng.pick(classes)], kinds: [.transition])
        }
        #expect(diff.mismatchCount == 0, "\(diff.summary)")
    }
}
