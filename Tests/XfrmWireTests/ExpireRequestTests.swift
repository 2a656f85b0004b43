import IPsecModel
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
}
