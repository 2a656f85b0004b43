import Foundation
import Testing

/// `salabel trace` and `salabel resolve` on the embedded policy and its echo example, with no
/// argument beyond the flow. Expected decisions: Specs/engine/default-policy-decisions.tsv (libsepol).
struct ResolverCLITests {
    @Test func theClientsFlowIsDeliveredWithItsLabel() throws {
        let r = try CLITests.salabel("trace", "--json")
        #expect(r.status == 0)
        let o = try CLITests.json(r.stdout)
        #expect(o["delivered"] as? Bool == true)
        #expect((o["steps"] as? [Any])?.count == 2)
    }

    @Test func anotherDomainTriggersAnAcquireWithItsOwnLabel() throws {
        let r = try CLITests.salabel("trace", "--from", "system_u:system_r:echo_other_t:s0")
        #expect(r.status == 1)
        #expect(r.stdout.contains("the kernel sends an ACQUIRE carrying system_u:system_r:echo_other_t:s0"))
    }

    @Test func resolveGivesThePeerLabelAndTheVerdict() throws {
        let ok = try CLITests.salabel("resolve", "--json")
        #expect(ok.status == 0)
        #expect(try CLITests.json(ok.stdout)["peer"] as? String == "system_u:system_r:echoclient_t:s0")
        let refused = try CLITests.salabel("resolve", "--socket", "system_u:system_r:echo_other_t:s0")
        #expect(refused.status == 1 && refused.stdout.contains("denied  { recv }"))
        let missing = try CLITests.salabel("resolve", "--spi", "0x9999")
        #expect(missing.status == 1 && missing.stdout.contains("no such SA"))
    }
}
