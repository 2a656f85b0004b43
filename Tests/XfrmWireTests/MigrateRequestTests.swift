import IPsecModel
import Testing
import XfrmWire

/// `XfrmRequest.migrate`: a userspace XFRM_MSG_MIGRATE. iproute2 has no command that sends one, so
/// there are no reference bytes from a tool: the offsets are those of include/uapi/linux/xfrm.h on
/// x86-64, written in Specs/kernel/layouts.md (`xfrm_userpolicy_id`: sel 0/56, index 56/4, dir 60/1;
/// `xfrm_user_migrate`: old_daddr 0, old_saddr 16, new_daddr 32, new_saddr 48, proto 64, mode 65,
/// reserved 66/2, reqid 68/4, old_family 72/2, new_family 74/2; 76 bytes; `XFRM_MSG_MIGRATE` 33,
/// `XFRMA_MIGRATE` 17), and the kernel in the VM accepted the request
/// (Specs/scenarios/sa-migrate.yaml on 6.1 and 6.12).
struct MigrateRequestTests {
    func address(_ text: String) throws -> IPAddress { try #require(IPAddress(text)) }

    @Test func migrateBytes() throws {
        let selector = TrafficSelector(
            source: try #require(IPPrefix("10.77.0.1/32")), destination: try #require(IPPrefix("10.77.0.2/32")), upperProtocol: 17,
            destinationPort: 7, destinationPortMask: 0xffff)
        let move = SAMigration(
            proto: .esp, mode: .tunnel, reqid: 9, oldSource: try address("10.77.0.1"), oldDestination: try address("10.77.0.2"),
            newSource: try address("10.77.0.1"), newDestination: try address("10.77.0.3"))
        let bytes = try XfrmRequest.migrate(selector: selector, direction: .out, migrations: [move], sequence: 1).encoded()
        #expect(bytes.count == 16 + 64 + 4 + 76)  // nlmsghdr, xfrm_userpolicy_id, XFRMA_MIGRATE with one entry
        #expect(bytes[4] == 33 && bytes[5] == 0)  // XFRM_MSG_MIGRATE
        #expect(bytes[6] == 0x05 && bytes[7] == 0)  // NLM_F_REQUEST | NLM_F_ACK
        let id = Array(bytes[16..<80])
        #expect(Array(id[0..<4]) == [10, 77, 0, 2] && Array(id[16..<20]) == [10, 77, 0, 1])  // sel.daddr, sel.saddr
        #expect(Array(id[32..<36]) == [0, 7, 0xff, 0xff])  // dport 7, dport_mask, network order
        #expect(id[40] == 2 && id[42] == 32 && id[43] == 32 && id[44] == 17)  // AF_INET, prefix lengths, UDP
        #expect(Array(id[56..<60]) == [0, 0, 0, 0] && id[60] == 1)  // index 0, dir out
        let attribute = Array(bytes[80...])
        #expect(attribute[0] == 80 && attribute[1] == 0 && attribute[2] == 17 && attribute[3] == 0)  // nla_len 80, XFRMA_MIGRATE
        let m = Array(attribute[4...])
        #expect(Array(m[0..<4]) == [10, 77, 0, 2] && Array(m[16..<20]) == [10, 77, 0, 1])  // old_daddr, old_saddr
        #expect(Array(m[32..<36]) == [10, 77, 0, 3] && Array(m[48..<52]) == [10, 77, 0, 1])  // new_daddr, new_saddr
        #expect(m[64] == 50 && m[65] == 1 && m[66] == 0 && m[67] == 0)  // ESP, tunnel, reserved
        #expect(Array(m[68..<72]) == [9, 0, 0, 0])  // reqid, host order
        #expect(Array(m[72..<76]) == [2, 0, 2, 0])  // old_family, new_family
        // The decoder reads it back.
        let decoded = try #require(XfrmMessage.decodeAll(bytes).first)
        guard case .policyID(let p, let attributes) = decoded.body, case .migrations(let moves) = attributes.first else {
            Issue.record("decoded as \(decoded.body)")
            return
        }
        #expect(decoded.type == .migrate && decoded.type.description == "XFRM_MSG_MIGRATE")
        #expect(p.dir == 1 && moves == [XfrmUserMigrate(move)])
    }

    @Test func subPolicyTypeAndSeveralMoves() throws {
        let v6 = SAMigration(
            proto: .esp, mode: .transport, oldSource: try address("fd00:77::1"), oldDestination: try address("fd00:77::2"),
            newSource: try address("fd00:77::1"), newDestination: try address("fd00:77::3"))
        var ah = v6
        ah.proto = .ah
        let bytes = try XfrmRequest.migrate(selector: .any(.inet6), direction: .in, migrations: [v6, ah], policyType: 1).encoded()
        // XFRMA_POLICY_TYPE (4 + 6, padded to 12), then XFRMA_MIGRATE with two entries.
        #expect(bytes.count == 16 + 64 + 12 + 4 + 2 * 76)
        let moves = Array(bytes[(16 + 64 + 12 + 4)...])
        let first: [UInt8] = [moves[64], moves[72], moves[74]]
        let second: UInt8 = moves[76 + 64]
        #expect(first == [50, 10, 10] && second == 51)  // ESP, AF_INET6 old and new; then AH
    }

    /// A received `XFRMA_MIGRATE` whose length is not a whole number of entries is refused with its
    /// offset, as every attribute of a kernel reply is.
    @Test func truncatedMigrationIsRefused() throws {
        var bytes = try XfrmRequest.migrate(
            selector: .any(.inet), direction: .out,
            migrations: [
                SAMigration(
                    proto: .esp, mode: .transport, oldSource: try address("10.0.0.1"), oldDestination: try address("10.0.0.2"),
                    newSource: try address("10.0.0.1"), newDestination: try address("10.0.0.3"))
            ]
        ).encoded()
        bytes.removeLast(4)
        bytes[0] = UInt8(bytes.count)  // nlmsg_len
        bytes[80] = 76  // nla_len: 72 bytes of payload
        #expect(throws: XfrmWireError.self) { try XfrmMessage.decodeAll(bytes) }
    }
}
