import IPsecModel
import SecurityContexts
import Testing
import XfrmManager

/// The `ip xfrm policy` text of SPD entries of every shape the formatter knows (iproute2
/// `xfrm_policy_info_print`, without the blank it leaves after a selector).
struct XfrmFormatterTests {
    @Test func policyTextOfEveryShape() throws {
        let spd = try SecurityContext(parsing: "system_u:object_r:ipsec_spd_t:s0")
        let plain = PolicyEntry(
            selector: TrafficSelector(
                source: IPPrefix("10.0.0.1/32")!, destination: IPPrefix("192.168.200.0/24")!, upperProtocol: 6,
                sourcePort: 4500, sourcePortMask: 0xffff, destinationPort: 7, destinationPortMask: 0xffff),
            direction: .out, priority: 3,
            templates: [PolicyTemplate(source: IPAddress("10.0.0.1")!, destination: IPAddress("10.0.0.2")!, reqid: 5)])
        #expect(
            XfrmFormatter.text(plain) == """
                src 10.0.0.1/32 dst 192.168.200.0/24 proto tcp sport 4500 dport 7
                \tdir out priority 3 ptype main
                \ttmpl src 10.0.0.1 dst 10.0.0.2
                \t\tproto esp reqid 5 mode transport
                """)

        let everything = PolicyEntry(
            selector: TrafficSelector(
                source: IPPrefix("2001:db8::1/128")!, destination: IPPrefix("::/0")!, upperProtocol: 58,
                sourcePort: 135, sourcePortMask: 0xffff, destinationPort: 0, destinationPortMask: 0xffff,
                interfaceIndex: -3),
            direction: .fwd, priority: 4_294_967_295, action: .block, flags: 3,
            templates: [
                PolicyTemplate(
                    source: IPAddress("::")!, destination: IPAddress("2001:db8::2")!, spi: 0x1234, proto: .ah, mode: .tunnel,
                    reqid: 0, optional: true)
            ],
            mark: XfrmMark(value: 0x10, mask: 0xff), interfaceID: 0xabc, securityContext: spd, policyType: 1)
        #expect(
            XfrmFormatter.text(everything) == """
                src 2001:db8::1/128 dst ::/0 proto ipv6-icmp type 135 code 0 dev -3
                \tsecurity context system_u:object_r:ipsec_spd_t:s0
                \tdir fwd action block priority 4294967295 ptype sub flag localok icmp
                \tmark 0x10/0xff
                \tif_id 0xabc
                \ttmpl src :: dst 2001:db8::2
                \t\tproto ah spi 0x00001234 reqid 0 mode tunnel
                \t\tlevel use 
                """)

        let other = PolicyEntry(
            selector: TrafficSelector(source: IPPrefix("0.0.0.0/0")!, destination: IPPrefix("255.255.255.255/32")!, upperProtocol: 99),
            direction: .in, mark: XfrmMark(value: 0, mask: 0xffff_ffff))
        #expect(XfrmFormatter.text(other) == "src 0.0.0.0/0 dst 255.255.255.255/32 proto 99\n\tdir in priority 0 ptype main\n\tmark 0x0/0xffffffff")
        #expect(
            XfrmFormatter.text([plain, everything, plain])
                == [plain, everything, plain].map { XfrmFormatter.text($0) }.joined(separator: "\n"))
        #expect(XfrmFormatter.text([PolicyEntry]()) == "")
    }
}
