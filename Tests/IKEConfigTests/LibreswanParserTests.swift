import Foundation
import IKEConfig
import IPsecModel
import SecurityContexts
import Testing
import TestSupport
import XfrmManager

/// Every configuration salabel writes, read by libreswan's own parser (`addconn --checkconfig` and
/// `readwriteconf`, libreswan 4.10): accepted, and echoed back with the label, addresses, type and
/// protocol/ports meant.
struct LibreswanParserTests {
    static let mixed = """
          - name: echo
            between: [client, server]
            keying: ike
            context: system_u:system_r:echoclient_t:s0
            reply_context: system_u:system_r:echoserver_t:s0
            policy_context: system_u:object_r:ipsec_spd_t:s0
            selector: { proto: tcp, port: 7 }
          - name: dns.udp_1
            between: [server, client]
            keying: ike
            context: system_u:system_r:echoclient_t:s0-s15:c0,c5
            policy_context: system_u:object_r:ipsec_spd_t:s0-s15:c0.c1023
            mode: tunnel
            selector: { proto: udp, port: 53 }
            ike: { esp: "aes_gcm128-null", auto: add, updown: false, salifetime: 30, rekeymargin: 10, ikelifetime: 45 }
          - name: ping
            between: [client, server]
            keying: ike
            context: system_u:system_r:echoclient_t:s0
            policy_context: system_u:object_r:ipsec_spd_t:s0
            selector: { proto: icmp }
            ike: { auto: start }
          - name: any
            between: [client, server]
            keying: ike
            context: system_u:system_r:echoclient_t:s0
            policy_context: system_u:object_r:ipsec_spd_t:s0
          - name: static-one
            between: [client, server]
            context: system_u:system_r:echoclient_t:s0
            policy_context: system_u:object_r:ipsec_spd_t:s0
        """

    @Test(arguments: ["client", "server"], [false, true])
    func libreswanReadsBackWhatWasMeant(host: String, v6: Bool) throws {
        let file = try IKETestSupport.file(Self.mixed, v6: v6)
        let config = try LibreswanConfiguration.forHost(file, host: host, psks: IKETestSupport.psks(for: file))
        let conf = try config.confText()
        let check = try IKETestSupport.libreswan(IKETestSupport.addconn, conf: conf, extra: ["--checkconfig"])
        #expect(check.status == 0, "addconn --checkconfig refused it: \(check.stderr)\n\(conf)")
        let echoed = try IKETestSupport.echoed(conf)
        // The static association has no conn.
        #expect(Set(echoed.keys) == ["salabel-echo", "salabel-dns.udp_1", "salabel-ping", "salabel-any"])
        for a in file.associations where a.keying != .static {
            let conn = echoed["salabel-\(a.name)"]
            let initiator = a.between.0 == host
            let me = file.hosts[host]!.address, peer = file.hosts[initiator ? a.between.1 : a.between.0]!.address
            #expect(IKETestSupport.value(conn, "sec-label") == a.policyContext!.description, "\(a.name)")
            #expect(IKETestSupport.value(conn, "left") == me.description)
            #expect(IKETestSupport.value(conn, "right") == peer.description)
            #expect(IKETestSupport.value(conn, "type") == (a.mode == .tunnel ? "tunnel" : "transport"))
            #expect(IKETestSupport.value(conn, "authby") == "PSK")
            #expect(IKETestSupport.value(conn, "ikev2") != nil)
            // readwriteconf writes protocols by their upper-case names and the port, 0 for any.
            let proto = [6: "TCP", 17: "UDP", 1: "ICMP"][Int(a.upperProtocol)]
            let responderPort = proto.map { name in "\(name)/\(a.port)" }, anyPort = proto.map { name in "\(name)/0" }
            #expect(IKETestSupport.value(conn, "leftprotoport") == (initiator ? anyPort : responderPort), "\(a.name) on \(host)")
            #expect(IKETestSupport.value(conn, "rightprotoport") == (initiator ? responderPort : anyPort), "\(a.name) on \(host)")
            if case .ike(let options) = a.keying {
                #expect(IKETestSupport.value(conn, "auto") == options.auto.rawValue)
                #expect(IKETestSupport.value(conn, "esp") == options.esp)
                #expect(IKETestSupport.value(conn, "leftupdown") == (options.updown ? nil : "%disabled"), "\(a.name)")
                // readwriteconf writes lifetimes in milliseconds.
                #expect(IKETestSupport.value(conn, "salifetime") == options.saLifetime.map { "\($0 * 1000)" }, "\(a.name)")
                #expect(IKETestSupport.value(conn, "rekeymargin") == options.rekeyMargin.map { "\($0 * 1000)" }, "\(a.name)")
                #expect(IKETestSupport.value(conn, "ikelifetime") == options.ikeLifetime.map { "\($0 * 1000)" }, "\(a.name)")
            }
        }
    }

    /// A value with a space goes in double quotes, and libreswan reads it back whole; values with a
    /// double quote or a backslash are refused.
    @Test func quotedValuesAreReadBackWhole() throws {
        let written = try LibreswanValue.written("system_u:object_r:ipsec spd_t:s0", keyword: "sec-label")
        #expect(written == "\"system_u:object_r:ipsec spd_t:s0\"")
        let conf = "conn x\n\tleft=10.0.0.1\n\tright=10.0.0.2\n\tsec-label=\(written)\n"
        #expect(IKETestSupport.value(try IKETestSupport.echoed(conf)["x"], "sec-label") == written)
        #expect(try LibreswanValue.written("u:r:t:s0-s15:c0,c5", keyword: "sec-label") == "u:r:t:s0-s15:c0,c5")
        for bad in ["a\"b", "a\\b", "a\nb", ""] {
            #expect(throws: LibreswanConfigError.self) { try LibreswanValue.written(bad, keyword: "sec-label") }
        }
    }

    /// Conn names: `salabel-` and the association's name; names libreswan or whack could misread are refused.
    @Test func connNames() throws {
        #expect(try LibreswanConnName(association: "echo.v2_a-1").text == "salabel-echo.v2_a-1")
        for bad in ["%default", "a b", "x/y", "x#y", "-x", "é", String(repeating: "a", count: 65)] {
            #expect(throws: LibreswanConfigError.self, "\(bad)") { try LibreswanConnName(association: bad) }
        }
    }

    /// Associations between the same two hosts share one secret: the first one's by name, on both hosts.
    @Test func oneSecretPerPairOfHosts() throws {
        let file = try IKETestSupport.file(Self.mixed)
        let psks = IKETestSupport.psks(for: file)
        let client = try LibreswanConfiguration.forHost(file, host: "client", psks: psks)
        let server = try LibreswanConfiguration.forHost(file, host: "server", psks: psks)
        #expect(client.secrets.count == 1 && server.secrets.count == 1)
        #expect(client.secrets[0].psk == psks["any"] && server.secrets[0].psk == psks["any"])
        #expect(client.secretsText(censored: false).contains("10.0.0.1 10.0.0.2 : PSK \"\(IKETestSupport.exposed(psks["any"]!))\""))
        #expect(server.secretsText(censored: false).contains("10.0.0.2 10.0.0.1 : PSK \""))
    }
}
