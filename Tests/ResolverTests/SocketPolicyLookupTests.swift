import DecisionEngine
import IPsecModel
import Resolver
import SecurityContexts
import Testing

/// The per-socket policy lookup before the SPD's (`xfrm_sk_policy_lookup`, Specs/kernel/labeled-ipsec.md
/// §c.1, edges 13 and 15), on the embedded policy: the echo client may polmatch ipsec_spd_t, not
/// ipsec_restricted_spd_t (dontaudit).
struct SocketPolicyLookupTests {
    static let a = EdgeCaseTests.a, b = EdgeCaseTests.b, flow = EdgeCaseTests.flow
    static let template = PolicyTemplate(source: .any(.inet), destination: .any(.inet), mode: .transport)

    static func socketPolicy(_ label: SecurityContext?) -> PolicyEntry {
        PolicyEntry(selector: .any(.inet), direction: .out, templates: [template], securityContext: label, isSocketPolicy: true)
    }

    /// The SPD: one entry labeled ipsec_spd_t, and the client's SA.
    static func resolver() throws -> Resolver {
        try EdgeCaseTests.resolver(
            XfrmMirror(
                sas: [SecurityAssociation(source: a, destination: b, spi: 0x500, mode: .transport, securityContext: EdgeCaseTests.client)],
                policies: [
                    PolicyEntry(
                        selector: TrafficSelector(source: IPPrefix(host: a), destination: IPPrefix(host: b)), direction: .out, index: 1,
                        templates: [template], securityContext: EdgeCaseTests.spd)
                ]))
    }

    /// A socket policy the flow may polmatch is used: the SPD's entry is never asked.
    @Test func aMatchedSocketPolicyHidesTheSPD() throws {
        let res = try Self.resolver().outbound(Self.flow, socketPolicy: Self.socketPolicy(EdgeCaseTests.spd))
        guard case .protected(let entry, let sa) = res.outcome else { Issue.record("\(res.outcome)"); return }
        #expect(entry.isSocketPolicy && sa.spi == 0x500)
        #expect(!res.checks.contains { $0.what.contains("SPD entry") })
    }

    /// A denied polmatch (ESRCH) passes the socket policy over: the SPD's entry carries the flow (edge 15).
    @Test func aDeniedSocketPolicyFallsBackToTheSPD() throws {
        let res = try Self.resolver().outbound(Self.flow, socketPolicy: Self.socketPolicy(EdgeCaseTests.restricted))
        guard case .protected(let entry, _) = res.outcome else { Issue.record("\(res.outcome)"); return }
        #expect(!entry.isSocketPolicy && entry.index == 1)
        #expect(res.checks.first?.passed == false && res.checks.first?.what.contains("socket policy") == true)
    }

    /// An unlabeled socket policy matches with no check and never uses the labeled SA: an ACQUIRE
    /// without a label (edge 13).
    @Test func anUnlabeledSocketPolicyAcquiresWithoutALabel() throws {
        let res = try Self.resolver().outbound(Self.flow, socketPolicy: Self.socketPolicy(nil))
        guard case .acquire(let entry, let label) = res.outcome else { Issue.record("\(res.outcome)"); return }
        #expect(entry.isSocketPolicy && label == nil)
        #expect(res.checks.allSatisfy { $0.access == nil })
    }
}
