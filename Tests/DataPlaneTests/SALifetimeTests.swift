import DataPlaneNode
import DecisionEngine
import IPsecModel
import Resolver
import SecurityContexts
import Testing
import XfrmManager

/// SA lifetimes in the data plane, against what Debian's 6.1 kernel did in the VM with the same
/// limits (`ip xfrm state add … limit …`, `ip -s xfrm state`, `ip xfrm monitor`; the run is
/// repeated, kernel and node side by side, by `SALifetimeVMTests`):
///
/// - a 100-byte UDP datagram counts 108 bytes (the UDP segment) in transport mode and 128 (the
///   inner IPv4 packet) in tunnel mode, on the sender and on the receiver;
/// - with `packet-soft 2 packet-hard 4`, the 3rd datagram raises a soft `XFRM_MSG_EXPIRE` on both
///   sides and passes; the 5th gets `EINVAL` from `sendto` and the sender's SA is deleted with a
///   hard EXPIRE; the 6th finds no SA and raises an ACQUIRE;
/// - with `byte-soft 200 byte-hard 300` in tunnel mode, datagrams 1–3 pass (256 bytes before the
///   3rd: soft), the 4th gets `EINVAL`;
/// - `time-soft 2 time-hard 4`: a soft EXPIRE 2 s after the SA was added, a hard one (deleted) at 4 s;
///   `time-use-…` limits never fire on an SA that is never used.
@Suite struct SALifetimeTests {
    static let client = DataPlaneNodeTests.client, server = DataPlaneNodeTests.server

    final class Clock { var t = 0.0 }

    /// Two nodes of a one-association file with `lifetime`, on one clock, the server bound to port 7.
    static func pair(mode: String, lifetime: String) throws -> (DataPlaneNode, DataPlaneNode, Clock) {
        let yaml = """
            hosts: { client: { address: 10.77.0.1 }, server: { address: 10.77.0.2 } }
            associations:
              - { name: echo, between: [client, server], context: \(client), reply_context: \(server),
                  policy_context: system_u:object_r:ipsec_spd_t:s0, mode: \(mode), selector: { proto: udp, port: 7 },
                  lifetime: { \(lifetime) } }
            """
        let (c, s) = try DataPlaneNodeTests.nodes(yaml: yaml)
        let clock = Clock()
        c.now = { clock.t }
        s.now = { clock.t }
        try s.bind(port: 7, context: server)
        try c.bind(port: 0, context: client)  // an autobound port, as a socket that sends without bind(2)
        return (c, s, clock)
    }

    /// One datagram of `size` bytes from the client to port 7, and what each side reported:
    /// "delivered", "refused EINVAL", "acquire", … and the EXPIRE events as "soft"/"hard".
    static func step(_ c: DataPlaneNode, _ s: DataPlaneNode, size: Int = 100) -> (String, [String], [String]) {
        let (out, inbound) = DataPlaneNodeTests.carry(Array(repeating: 0x78, count: size), from: c, port: c.endpointPorts(for: client), to: s, dport: 7)
        let what: String
        switch out.outcome {
        case .refused(let errno, _): what = "refused \(errno)"
        case .acquire: what = "acquire"
        case .clear: what = "clear"
        case .esp:
            switch inbound?.outcome {
            case .delivered?: what = "delivered"
            case .dropped(let why)?: what = "dropped \(why.counterName)"
            case nil: what = "lost"
            }
        }
        func kinds(_ n: DataPlaneNode) -> [String] { n.takeExpireEvents().map { $0.hard ? "hard" : "soft" } }
        return (what, kinds(c), kinds(s))
    }

    @Test func packetLimitsAsTheKernelCounts() throws {
        let (c, s, _) = try Self.pair(mode: "transport", lifetime: "packet-soft: 2, packet-hard: 4")
        let steps = (1...6).map { _ in Self.step(c, s) }
        #expect(steps.map(\.0) == ["delivered", "delivered", "delivered", "delivered", "refused EINVAL", "acquire"])
        #expect(steps.map(\.1) == [[], [], ["soft"], [], ["hard"], []])
        #expect(steps.map(\.2) == [[], [], ["soft"], [], [], []])
        // The hard expiry deleted the client's SA only: the server's still holds 4 packets.
        #expect(!c.resolver.mirror.sas.contains { $0.destination == DataPlaneNodeTests.b })
        #expect(s.resolver.mirror.sas.contains { $0.destination == DataPlaneNodeTests.b })
    }

    /// The bytes counted are the transport-mode segment (8 + 100) or the tunnel-mode packet
    /// (20 + 8 + 100): with byte-soft 200 byte-hard 250 the tunnel reaches the hard limit one
    /// datagram earlier, before its soft one is ever reported.
    @Test(arguments: [
        ("transport", ["delivered", "delivered", "delivered", "refused EINVAL"], [[], [], ["soft"], ["hard"]]),
        ("tunnel", ["delivered", "delivered", "refused EINVAL", "acquire"], [[], [], ["hard"], []]),
    ])
    func byteLimitsCountWhatTheKernelCounts(mode: String, outcomes: [String], clientEvents: [[String]]) throws {
        let (c, s, _) = try Self.pair(mode: mode, lifetime: "byte-soft: 200, byte-hard: 250")
        let steps = (1...4).map { _ in Self.step(c, s) }
        #expect(steps.map(\.0) == outcomes)
        #expect(steps.map(\.1) == clientEvents)
    }

    @Test func theKernelsTunnelFigures() throws {
        let (c, s, _) = try Self.pair(mode: "tunnel", lifetime: "byte-soft: 200, byte-hard: 300")
        let steps = (1...4).map { _ in Self.step(c, s) }
        #expect(steps.map(\.0) == ["delivered", "delivered", "delivered", "refused EINVAL"])
        #expect(steps.map(\.1) == [[], [], ["soft"], ["hard"]])
        #expect(steps.map(\.2) == [[], [], ["soft"], []])
    }

    /// A receiver's own hard limit: the datagram that meets it is dropped before it is opened
    /// (`XfrmInStateExpired`), and the receiver's SA is deleted.
    @Test func aReceiverDropsAtItsHardLimit() throws {
        let (c, s, _) = try Self.pair(mode: "transport", lifetime: "packet-hard: 2")
        // The sender's limit is the same; give the receiver a tighter one by sending on a fresh
        // client SA: replace the client's SA with an unlimited copy.
        var unlimited = try #require(c.resolver.mirror.sas.first { $0.destination == DataPlaneNodeTests.b })
        let manager = try SecurityContext(parsing: "system_u:system_r:ipsec_mgmt_t:s0")
        try c.deleteSA(unlimited.identifier, by: manager)
        unlimited.lifetime = LifetimeConfig()
        try c.addSA(unlimited, by: manager)
        let steps = (1...3).map { _ in Self.step(c, s) }
        #expect(steps[0].0 == "delivered" && steps[1].0 == "delivered")
        #expect(steps[2].0 == "dropped expired")
        #expect(steps.map(\.2) == [[], [], ["hard"]])
        #expect(s.counters.dropped["expired"] == 1)
        #expect(!s.resolver.mirror.sas.contains { $0.destination == DataPlaneNodeTests.b })
    }

    @Test func addTimeLimitsRunFromTheAdd() throws {
        let (c, s, clock) = try Self.pair(mode: "transport", lifetime: "time-soft: 2, time-hard: 4")
        var seen: [String] = []
        for t in [0.0, 1, 1.99, 2, 3, 3.99, 4, 5] {
            clock.t = t
            let e = c.takeExpireEvents()
            _ = s.takeExpireEvents()
            seen.append(e.map { "\(t):\($0.hard ? "hard" : "soft")" }.joined(separator: " "))
        }
        // Both of the client's SAs (its outbound one and the reply's inbound one) were added together.
        #expect(seen == ["", "", "", "2.0:soft 2.0:soft", "", "", "4.0:hard 4.0:hard", ""])
        #expect(c.resolver.mirror.sas.isEmpty)
        #expect(Self.step(c, s).0 == "acquire")
    }

    @Test func useTimeLimitsRunFromTheFirstUse() throws {
        let (c, s, clock) = try Self.pair(mode: "transport", lifetime: "time-use-soft: 2, time-use-hard: 3")
        clock.t = 100
        #expect(c.takeExpireEvents().isEmpty)
        #expect(Self.step(c, s).0 == "delivered")
        clock.t = 101.5
        #expect(c.takeExpireEvents().isEmpty)
        clock.t = 102
        #expect(c.takeExpireEvents().map(\.hard) == [false])
        #expect(Self.step(c, s).0 == "delivered")
        clock.t = 103
        let hard = c.takeExpireEvents()
        #expect(hard.map(\.hard) == [true])
        #expect(hard.first?.description.hasSuffix("3 s since its first use (time-use-hard); the SA is deleted") == true, "\(hard)")
        #expect(Self.step(c, s).0 == "acquire")
    }

    /// An SA a key manager adds starts its add clock then, not when the node was built.
    @Test func aKeyManagersSACountsFromItsAdd() throws {
        let (c, s, clock) = try Self.pair(mode: "transport", lifetime: "packet-hard: 100")
        var sa = try #require(c.resolver.mirror.sas.first { $0.destination == DataPlaneNodeTests.b })
        let manager = try SecurityContext(parsing: "system_u:system_r:ipsec_mgmt_t:s0")
        try c.deleteSA(sa.identifier, by: manager)
        clock.t = 50
        sa.lifetime.hardAddExpiresSeconds = 5
        try c.addSA(sa, by: manager)
        clock.t = 54.9
        #expect(c.takeExpireEvents().isEmpty)
        #expect(Self.step(c, s).0 == "delivered")
        clock.t = 55
        #expect(
            c.takeExpireEvents().map(\.description) == [
                "EXPIRE hard src 10.77.0.1 dst 10.77.0.2 proto esp spi 0x\(String(sa.spi, radix: 16)) ctx \(Self.client): 5 s since it was added (time-hard); the SA is deleted"
            ])
    }

    /// An SA without limits keeps no lifetime and raises no event, however much it carries.
    @Test func noLimitsNoEvents() throws {
        let (c, s, clock) = try Self.pair(mode: "transport", lifetime: "")
        for i in 0..<50 {
            clock.t = Double(i) * 1000
            #expect(Self.step(c, s, size: 1400).0 == "delivered")
        }
        #expect(c.takeExpireEvents().isEmpty && s.takeExpireEvents().isEmpty)
    }
}
