import IPsecModel
import SecurityContexts
import Testing
import XfrmWire

/// `XfrmRequest.expireSA`: a userspace XFRM_MSG_EXPIRE. iproute2 has no command that sends one, so
/// there are no reference bytes from a tool: the offsets are those of include/uapi/linux/xfrm.h on
/// x86-64, written in Specs/kernel/layouts.md (`xfrm_user_expire`: state 0/224, hard 224/1;
/// `xfrm_usersa_info`: id 56/24, saddr 80/16, family 212/2), and the kernel in the VM accepted the
/// request (Specs/scenarios/sa-expire.yaml on 6.1 and 6.12).
struct ExpireRequestTests {
    @Test func hardExpireBytes() throws {
        let id = SAIdentifier(destination: try #require(IPAddress("10.77.0.2")), spi: 0x700, proto: .esp)
        let bytes = try XfrmRequest.expireSA(id, source: try #require(IPAddress("10.77.0.1")), hard: true, sequence: 1).encoded()
        #expect(bytes.count == 16 + 232)  // nlmsghdr, xfrm_user_expire, no attribute without a mark
        #expect(bytes[4] == 24 && bytes[5] == 0)  // XFRM_MSG_EXPIRE
        #expect(bytes[6] == 0x05 && bytes[7] == 0)  // NLM_F_REQUEST | NLM_F_ACK
        let body = Array(bytes[16...])
        #expect(Array(body[56..<60]) == [10, 77, 0, 2])  // id.daddr
        #expect(Array(body[72..<76]) == [0, 0, 0x07, 0x00])  // id.spi, network order
        #expect(body[76] == 50)  // id.proto ESP
        #expect(Array(body[80..<84]) == [10, 77, 0, 1])  // saddr
        #expect(body[212] == 2 && body[213] == 0)  // family AF_INET
        #expect(body[224] == 1)  // hard
        #expect(body[225..<232].allSatisfy { $0 == 0 })
        // The decoder reads it back as the same EXPIRE.
        let decoded = try #require(XfrmMessage.decodeAll(bytes).first)
        guard case .expire(let e, let attributes) = decoded.body else {
            Issue.record("decoded as \(decoded.body)")
            return
        }
        #expect(e.hard == 1 && e.state.id.spi == 0x700 && attributes.isEmpty)
    }

    @Test func softExpireAndMark() throws {
        let id = SAIdentifier(destination: try #require(IPAddress("fd00:77::2")), spi: 0x701, proto: .esp)
        let bytes = try XfrmRequest.expireSA(
            id, source: try #require(IPAddress("fd00:77::1")), hard: false, mark: XfrmMark(value: 7, mask: 0xffff_ffff)
        ).encoded()
        let body = Array(bytes[16...])
        #expect(body[212] == 10 && body[224] == 0)  // AF_INET6, soft
        #expect(bytes.count == 16 + 232 + 12)  // XFRMA_MARK: 4-byte header, value and mask
    }

    /// POLEXPIRE by index: `xfrm_user_polexpire` is pol 0/168 (`xfrm_userpolicy_info`: sel 0/56,
    /// index 156/4, dir 160/1), hard 168/1 (Specs/kernel/layouts.md §1.4); the kernel in the VM
    /// accepted it (Specs/scenarios/policy-expire.yaml on 6.1 and 6.12).
    @Test func hardPolicyExpireByIndex() throws {
        let bytes = try XfrmRequest.expirePolicy(index: 0x101, direction: .out, hard: true, sequence: 1).encoded()
        #expect(bytes.count == 16 + 176)  // nlmsghdr, xfrm_user_polexpire, no attribute
        #expect(bytes[4] == 27 && bytes[5] == 0)  // XFRM_MSG_POLEXPIRE
        let body = Array(bytes[16...])
        #expect(Array(body[156..<160]) == [0x01, 0x01, 0, 0])  // index, host order
        #expect(body[160] == 1 && body[168] == 1)  // dir out, hard
        #expect(body[40] == 2)  // the selector's family, AF_INET, as iproute2 fills it for a delete by index
    }

    /// POLEXPIRE by selector and label: the label goes in `XFRMA_SEC_CTX`, as DELPOLICY's does.
    @Test func hardPolicyExpireBySelector() throws {
        let selector = TrafficSelector(
            source: try #require(IPPrefix("10.77.0.1/32")), destination: try #require(IPPrefix("10.77.0.2/32")), upperProtocol: 17,
            destinationPort: 7, destinationPortMask: 0xffff)
        let label = try SecurityContext(parsing: "system_u:object_r:ipsec_spd_t:s0")
        let bytes = try XfrmRequest.expirePolicy(selector: selector, direction: .out, securityContext: label, hard: true).encoded()
        let body = Array(bytes[16...])
        #expect(Array(body[0..<4]) == [10, 77, 0, 2] && body[44] == 17 && Array(body[156..<160]) == [0, 0, 0, 0])
        // XFRMA_SEC_CTX: 4-byte header, 8-byte xfrm_user_sec_ctx, the text and its NUL, padded.
        #expect(bytes[16 + 176 + 2] == 8 && bytes.count == 16 + 176 + (4 + 8 + label.description.utf8.count + 1 + 3) / 4 * 4)
        let decoded = try #require(XfrmMessage.decodeAll(bytes).first)
        guard case .policyExpire(let e, let attributes) = decoded.body else {
            Issue.record("decoded as \(decoded.body)")
            return
        }
        #expect(e.hard == 1 && e.policy.dir == 1 && attributes.securityContext != nil)
    }
}
