import Foundation
import Testing
import TestSupport

/// `salabel trace --scenario` and `salabel resolve --scenario` on the NetLabel scenarios play the
/// scenario's NetLabel tables as the model does (edge 22 of Specs/kernel/labeled-ipsec.md). Every
/// expected label is the kernel's: the step of Specs/scenarios/netlabel-cipso.yaml or
/// netlabel-fallback.yaml named beside it, which the model and the kernel meet on 6.1 and 6.12
/// (README.md, the agreement table).
struct NetLabelCLITests {
    static let cipso = repositoryRoot.appendingPathComponent("Specs/scenarios/netlabel-cipso.yaml").path
    static let fallback = repositoryRoot.appendingPathComponent("Specs/scenarios/netlabel-fallback.yaml").path
    static let s1 = "system_u:system_r:echoclient_t:s1:c1"
    static let s2 = "system_u:system_r:echoclient_t:s2"
    static let server = "system_u:system_r:echoserver_t:s0-s3:c0.c15"

    static func trace(_ file: String, _ args: String...) throws -> (status: Int32, text: String, json: [String: Any]) {
        let text = try CLITests.run(CLITests.binary, ["trace", "--scenario", file, "--to", server] + args)
        let json = try CLITests.run(CLITests.binary, ["trace", "--json", "--scenario", file, "--to", server] + args)
        return (text.status, text.stdout, try CLITests.json(json.stdout))
    }

    @Test func withNoSATheCIPSOLabelIsThePeerLabelBothWays() throws {
        // netlabel-cipso step 1.
        let t = try Self.trace(Self.cipso, "--proto", "udp", "--dport", "40000", "--from", Self.s1)
        #expect(t.status == 0)
        #expect(t.json["peer"] as? String == "system_u:object_r:netlabel_peer_t:s1:c1")
        #expect((t.json["reply"] as? [String: Any])?["peer"] as? String == "system_u:object_r:netlabel_peer_t:s0")
        #expect(t.text.contains("NetLabel CIPSO system_u:object_r:netlabel_peer_t:s1:c1: no SA label: the NetLabel label"))
    }

    @Test func overTheSAEqualRangesGiveTheSALabelAndTheReplyCarriesCIPSO() throws {
        // netlabel-cipso step 3: the reconciliation keeps the SA label; the SYN-ACK goes back in the clear.
        let t = try Self.trace(Self.cipso, "--proto", "tcp", "--dport", "7", "--from", Self.s1)
        #expect(t.status == 0)
        #expect(t.json["peer"] as? String == Self.s1)
        #expect((t.json["reply"] as? [String: Any])?["peer"] as? String == "system_u:object_r:netlabel_peer_t:s1:c1")
        #expect(t.text.contains("NetLabel CIPSO system_u:object_r:netlabel_peer_t:s1:c1: equal MLS ranges: the SA label"))
    }

    @Test func differentRangesAreRefusedAndATransportModeDatagramIsLost() throws {
        // netlabel-cipso step 4: the SA label s1 (the server's copy) and the CIPSO level s2.
        let refused = try Self.trace(Self.cipso, "--proto", "tcp", "--dport", "7", "--from", Self.s2)
        #expect(refused.status == 1 && refused.json["delivered"] as? Bool == false)
        #expect(refused.text.contains("security_net_peersid_resolve") && refused.text.contains("-EACCES"))
        #expect(!refused.text.contains("avc:"))
        // netlabel-cipso step 2: the datagram over the transport-mode SA.
        let lost = try Self.trace(Self.cipso, "--proto", "udp", "--dport", "7", "--from", Self.s1, "--no-reply")
        #expect(lost.status == 1 && lost.text.contains("a second CIPSO option"))
    }

    @Test func aStaticLabelStandsAloneAndYieldsToTheSALabel() throws {
        // netlabel-fallback steps 1 and 2.
        let alone = try Self.trace(Self.fallback, "--proto", "udp", "--dport", "40000", "--no-reply")
        #expect(alone.status == 0 && alone.json["peer"] as? String == "system_u:object_r:fallback_peer_t:s0")
        let sa = try Self.trace(Self.fallback, "--proto", "udp", "--dport", "7", "--no-reply")
        #expect(sa.status == 0 && sa.json["peer"] as? String == "system_u:system_r:echoclient_t:s0")
        #expect(sa.text.contains("NetLabel fallback system_u:object_r:fallback_peer_t:s0: a fallback NetLabel label yields to the SA label"))
    }

    @Test func resolveReconcilesTheSALabelWithTheCIPSOLabel() throws {
        // netlabel-cipso step 3 (equal ranges: the SA label) and step 4 (s2 on the SA labeled s1: refused).
        let ok = try CLITests.salabel("resolve", "--json", "--scenario", Self.cipso, "--spi", "0x100", "--socket", Self.server)
        let o = try CLITests.json(ok.stdout)
        #expect(ok.status == 0 && o["getpeercon"] as? String == Self.s1)
        let refused = try CLITests.salabel("resolve", "--scenario", Self.cipso, "--spi", "0x200", "--from", Self.s2, "--socket", Self.server)
        #expect(refused.status == 1 && refused.stdout.contains("-EACCES") && refused.stdout.contains("peer label: none (dropped)"))
    }
}
