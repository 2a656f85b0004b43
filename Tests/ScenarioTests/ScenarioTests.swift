import Foundation
import IPsecModel
import Resolver
import Scenario
import SecurityContexts
import Testing
import TestSupport

/// Scenario files: Specs/scenarios parse into the mirrors `salabel apply` would install, and bad
/// files are refused with the place and the reason.
struct ScenarioTests {
    static let specs = repositoryRoot.appendingPathComponent("Specs/scenarios")

    @Test func everyScenarioInSpecsParsesAndEveryHostHasAMirror() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.specs.path).filter { $0.hasSuffix(".yaml") }
        #expect(files.count >= 2)
        for f in files {
            let s = try Scenario.load(path: Self.specs.appendingPathComponent(f).path)
            _ = try s.securityServer()
            for h in s.hosts { _ = try s.mirror(host: h) }
        }
    }

    @Test func echoHoldsTheApplyFilesSAsAndEntries() throws {
        let s = try Scenario.load(path: Self.specs.appendingPathComponent("echo.yaml").path)
        let client = try s.mirror(host: "client"), server = try s.mirror(host: "server")
        #expect(client.sas.map { $0.securityContext?.type } == ["echoclient_t", "echoserver_t"])
        #expect(server.sas.map(\.spi) == client.sas.map(\.spi).reversed())
        #expect(client.policies.map(\.direction) == [.out, .in] && client.policies.allSatisfy { $0.securityContext?.type == "ipsec_spd_t" })
        #expect(s.host(with: IPAddress("10.77.0.2")!) == "server" && s.enforcing && s.policy == .embedded)
    }

    @Test func xfrmLinesBuildTheHostsOwnTables() throws {
        let s = try Scenario.load(path: Self.specs.appendingPathComponent("two-labels.yaml").path)
        let client = try s.mirror(host: "client")
        #expect(client.sas.map(\.spi) == [0x300, 0x301] && client.policies.map(\.priority) == [10, 20])
        #expect(client.sa(destination: IPAddress("10.77.0.2")!, spi: 0x301, proto: .esp)?.securityContext?.type == "echo_other_t")
    }

    @Test(arguments: [
        ("hosts: { a: { address: 10.0.0.1, color: red } }", "hosts.a.color: unknown field"),
        ("hosts: { a: { address: 10.0.0.1 } }\nenforcing: maybe", "enforcing: expected true or false"),
        ("hosts: { a: { address: 10.0.0.1 } }\nbooleans: [x]", "booleans: expected a mapping"),
        ("hosts: { a: { address: 10.0.0.1 } }\nbooleans: { x: 3 }", "booleans.x: expected true or false"),
        ("hosts: { a: { address: 10.0.0.1 } }\npolicy: 7", "policy: expected embedded or a policy.conf path"),
        ("hosts: { a: { address: 10.0.0.1, xfrm: nope } }", "hosts.a.xfrm: expected a list"),
        ("hosts: { a: { address: 10.0.0.1, xfrm: [\"state flush\"] } }", "hosts.a.xfrm[0]: a host's xfrm list holds `state add` and `policy add` lines only"),
        ("hosts: { a: { address: 10.0.0.1, xfrm: [\"state add src 1.2.3.4\"] } }", "hosts.a.xfrm[0]:"),
        ("hosts: { a: { address: 10.0.0.1, xfrm: [\"policy add dir out ctx \\\"a:b\\\"\"] } }", "hosts.a.xfrm[0]:"),
        ("stepz: []\nhosts: { a: { address: 10.0.0.1 } }", "stepz: unknown field"),
        ("- a list", "expected a mapping"),
    ])
    func badFilesSayWhereAndWhy(text: String, message: String) {
        Self.expectRefused(text, shown: text, message: message)
    }

    /// Parses `yaml` as bad.yaml and expects it refused with an error that names the file and
    /// contains `message`; `shown` is the text a failure quotes.
    static func expectRefused(_ yaml: String, shown: String, message: String, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try Scenario(yaml: yaml, file: "bad.yaml")
            Issue.record("accepted: \(shown)", sourceLocation: sourceLocation)
        } catch {
            #expect(error.description.hasPrefix("bad.yaml: "), sourceLocation: sourceLocation)
            #expect(error.description.contains(message), "\(error.description)", sourceLocation: sourceLocation)
        }
    }

    @Test func aMissingPolicyFileIsAnErrorNotTheEmbeddedPolicy() throws {
        let s = try Scenario(yaml: "policy: nowhere.conf\nhosts: { a: { address: 10.0.0.1 } }", file: "/tmp/x/bad.yaml")
        #expect(s.policy == .file("/tmp/x/nowhere.conf"))
        #expect(throws: (any Error).self) { try s.securityServer() }
        #expect(throws: Scenario.Error.self) { try s.mirror(host: "b") }
    }
}
