import DecisionEngine
import IPsecModel
@testable import Resolver
import Scenario
import SecurityContexts
import Testing

/// `DenialExplainer` (Specs/resolver/why.md) on the embedded policy and the echo example's client
/// host (Specs/scenarios/echo.yaml): which check, what carries the labels, what would change it.
/// The rules and stages are checked against audit2allow and audit2why in CLITests.WhyCLITests.
struct DenialExplainerTests {
    static func explainer(acquires: [PendingAcquire] = []) throws -> DenialExplainer {
        let (client, _) = try ReportTests.resolvers()
        var mirror = client.mirror
        mirror.acquires = acquires
        return DenialExplainer(resolver: Resolver(mirror: mirror, authorizer: client.authorizer), policyText: nil)
    }

    static func record(_ line: String) throws -> LoggedAuditRecord {
        LoggedAuditRecord(record: try #require(try AuditRecord(logLine: line)), event: nil, line: 1)
    }

    @Test func aPeerDenialNamesTheSAThatCarriedTheLabel() throws {
        let e = try Self.explainer().explain(
            try Self.record(
                "avc:  denied  { recv } for  pid=0 comm=\"swapper/0\" saddr=10.77.0.1 daddr=10.77.0.2 scontext=\(ReportTests.server) tcontext=\(ReportTests.client) tclass=peer permissive=0"
            ))
        // The embedded policy allows this one: the record came from elsewhere; said, not explained.
        #expect(e.check?.function == "selinux_socket_sock_rcv_skb" && e.decision?.decision == .allowed)
        #expect(e.unexplained?.contains("this policy allows it") == true && e.fixes.isEmpty)
        // Its carrier is the client → server SA labeled with the client's context, by address.
        #expect(e.carriers.count == 1)
        guard case .sa(let sa) = e.carriers.first else {
            Issue.record("no SA: \(e.carriers)")
            return
        }
        #expect(sa.securityContext == ReportTests.client && sa.source == ReportTests.clientAddress)
    }

    @Test func aPendingAcquireIsTheMissingSA() throws {
        let acquire = PendingAcquire(
            source: ReportTests.clientAddress, destination: ReportTests.serverAddress, proto: .esp, label: ReportTests.other, sequence: 9)
        let e = try Self.explainer(acquires: [acquire]).explain(
            try Self.record("avc:  denied  { sendto } for  scontext=\(ReportTests.client) tcontext=\(ReportTests.other) tclass=association permissive=0"))
        #expect(e.check?.id == "D2" && e.decision?.decision == .denied(stages: ["TERULE"]))
        #expect(e.carriers.contains(.acquire(acquire)) && e.fixes.contains(.keyManager(acquire)))
        #expect(
            e.fixes.first
                == .allowRule("allow echoclient_t echo_other_t:association sendto;", neverallow: .notChecked("a binary policy carries no neverallow rules")))
    }

    @Test func aRefusedSPDLabelPointsAtOnesTheDomainMayMatch() throws {
        let spd = try SecurityContext(parsing: "system_u:object_r:ipsec_restricted_spd_t:s0")
        let e = try Self.explainer().explain(
            try Self.record("avc:  denied  { polmatch } for  scontext=\(ReportTests.other) tcontext=\(spd) tclass=association permissive=0"))
        #expect(e.check?.id == "D1")
        // The echo example's entries are labeled ipsec_spd_t, which echo_domain may match.
        #expect(e.fixes.contains(.spdLabel(allowed: [try SecurityContext(parsing: "system_u:object_r:ipsec_spd_t:s0")])))
    }

    @Test func otherClassesAndUnknownContextsAreNotExplained() throws {
        let e = try Self.explainer()
        let file = e.explain(try Self.record("avc:  denied  { read } for  scontext=a:b:c_t:s0 tcontext=a:b:d_t:s0 tclass=file permissive=0"))
        #expect(file.check == nil && file.unexplained?.contains("not a check of labeled networking") == true)
        let unknown = e.explain(try Self.record("avc:  denied  { recv } for  scontext=nobody_u:r:nothing_t:s0 tcontext=a:b:d_t:s0 tclass=peer permissive=0"))
        #expect(unknown.check != nil && unknown.decision == nil && unknown.unexplained?.hasPrefix("the policy cannot decide it") == true)
    }
}
