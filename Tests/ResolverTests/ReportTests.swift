import DecisionEngine
import Foundation
import IPsecModel
@testable import Resolver
import Scenario
import SecurityContexts
import Testing

/// What `salabel trace` and `salabel resolve` print (`Reports.swift`): a ``PathTrace`` and an
/// ``SADeliveryReport`` as lines and as JSON, on the embedded echo example.
struct ReportTests {
    static let server = PathTests.server, client = PathTests.client, other = PathTests.other
    static let clientAddress = IPAddress("10.77.0.1")!, serverAddress = IPAddress("10.77.0.2")!

    static func resolvers() throws -> (client: Resolver, server: Resolver) {
        let scenario = try Scenario.echoExample()
        let authorizer = AssociationAuthorizer(
            cache: AccessVectorCache(server: try Scenario.securityServer(policyPath: nil, scenario: scenario, permissive: false)))
        return (
            Resolver(mirror: try scenario.mirror(host: "client"), authorizer: authorizer),
            Resolver(mirror: try scenario.mirror(host: "server"), authorizer: authorizer)
        )
    }

    static func trace(from context: SecurityContext) throws -> PathTrace {
        let (c, s) = try resolvers()
        let flow = Flow(context: context, source: clientAddress, destination: serverAddress, upperProtocol: 6, destinationPort: 7)
        return PathTrace.trace(flow, sender: c, receiver: s, socket: server)
    }

    @Test func aRoundTripNumbersTheReplysStagesOn() throws {
        let t = try Self.trace(from: Self.client)
        let lines = t.lines(names: [Self.clientAddress: "client", Self.serverAddress: "server"])
        #expect(lines.first == "flow \(t.flow)")
        let titles = lines.filter { $0.first?.isNumber == true || $0 == "reply:" }
        #expect(
            titles == [
                "1. outbound on client (10.77.0.1):", "2. inbound policy check on server:", "3. delivery on server:", "reply:",
                "4. outbound on server (10.77.0.2):", "5. inbound policy check on client:", "6. delivery on client:",
            ])
        #expect(lines.contains("   → delivered: \(Self.server) sees the peer label \(Self.client)"))
        let checkCount = (t.legs + t.reply[0].legs).reduce(0) { $0 + $1.checks.count }
        #expect(lines.filter { $0.hasPrefix("   ✓ ") }.count == checkCount)
        // Without names, a host is its address.
        #expect(t.lines(names: [:])[1] == "1. outbound on 10.77.0.1 (10.77.0.1):")

        let o = t.json
        #expect(JSONSerialization.isValidJSONObject(o))
        #expect(o["delivered"] as? Bool == true && o["round_trip"] as? Bool == true && o["outcome"] as? String == "protected")
        #expect(o["peer"] as? String == Self.client.description && o["acquire_label"] == nil)
        let steps = try #require(o["steps"] as? [[String: Any]])
        #expect(steps.map { $0["step"] as? String } == ["outbound", "inbound-policy", "delivery"])
        #expect(steps[0]["host"] as? String == "10.77.0.1" && steps[0]["verdict"] as? String == t.legs[0].verdict)
        let reply = try #require(o["reply"] as? [String: Any])
        #expect(reply["peer"] as? String == Self.server.description && reply["reply"] == nil)
    }

    @Test func anotherLabelTriggersAnAcquire() throws {
        let t = try Self.trace(from: Self.other)
        let o = t.json
        #expect(o["outcome"] as? String == "acquire" && o["acquire_label"] as? String == Self.other.description)
        #expect(o["delivered"] as? Bool == false && o["peer"] == nil && o["reply"] == nil)
        let lines = t.lines(names: [:])
        #expect(lines.last?.hasPrefix("   → no usable SA: the kernel sends an ACQUIRE carrying \(Self.other)") == true)
        // A check with a record prints it on its own indented line.
        let checks = t.legs.flatMap(\.checks)
        for c in checks where c.record != nil { #expect(lines.contains("   " + c.description.replacingOccurrences(of: "\n", with: "\n   "))) }
    }

    @Test func checksAsJSON() throws {
        let plain = ResolutionCheck(what: "SA selection", passed: false, reason: "none", record: nil)
        #expect(plain.json.count == 3 && plain.json["check"] as? String == "SA selection" && plain.json["passed"] as? Bool == false)
        let (_, s) = try Self.resolvers()
        let denied = s.check(Self.server, Self.other, "peer", "recv", what: "peer { recv }")
        #expect(!denied.passed && denied.record != nil)
        #expect(denied.json["avc"] as? String == denied.record?.description)
        // The same check as values: the embedded policy grants echoserver_t nothing from
        // echo_other_t (Resources/default-policy.conf, 6g), so no allow rule: TERULE, enforced.
        let access = try #require(denied.access)
        #expect(access.objectClass == "peer" && access.permissions == ["recv"] && access.source == Self.server && access.target == Self.other)
        #expect(access.decision == .denied(stages: ["TERULE"]) && access.enforced)
        let o = try #require(denied.json["access"] as? [String: Any])
        #expect(o["result"] as? String == "denied" && o["denial_stages"] as? [String] == ["TERULE"] && o["enforced"] as? Bool == true)
        #expect(o["class"] as? String == "peer" && o["source"] as? String == Self.server.description)
        // In permissive mode the denial is audited, not enforced.
        let permissive = Resolver(
            mirror: s.mirror, authorizer: AssociationAuthorizer(cache: AccessVectorCache(server: try SecurityServer.embedded(enforcing: false))))
        let waived = permissive.check(Self.server, Self.other, "peer", "recv", what: "peer { recv }")
        #expect(waived.passed && waived.access?.decision == .denied(stages: ["TERULE"]) && waived.access?.enforced == false)
        // An MLS constraint: the embedded policy's mlsconstrain on association polmatch wants the
        // flow's range inside the entry's (Specs/scenarios/mls-range.yaml), and echo_domain has
        // the allow rule.
        let s2 = try SecurityContext(parsing: "system_u:system_r:echoclient_t:s2")
        let spd = try SecurityContext(parsing: "system_u:object_r:ipsec_spd_t:s0-s1")
        let constrained = Resolver.check(s.authorizer.polmatch(flow: s2, policyLabel: spd), "polmatch")
        #expect(constrained.access?.decision == .denied(stages: ["CONSTRAINT"]) && constrained.access?.objectClass == "association")
        #expect(constrained.access?.permissions == ["polmatch"] && constrained.access?.target == spd)
        // Allowed, and a check that is no permission check.
        #expect(s.check(Self.server, Self.client, "peer", "recv", what: "peer { recv }").access?.decision == .allowed)
        #expect(plain.access == nil && plain.json["access"] == nil)
    }

    @Test func eachCheckOfATraceNamesItsStage() throws {
        let steps = try #require(try Self.trace(from: Self.client).json["steps"] as? [[String: Any]])
        for step in steps {
            let checks = try #require(step["checks"] as? [[String: Any]])
            #expect(!checks.isEmpty && checks.allSatisfy { $0["stage"] as? String == step["step"] as? String })
        }
        let polmatch = try #require((steps[0]["checks"] as? [[String: Any]])?.first?["access"] as? [String: Any])
        #expect(polmatch["class"] as? String == "association" && polmatch["permissions"] as? [String] == ["polmatch"])
        #expect(polmatch["result"] as? String == "allowed" && polmatch["source"] as? String == Self.client.description)
    }

    @Test func deliveryOnAnSA() throws {
        let (_, s) = try Self.resolvers()
        let sa = try #require(s.mirror.sas.first { $0.destination == Self.serverAddress })
        func report(spi: UInt32, socket: SecurityContext) -> SADeliveryReport {
            let inbound = s.inbound(destination: Self.serverAddress, spi: spi, proto: .esp)
            return SADeliveryReport(
                host: "server", destination: Self.serverAddress, spi: spi, proto: .esp, socket: socket.description, inbound: inbound,
                delivery: s.deliver(inbound, to: socket))
        }
        let ok = report(spi: sa.spi, socket: Self.server)
        #expect(ok.peerSeen == Self.client)
        #expect(ok.lines.first == "server: SA dst 10.77.0.2 spi 0x\(String(sa.spi, radix: 16)) proto esp")
        #expect(ok.lines[1] == "peer label: \(Self.client)")
        #expect(ok.lines.last == "delivered to \(Self.server): it sees \(Self.client)")
        #expect(ok.lines.count == ok.delivery.checks.count + 3)
        let o = ok.json
        #expect(JSONSerialization.isValidJSONObject(o))
        #expect(o["getpeercon"] as? String == Self.client.description && o["spi"] as? Int == Int(sa.spi) && o["labeled_by_sa"] as? Bool == true)

        let refused = report(spi: sa.spi, socket: Self.other)
        #expect(refused.lines.last == "not delivered to \(Self.other)")
        #expect(refused.lines.joined(separator: "\n").contains("\n    avc:  denied  { recv }"))

        let missing = report(spi: 0x9999, socket: Self.server)
        #expect(missing.lines[1] == "peer label: none (dropped)")
        #expect(missing.json["peer"] == nil && missing.json["getpeercon"] == nil && missing.json["dropped"] as? Bool == true)
    }
}
