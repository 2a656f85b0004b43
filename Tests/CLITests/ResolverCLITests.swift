import Foundation
import Testing
import TestSupport

/// `salabel trace` and `salabel resolve` on the embedded policy and its echo example, with no
/// argument beyond the flow, and on the scenarios of Specs/scenarios. Expected decisions:
/// Specs/engine/default-policy-decisions.tsv (libsepol); reply labels: Specs/kernel/labeled-ipsec.md,
/// edge 23 (connection context).
struct ResolverCLITests {
    static let scenarios = repositoryRoot.appendingPathComponent("Specs/scenarios")

    @Test func theClientsFlowIsDeliveredWithItsLabelAndTheReplyWithTheServers() throws {
        let r = try CLITests.salabel("trace", "--json")
        #expect(r.status == 0)
        let o = try CLITests.json(r.stdout)
        #expect(o["delivered"] as? Bool == true && o["round_trip"] as? Bool == true)
        #expect(o["peer"] as? String == "system_u:system_r:echoclient_t:s0")
        #expect((o["steps"] as? [[String: Any]])?.map { $0["step"] as? String } == ["outbound", "inbound-policy", "delivery"])
        let reply = try #require(o["reply"] as? [String: Any])
        #expect(reply["peer"] as? String == "system_u:system_r:echoserver_t:s0" && reply["delivered"] as? Bool == true)
        // The embedded example and Specs/scenarios/echo.yaml are the same scenario.
        let f = try CLITests.salabel("trace", "--json", "--scenario", Self.scenarios.appendingPathComponent("echo.yaml").path)
        #expect(f.status == 0 && f.stdout == r.stdout)
    }

    @Test func anotherDomainTriggersAnAcquireWithItsOwnLabel() throws {
        let r = try CLITests.salabel("trace", "--from", "system_u:system_r:echo_other_t:s0")
        #expect(r.status == 1)
        #expect(r.stdout.contains("the kernel sends an ACQUIRE carrying system_u:system_r:echo_other_t:s0"))
        let j = try CLITests.json(try CLITests.salabel("trace", "--json", "--from", "system_u:system_r:echo_other_t:s0").stdout)
        #expect(j["acquire_label"] as? String == "system_u:system_r:echo_other_t:s0" && j["outcome"] as? String == "acquire")
    }

    @Test func theFlowsLabelChoosesBetweenTwoSAs() throws {
        let file = Self.scenarios.appendingPathComponent("two-labels.yaml").path
        let ok = try CLITests.salabel("trace", "--scenario", file, "--no-reply")
        #expect(ok.status == 0 && ok.stdout.contains("sent on SA spi 0x300 labeled system_u:system_r:echoclient_t:s0"))
        #expect(ok.stdout.contains("ipsec_restricted_spd_t:s0: denied (TERULE, dontaudit)"))
        let other = try CLITests.salabel("trace", "--scenario", file, "--no-reply", "--from", "system_u:system_r:echo_other_t:s0")
        #expect(other.status == 1 && other.stdout.contains("sent on SA spi 0x301 labeled system_u:system_r:echo_other_t:s0"))
        #expect(
            other.stdout.contains(
                "avc:  denied  { recv } for  scontext=system_u:system_r:echoserver_t:s0 tcontext=system_u:system_r:echo_other_t:s0 tclass=peer"))
    }

    @Test func resolveGivesThePeerLabelAndTheVerdict() throws {
        let ok = try CLITests.salabel("resolve", "--json")
        #expect(ok.status == 0)
        let o = try CLITests.json(ok.stdout)
        #expect(o["peer"] as? String == "system_u:system_r:echoclient_t:s0" && o["getpeercon"] as? String == "system_u:system_r:echoclient_t:s0")
        #expect(o["host"] as? String == "server")
        let refused = try CLITests.salabel("resolve", "--socket", "system_u:system_r:echo_other_t:s0")
        #expect(refused.status == 1 && refused.stdout.contains("denied  { recv }"))
        let missing = try CLITests.salabel("resolve", "--spi", "0x9999")
        #expect(missing.status == 1 && missing.stdout.contains("no such SA"))
        let client = try CLITests.salabel("resolve", "--dst", "10.77.0.1", "--socket", "system_u:system_r:echoclient_t:s0", "--json")
        let clientJSON = try CLITests.json(client.stdout)
        #expect(client.status == 0 && clientJSON["peer"] as? String == "system_u:system_r:echoserver_t:s0")
    }

    @Test func badScenariosAndAddressesAreErrors() throws {
        let nowhere = try CLITests.salabel("trace", "--dst", "10.9.9.9")
        #expect(nowhere.status == 2 && nowhere.stderr.contains("no host has the address 10.9.9.9"))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("salabel-scenario-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let bad = dir.appendingPathComponent("bad.yaml")
        try "hosts: { a: { address: 10.0.0.1, colour: red } }\n".write(to: bad, atomically: true, encoding: .utf8)
        let r = try CLITests.salabel("trace", "--scenario", bad.path)
        #expect(r.status == 2 && r.stderr.contains("bad.yaml: hosts.a.colour: unknown field"))
        let both = try CLITests.salabel("resolve", "--scenario", bad.path, "--netns", "x")
        #expect(both.status != 0 && both.stderr.contains("exclude each other"))
    }
}
