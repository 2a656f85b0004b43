import Foundation
import IPsecModel
import SecurityContexts
import Testing
import TestSupport
import XfrmManager

/// `salabel apply` planning: the file, the keys, each host's half, idempotence and rollback steps.
struct ApplyPlannerTests {
    static let example = repositoryRoot.appendingPathComponent("Examples/apply/echo.yaml")

    static func file() throws -> ApplyFile { try ApplyFile(yaml: String(contentsOf: example, encoding: .utf8)) }

    /// A deterministic "RNG" for tests: counting bytes.
    static func counting(_ n: Int) -> [UInt8] { (0..<n).map { UInt8($0 & 0xFF) } }

    @Test func bothHostsHoldMirrorImages() throws {
        let f = try Self.file()
        let keys = KeyFile.generate(for: f, random: Self.counting)
        let client = try ApplyPlanner.desired(f, host: "client", keys: keys)
        let server = try ApplyPlanner.desired(f, host: "server", keys: keys)
        #expect(client.sas.count == 2 && client.policies.count == 2)
        // The client's outbound SA is the server's inbound one, bit for bit (keys included).
        #expect(client.sas[0] == server.sas[1] && client.sas[1] == server.sas[0])
        let out = client.sas[0]
        #expect(out.source.description == "10.77.0.1" && out.destination.description == "10.77.0.2" && out.proto == .esp)
        #expect(out.securityContext?.description == "system_u:system_r:echoclient_t:s0")
        // The reverse SA carries the server's reply label (its connection context; Specs/kernel/labeled-ipsec.md,
        // edge 23).
        #expect(client.sas[1].securityContext?.description == "system_u:system_r:echoserver_t:s0")
        #expect(out.algorithms.aead?.name == "rfc4106(gcm(aes))" && out.algorithms.aead?.keyBits == 160 && out.algorithms.aead?.truncationBits == 128)
        let pout = client.policies[0], pin = client.policies[1]
        #expect(pout.direction == .out && pout.selector.destinationPort == 7 && pout.selector.upperProtocol == 6)
        #expect(pin.direction == .in && pin.selector.sourcePort == 7)
        #expect(pout.templates == [PolicyTemplate(source: out.source, destination: out.destination, spi: 0, proto: .esp, mode: .transport)])
        #expect(pout.securityContext?.type == "ipsec_spd_t")
        let spol = server.policies[0]
        #expect(spol.direction == .out && spol.selector.sourcePort == 7 && spol.selector.destinationPort == 0)
    }

    @Test func withoutAReplyContextBothSAsCarryTheInitiatorsLabel() throws {
        var text = try String(contentsOf: Self.example, encoding: .utf8)
        text = text.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.contains("reply_context") }.joined(separator: "\n")
        let f = try ApplyFile(yaml: text)
        let server = try ApplyPlanner.desired(f, host: "server", keys: KeyFile.generate(for: f, random: Self.counting))
        #expect(server.sas.map { $0.securityContext?.type } == ["echoclient_t", "echoclient_t"])
    }

    @Test func applyingTwiceChangesNothing() throws {
        let f = try Self.file()
        let keys = KeyFile.generate(for: f, random: Self.counting)
        let want = try ApplyPlanner.desired(f, host: "client", keys: keys)
        let first = ApplyPlanner.plan(desired: want, current: ([], []))
        #expect(first.count == 4 && first.allSatisfy { $0.undo != nil })
        #expect(ApplyPlanner.plan(desired: want, current: want).isEmpty)
    }

    @Test func aRelabeledSAIsDeletedAndAddedBecauseUPDSANeverRelabels() throws {
        let f = try Self.file()
        let keys = KeyFile.generate(for: f, random: Self.counting)
        let want = try ApplyPlanner.desired(f, host: "client", keys: keys)
        var old = want.sas[0]
        old.securityContext = try SecurityContext(parsing: "system_u:system_r:echo_other_t:s0")
        let steps = ApplyPlanner.plan(desired: want, current: ([old, want.sas[1]], want.policies))
        #expect(steps.map(\.operation) == [.deleteSA(old.identifier, source: old.source, mark: nil), .addSA(want.sas[0])])
        #expect(steps[0].undo == .addSA(old))
        // Summaries never carry keys.
        #expect(steps.allSatisfy { !$0.summary.contains("0x") || $0.summary.contains("spi 0x") })
    }

    /// `lifetime:` gives both SAs of the association `struct xfrm_lifetime_cfg` limits under
    /// `ip xfrm state … limit` names; a changed lifetime is a changed SA (UPDSA copies lifetimes,
    /// but the planner replaces, as for every other difference); absent limits are none.
    @Test func lifetimesReachBothSAsAndAChangeReplacesThem() throws {
        let yaml = """
            hosts: { a: { address: 10.0.0.1 }, b: { address: 10.0.0.2 } }
            associations:
              - { name: x, between: [a, b], context: u:r:t:s0,
                  lifetime: { time-soft: 3000, time-hard: 3600, time-use-hard: 600, byte-hard: 1000000000, packet-soft: 900, packet-hard: 1000 } }
            """
        let f = try ApplyFile(yaml: yaml)
        let keys = KeyFile.generate(for: f, random: Self.counting)
        let want = try ApplyPlanner.desired(f, host: "a", keys: keys)
        var expected = LifetimeConfig()
        expected.softAddExpiresSeconds = 3000
        expected.hardAddExpiresSeconds = 3600
        expected.hardUseExpiresSeconds = 600
        expected.hardByteLimit = 1_000_000_000
        expected.softPacketLimit = 900
        expected.hardPacketLimit = 1000
        #expect(want.sas.count == 2 && want.sas.allSatisfy { $0.lifetime == expected })
        #expect(expected.softByteLimit == .max && expected.softUseExpiresSeconds == 0)
        var old = want.sas[0]
        old.lifetime = LifetimeConfig()
        let steps = ApplyPlanner.plan(desired: want, current: ([old, want.sas[1]], want.policies))
        #expect(steps.map(\.operation) == [.deleteSA(old.identifier, source: old.source, mark: nil), .addSA(want.sas[0])])
        #expect(ApplyPlanner.plan(desired: want, current: want).isEmpty)
    }

    @Test func removalTakesPoliciesThenSAs() throws {
        let f = try Self.file()
        let keys = KeyFile.generate(for: f, random: Self.counting)
        let want = try ApplyPlanner.desired(f, host: "server", keys: keys)
        let steps = ApplyPlanner.removal(desired: want, current: want)
        #expect(steps.count == 4)
        guard case .deletePolicy = steps[0].operation, case .deleteSA = steps[3].operation else { Issue.record("order"); return }
        #expect(ApplyPlanner.removal(desired: want, current: ([], [])).isEmpty)
    }

    @Test func keyFilesAreWrittenPrivateAndReadBack() throws {
        let f = try Self.file()
        let keys = KeyFile.generate(for: f, random: Self.counting)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("salabel-\(UUID().uuidString).keys").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try keys.write(to: path)
        let attrs = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attrs[.posixPermissions] as? Int) == 0o600)
        #expect(try KeyFile.read(from: path) == keys)
        chmod(path, 0o644)
        #expect(throws: ApplyFile.Error.self) { try KeyFile.read(from: path) }
        // Generation keeps existing keys.
        #expect(KeyFile.generate(for: f, keeping: keys, random: { _ in [0xFF] }) == keys)
    }

    @Test(arguments: [
        ("hosts: {}\nassociations: []", "hosts: expected a mapping of host names"),
        ("hosts: { a: { address: 1.1.1.1 } }\nassociations: [ { name: x, between: [a, b], context: u:r:t } ]", "unknown host b"),
        ("hosts: { a: { address: 1.1.1.1 }, b: { address: '::1' } }\nassociations: [ { name: x, between: [a, b], context: u:r:t } ]", "different families"),
        ("hosts: { a: { address: 1.1.1.1, port: 3 } }\nassociations: []", "hosts.a.port: unknown field"),
        (
            "hosts: { a: { address: 1.1.1.1 }, b: { address: 2.2.2.2 } }\nassociations: [ { name: x, between: [a, b], context: 'not a context' } ]",
            "associations[0].context"
        ),
        ("hosts: { a: { address: 1.1.1.1 }, b: { address: 2.2.2.2 } }\nassociations: [ { name: x, between: [a, b], context: u:r:t, spi: [1, 2] } ]", "≥ 0x100"),
        (
            "hosts: { a: { address: 1.1.1.1 }, b: { address: 2.2.2.2 } }\nassociations: [ { name: x, between: [a, b], context: u:r:t, proto: ah } ]",
            "AH needs an authentication algorithm"
        ),
        (
            "hosts: { a: { address: 1.1.1.1 }, b: { address: 2.2.2.2 } }\nassociations: [ { name: x, between: [a, b], context: u:r:t, selector: { proto: icmp, port: 7 } } ]",
            "a port needs proto tcp or udp"
        ),
        (
            "hosts: { a: { address: 1.1.1.1 }, b: { address: 2.2.2.2 } }\nassociations: [ { name: x, between: [a, b], context: u:r:t, lifetime: { packet-hard: 0 } } ]",
            "associations[0].lifetime.packet-hard: expected a positive number"
        ),
        (
            "hosts: { a: { address: 1.1.1.1 }, b: { address: 2.2.2.2 } }\nassociations: [ { name: x, between: [a, b], context: u:r:t, lifetime: { time-soft: ten } } ]",
            "associations[0].lifetime.time-soft: expected a positive number below 2^64-1 (leave the limit out for none), found ten"
        ),
        (
            "hosts: { a: { address: 1.1.1.1 }, b: { address: 2.2.2.2 } }\nassociations: [ { name: x, between: [a, b], context: u:r:t, lifetime: { byte-soft: 500, byte-hard: 500 } } ]",
            "associations[0].lifetime.byte-soft: 500 is not below byte-hard 500"
        ),
        (
            "hosts: { a: { address: 1.1.1.1 }, b: { address: 2.2.2.2 } }\nassociations: [ { name: x, between: [a, b], context: u:r:t, lifetime: { packets: 5 } } ]",
            "associations[0].lifetime.packets: unknown field"
        ),
        (
            "hosts: { a: { address: 1.1.1.1 }, b: { address: 2.2.2.2 } }\nassociations: [ { name: x, between: [a, b], context: u:r:t, lifetime: 3600 } ]",
            "associations[0].lifetime: expected a mapping of limits"
        ),
        // Inputs FuzzConfigInput found stopping the process inside Yams' own construction.
        ("hosts: { a: { address: 1.1.1.1 } }\n? [a, b]\n: c\n", "a mapping key must be a plain value, not a list or a mapping"),
        ("hosts: !!set { ? [x] }\n", "hosts: a mapping key must be a plain value"),
        ("hosts: { a: { address: 1.1.1.1 }, a: { address: 2.2.2.2 } }\n", "not valid YAML: line 1, column 10: a mapping key appears twice"),
    ])
    func badFilesSayWhereAndWhat(_ yaml: String, _ message: String) {
        #expect {
            _ = try ApplyFile(yaml: yaml)
        } throws: { error in
            "\(error)".contains(message)
        }
    }
}
