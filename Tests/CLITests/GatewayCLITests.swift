import Foundation
import Testing
import TestSupport

/// `salabel trace --scenario` and `salabel resolve --scenario` follow a scenario's routes through
/// its gateway (Specs/scenarios/README.md, "Gateways"; Specs/kernel/labeled-ipsec.md §b.5). Every
/// expectation is the kernel's: the step of the Specs/scenarios/gateway-*.yaml file named beside it,
/// which the model and the kernel meet on 6.1 and 6.12 (README.md, the agreement table): whether
/// the datagram is delivered, the peer label the server reads, and the denial (its AVC record) at
/// the gateway or at the server.
struct GatewayCLITests {
    static func file(_ name: String) -> String { repositoryRoot.appendingPathComponent("Specs/scenarios/\(name).yaml").path }
    static let client = "10.77.0.1", server = "10.77.0.2", gateway = "10.77.0.3"

    /// `trace` of the client's datagram to the server's port 7 (the gateway files' UDP steps), in
    /// text and JSON.
    static func trace(_ name: String, _ args: String...) throws -> (status: Int32, text: String, json: [String: Any]) {
        let common = ["trace", "--scenario", file(name), "--proto", "udp", "--dport", "7", "--no-reply"] + args
        let text = try CLITests.run(CLITests.binary, common)
        let json = try CLITests.run(CLITests.binary, common + ["--json"])
        #expect(text.status == json.status)
        return (text.status, text.stdout, try CLITests.json(json.stdout))
    }

    /// `resolve` of the client's datagrams to port 7 on the gateway's SA `spi`, in JSON.
    static func resolve(_ name: String, spi: String) throws -> (status: Int32, json: [String: Any]) {
        let r = try CLITests.salabel(
            "resolve", "--json", "--scenario", file(name), "--dst", gateway, "--spi", spi, "--flow-proto", "udp", "--dport", "7")
        return (r.status, try CLITests.json(r.stdout))
    }

    static func steps(_ json: [String: Any]) -> [[String: Any]] { json["steps"] as? [[String: Any]] ?? [] }

    /// The steps as `stage@host`, in order.
    static func path(_ json: [String: Any]) -> [String] {
        steps(json).map { "\($0["step"] as? String ?? "?")@\($0["host"] as? String ?? "?")" }
    }

    /// The step that stopped the packet: `stage@host`.
    static func failed(_ json: [String: Any]) -> String? {
        steps(json).first { $0["passed"] as? Bool == false }.map { "\($0["step"] as? String ?? "?")@\($0["host"] as? String ?? "?")" }
    }

    /// The AVC records of every check, in a scenario file's `expect.avc` form (`denied { p }
    /// scontext=… tcontext=… tclass=… permissive=…`).
    static func avc(_ json: [String: Any]) -> [String] {
        steps(json).flatMap { $0["checks"] as? [[String: Any]] ?? [] }.compactMap { $0["avc"] as? String }.map {
            $0.split(separator: " ").filter { $0 != "avc:" && $0 != "for" }.joined(separator: " ")
        }
    }

    static let forwardedPath = [
        "outbound@\(client)", "forward-policy@\(gateway)", "forward@\(gateway)", "inbound-policy@\(server)", "delivery@\(server)",
    ]

    @Test func aTunnelToTheGatewayReachesTheServerUnlabeled() throws {
        // gateway-tunnel.yaml step 1: forwarded in clear, the server refuses the unlabeled datagram.
        let t = try Self.trace("gateway-tunnel")
        #expect(t.status == 1 && t.json["delivered"] as? Bool == false)
        #expect(Self.path(t.json) == Self.forwardedPath)
        #expect(Self.failed(t.json) == "delivery@\(Self.server)")
        #expect(
            Self.avc(t.json) == [
                "denied { recv } scontext=system_u:system_r:echoserver_t:s0 tcontext=system_u:object_r:unlabeled_t:s0 tclass=peer permissive=0"
            ])
        #expect((t.json["gateway"] as? [String: Any])?["host"] as? String == "gateway")
        #expect(t.text.contains("route: client → gateway (10.77.0.3) → server"))
        #expect(t.text.contains("2. forward policy check on gateway:") && t.text.contains("3. forwarding on gateway (10.77.0.3):"))
    }

    @Test func theServerReadsTheClientsLabelAcrossTheGateway() throws {
        // gateway-labeled-delivered.yaml step 1: delivered, peer system_u:system_r:echoclient_t:s0, no AVC record.
        let t = try Self.trace("gateway-labeled-delivered")
        #expect(t.status == 0 && t.json["delivered"] as? Bool == true)
        #expect(t.json["peer"] as? String == "system_u:system_r:echoclient_t:s0")
        #expect(Self.path(t.json) == Self.forwardedPath)
        #expect(Self.avc(t.json).isEmpty)
    }

    @Test func theGatewaysPostrouteCheckRefusesAnUnlabeledOuterPacket() throws {
        // gateway-labeled.yaml step 1 and gateway-forward-checks.yaml step 1: dropped at the gateway,
        // netif egress denied to unlabeled_t.
        let egress =
            "denied { egress } scontext=system_u:object_r:unlabeled_t:s0 tcontext=system_u:object_r:netif_t:s0-s3:c0.c15 tclass=netif permissive=0"
        for name in ["gateway-labeled", "gateway-forward-checks"] {
            let t = try Self.trace(name)
            #expect(t.status == 1 && t.json["delivered"] as? Bool == false, "\(name)")
            #expect(Self.failed(t.json) == "forward@\(Self.gateway)", "\(name)")
            #expect(Self.avc(t.json) == [egress], "\(name)")
        }
    }

    @Test func theGatewaysForwardPolicyCheckDropsWhatItMayNotPolmatch() throws {
        // gateway-fwd-polmatch.yaml step 1: the client's denial is dontaudit (no record).
        let quiet = try Self.trace("gateway-fwd-polmatch")
        #expect(quiet.status == 1 && Self.failed(quiet.json) == "forward-policy@\(Self.gateway)")
        #expect(Self.avc(quiet.json).isEmpty)
        // gateway-fwd-polmatch.yaml step 2: the other program's denial is logged, subject its SA's label.
        let logged = try Self.trace("gateway-fwd-polmatch", "--from", "system_u:system_r:echo_other_t:s0")
        #expect(logged.status == 1 && Self.failed(logged.json) == "forward-policy@\(Self.gateway)")
        #expect(
            Self.avc(logged.json) == [
                "denied { polmatch } scontext=system_u:system_r:echo_other_t:s0 tcontext=system_u:object_r:ipsec_restricted_spd_t:s0 tclass=association permissive=0"
            ])
    }

    @Test func resolveFollowsTheGatewaysSAToTheServer() throws {
        // gateway-labeled-delivered.yaml step 1: the server reads the client's label.
        let delivered = try Self.resolve("gateway-labeled-delivered", spi: "0x100")
        #expect(delivered.status == 0 && delivered.json["getpeercon"] as? String == "system_u:system_r:echoclient_t:s0")
        #expect((delivered.json["forwarded_to"] as? [String: Any])?["host"] as? String == "server")
        #expect(Self.path(delivered.json) == Array(Self.forwardedPath.dropFirst()))
        // gateway-tunnel.yaml step 1: forwarded in clear, refused by the server.
        let refused = try Self.resolve("gateway-tunnel", spi: "0x100")
        #expect(refused.status == 1 && refused.json["delivered"] as? Bool == false && refused.json["getpeercon"] == nil)
        #expect(Self.failed(refused.json) == "delivery@\(Self.server)")
        // gateway-fwd-polmatch.yaml step 2: the other program's SA, refused by the FWD check.
        let dropped = try Self.resolve("gateway-fwd-polmatch", spi: "0x101")
        #expect(dropped.status == 1 && Self.failed(dropped.json) == "forward-policy@\(Self.gateway)")
        #expect(Self.avc(dropped.json).first?.contains("denied { polmatch } scontext=system_u:system_r:echo_other_t:s0") == true)
    }

    @Test func anIPv6GatewayIsFollowedToo() throws {
        // gateway-ipv6.yaml step 1: through the IPv6 gateway in clear, refused by the server as unlabeled.
        let args = ["trace", "--json", "--scenario", Self.file("gateway-ipv6"), "--src", "fd00:77::1", "--dst", "fd00:77::2"]
        let r = try CLITests.run(CLITests.binary, args + ["--proto", "udp", "--dport", "7", "--no-reply"])
        let json = try CLITests.json(r.stdout)
        #expect(r.status == 1 && json["delivered"] as? Bool == false)
        #expect(
            Self.path(json) == ["outbound@fd00:77::1", "forward-policy@fd00:77::3", "forward@fd00:77::3", "inbound-policy@fd00:77::2", "delivery@fd00:77::2"])
        #expect(
            Self.avc(json) == [
                "denied { recv } scontext=system_u:system_r:echoserver_t:s0 tcontext=system_u:object_r:unlabeled_t:s0 tclass=peer permissive=0"
            ])
    }

    @Test func anAddressNoHostHasIsAnErrorNamingTheHosts() throws {
        let hosts = "(hosts: client 10.77.0.1, gateway 10.77.0.3, server 10.77.0.2)"
        let trace = try CLITests.salabel("trace", "--scenario", Self.file("gateway-tunnel"), "--dst", "10.77.0.9")
        #expect(trace.status == 2 && trace.stdout.isEmpty)
        #expect(trace.stderr.contains("error: no host has the address 10.77.0.9 in scenario gateway-tunnel \(hosts)"))
        let resolve = try CLITests.salabel(
            "resolve", "--scenario", Self.file("gateway-tunnel"), "--dst", Self.gateway, "--spi", "0x100", "--inner-dst", "10.77.0.9")
        #expect(resolve.status == 2 && resolve.stderr.contains("no host has the address 10.77.0.9 in scenario gateway-tunnel \(hosts)"))
    }
}
