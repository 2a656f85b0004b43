import IPsecModel
import Resolver
import SecurityContexts
import Testing

/// Outbound SA selection compares the reqid exactly (`xfrm_state_find` in net/xfrm/xfrm_state.c:
/// `x->props.reqid == tmpl->reqid`), unlike the inbound template check (`xfrm_state_ok`: a
/// template's reqid 0 accepts any). Specs/kernel/labeled-ipsec.md §c.2.
struct ReqidTests {
    static let a = EdgeCaseTests.a, b = EdgeCaseTests.b, flow = EdgeCaseTests.flow

    static func resolver(templateReqid: UInt32, saReqid: UInt32) throws -> Resolver {
        try EdgeCaseTests.resolver(
            XfrmMirror(
                sas: [
                    SecurityAssociation(
                        source: a, destination: b, spi: 0x600, mode: .transport, reqid: saReqid, securityContext: EdgeCaseTests.client)
                ],
                policies: [
                    PolicyEntry(
                        selector: TrafficSelector(source: IPPrefix(host: a), destination: IPPrefix(host: b)), direction: .out, index: 1,
                        templates: [PolicyTemplate(source: a, destination: b, mode: .transport, reqid: templateReqid)],
                        securityContext: EdgeCaseTests.spd)
                ]))
    }

    /// The same reqid: the SA carries the flow.
    @Test func anEqualReqidFindsTheSA() throws {
        let res = try Self.resolver(templateReqid: 7, saReqid: 7).outbound(Self.flow)
        guard case .protected(_, let sa) = res.outcome else { Issue.record("\(res.outcome)"); return }
        #expect(sa.spi == 0x600)
    }

    /// A template's reqid 0 is no wildcard outbound: the SA of reqid 7 is not found, and the flow
    /// raises an ACQUIRE carrying its label.
    @Test func aTemplateReqidZeroDoesNotFindAnSAOfAnotherReqid() throws {
        let res = try Self.resolver(templateReqid: 0, saReqid: 7).outbound(Self.flow)
        guard case .acquire(_, let label) = res.outcome else { Issue.record("\(res.outcome)"); return }
        #expect(label == EdgeCaseTests.client)
    }
}
