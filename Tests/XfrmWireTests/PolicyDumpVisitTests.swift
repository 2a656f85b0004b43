import IPsecModel
import NetlinkSocket
import NetlinkTestSupport
import SecurityContexts
import Testing
import XfrmManager
import XfrmNetlink
import XfrmWire

/// `NetlinkXfrmKernel.visitPolicies` (the dump decoded datagram by datagram as it arrives) against
/// `perform(.listPolicies)` (the dump collected, then decoded) over one fake kernel's dump.
@Suite struct PolicyDumpVisitTests {
    static let entries: [PolicyEntry] = (0..<11).map(entry)

    static func entry(_ i: Int) -> PolicyEntry {
        let selector = TrafficSelector(
            source: IPPrefix("10.0.\(i).1/32")!, destination: IPPrefix("10.200.0.1/32")!, upperProtocol: 6,
            destinationPort: UInt16(1000 + i), destinationPortMask: 0xffff)
        let template = PolicyTemplate(source: IPAddress("10.0.0.1")!, destination: IPAddress("10.200.0.1")!)
        let label: SecurityContext? = i % 2 == 0 ? try! SecurityContext(parsing: "system_u:object_r:ipsec_spd_t:s0") : nil
        let direction: PolicyDirection = i % 3 == 0 ? .in : .out
        return PolicyEntry(
            selector: selector, direction: direction, priority: UInt32(i % 4), index: UInt32(i * 8 + 1),
            templates: [template], securityContext: label)
    }

    /// A kernel whose policy dump answers with `entries`, three to a datagram.
    static func kernel() throws -> NetlinkXfrmKernel {
        let payloads = try entries.map { try XfrmRequest.addPolicy($0).payload() }
        let fake = FakeNetlinkKernel.eachRequest { request, kernel in
            kernel.dump(request, type: XfrmMessageType.newPolicy.netlink, payloads: payloads, perDatagram: 3)
        }
        return NetlinkXfrmKernel(connection: NetlinkConnection(transport: fake, firstSequence: 7, trace: nil))
    }

    @Test func visitingTheDumpGivesTheListedEntries() throws {
        var outbound = XfrmFilter()
        outbound.direction = .out
        var outboundPriority2 = outbound
        outboundPriority2.priority = 2
        for f in [XfrmFilter(), outbound, outboundPriority2] {
            guard case .policies(let listed) = try Self.kernel().perform(.listPolicies(f)) else { Issue.record("no list"); return }
            var visited: [PolicyEntry] = []
            var restarts = 0
            try Self.kernel().visitPolicies(matching: f, restart: { restarts += 1 }) { visited.append($0) }
            #expect(visited == listed && restarts == 0)
            #expect(!visited.isEmpty && visited == Self.entries.filter { f.matches($0) })
        }
    }

    @Test func visitingPrintsAsTheFormatterPrintsTheList() throws {
        var text = XfrmPolicyText()
        try Self.kernel().visitPolicies(matching: XfrmFilter(), restart: { text.removeAll() }) { entry in
            text.append(entry)
            text.appendNewline()
        }
        #expect(text.string == XfrmFormatter.text(Self.entries) + "\n")
    }
}
