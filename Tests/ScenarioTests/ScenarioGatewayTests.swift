import Scenario
import Testing

/// Gateways in a scenario (Specs/scenarios/README.md, "Gateways"): what `hosts.NAME.forwarding`
/// and `hosts.NAME.routes` may say, and what the scenario keeps of them.
struct ScenarioGatewayTests {
    static let hosts = """
        hosts:
          a: { address: 10.77.0.1, routes: { b: g } }
          b: { address: 10.77.0.2, routes: { a: g } }
          g: { address: 10.77.0.3, forwarding: true }

        """

    static func with(
        _ a: String, b: String = ", routes: { a: g }", g: String = "forwarding: true", v6: Bool = false, gAddress: String? = nil, top: String = ""
    ) -> String {
        top + """
            hosts:
              a: { address: \(v6 ? "fd00::1" : "10.77.0.1"), \(a) }
              b: { address: \(v6 ? "fd00::2" : "10.77.0.2")\(b) }
              g: { address: \(gAddress ?? (v6 ? "fd00::3" : "10.77.0.3")), \(g) }

            """
    }

    static let refused: [(String, String)] = [
        (with("routes: { b: g }", g: "forwarding: yes please"), "hosts.g.forwarding: expected true or false"),
        (with("routes: [b, g]"), "hosts.a.routes: expected a mapping of destination hosts to gateway hosts"),
        (with("routes: { b: [g] }"), "hosts.a.routes.b: expected the name of a host with forwarding: true"),
        (with("routes: { c: g }"), "hosts.a.routes.c: no such host: c"),
        (with("routes: { a: g }"), "hosts.a.routes.a: a host needs no route to itself"),
        (with("routes: { b: h }"), "hosts.a.routes.b: no such gateway host: h"),
        (with("routes: { b: b }"), "hosts.a.routes.b: the gateway must be a third host, neither a nor b"),
        (with("routes: { b: g }", g: "forwarding: false"), "hosts.a.routes.b: g does not forward: give it forwarding: true"),
        (
            with("routes: { b: g }", gAddress: "fd00::3"),
            "hosts.a.routes.b: a (10.77.0.1) and g (fd00::3) are not of one address family: a route stays in IPv4 or IPv6"
        ),
        (with("routes: { b: g }", top: "kernels: per_host\n"), "kernels: per_host scenarios have two hosts (the kernel run's two VMs); this one has 3"),
        (with("routes: { b: g }", b: ""), "hosts.b.routes.a: the way back must go through the same gateway: give b the route a: g"),
    ]

    @Test(arguments: refused)
    func whatAGatewayScenarioMaySay(text: String, message: String) {
        ScenarioTests.expectRefused(text, shown: text, message: message)
    }

    @Test func theRoutesGoThroughTheGateway() throws {
        let s = try Scenario(yaml: Self.hosts)
        #expect(s.forwarding.gateways == ["g"])
        #expect(s.forwarding.gateway(from: "a", to: "b") == "g")
        #expect(s.forwarding.gateway(from: "b", to: "a") == "g")
        #expect(s.forwarding.gateway(from: "a", to: "g") == nil)
        #expect(s.forwarding.gateway(from: "g", to: "b") == nil)
        let v6 = try Scenario(yaml: Self.with("routes: { b: g }", v6: true))
        #expect(v6.forwarding.gateway(from: "a", to: "b") == "g" && v6.forwarding.gateway(from: "b", to: "a") == "g")
        let plain = try Scenario(yaml: "hosts:\n  a: { address: 10.77.0.1 }\n  b: { address: 10.77.0.2 }\n")
        #expect(plain.forwarding == .none)
    }
}
