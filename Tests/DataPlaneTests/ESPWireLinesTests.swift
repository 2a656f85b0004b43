import DataPlaneNode
@testable import DataPlaneHost
import ESPDataPlane
import IPsecModel
import SecurityContexts
import Testing

/// What `salabel esp-wire` and `salabel dataplane` print of the data plane's events
/// (`ESPWire+Lines.swift`), and how `--peer` is read (`ApplyFileHost.addPeer`): the lines the
/// VM's wire-compatibility scripts read.
struct ESPWireLinesTests {
    static let a = IPAddress("10.0.0.1")!, b = IPAddress("2001:db8::2")!

    @Test func sendEvents() {
        #expect(
            ESPWire.Send.Event.sent(spi: 0x100, sequence: 2, bytes: 44, to: Self.a, port: 4500, corruptedOffset: nil).line
                == "SENT spi=0x100 seq=2 bytes=44 to=10.0.0.1:4500")
        #expect(
            ESPWire.Send.Event.sent(spi: 0xabc, sequence: 1, bytes: 60, to: Self.b, port: 4501, corruptedOffset: 24).line
                == "SENT spi=0xabc seq=1 bytes=60 to=2001:db8::2:4501 corrupted_offset=24")
        #expect(ESPWire.Send.Event.sendFailed(sequence: 3, errno: "EPERM").line == "SEND_FAILED seq=3 errno=EPERM")
    }

    @Test func receiveEvents() {
        let from = SocketAddress(Self.a, 4500)
        var totals = ESPWire.Receive.Totals()
        totals.received = 2
        totals.dropped = 1
        totals.nonESP = 3
        typealias E = ESPWire.Receive.Event
        #expect(E.ready(port: 4500).line == "READY port=4500")
        #expect(E.keepalive(from: from).line == "KEEPALIVE from=10.0.0.1:4500")
        #expect(E.nonESP(from: from, bytes: 7).line == "NONESP from=10.0.0.1:4500 bytes=7")
        #expect(E.truncated(from: from, bytes: 5).line == "TRUNCATED from=10.0.0.1:4500 bytes=5")
        #expect(E.unknownSPI(spi: 0x200, from: from).line == "DROPPED spi=0x200 reason=unknown-spi from=10.0.0.1:4500")
        #expect(E.dropped(spi: 0x100, sequence: 9, reason: "replay").line == "DROPPED spi=0x100 seq=9 reason=replay")
        #expect(E.dropped(spi: 0x100, sequence: nil, reason: "icv").line == "DROPPED spi=0x100 seq=- reason=icv")
        let d = UDPDatagram(source: Self.a, destination: IPAddress("10.0.0.2")!, sourcePort: 1, destinationPort: 2, data: Array("hi there".utf8))
        #expect(E.received(spi: 0x100, sequence: 4, datagram: d).line == "RECEIVED spi=0x100 seq=4 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2 data=hi there")
        #expect(E.timeout(totals).line == "TIMEOUT received=2 dropped=1")
        #expect(E.summary(totals).line == "SUMMARY received=2 dropped=1 keepalive=0 nonesp=3 truncated=0")
        #expect(E.summary(totals).line == totals.summaryLine)
    }

    @Test func dataIsTextOnlyWhenPrintable() {
        #expect(ESPWire.dataField(Array("salabel 1.0 ~".utf8)) == "data=salabel 1.0 ~")
        #expect(ESPWire.dataField([]) == "data=")
        #expect(ESPWire.dataField([0x68, 0x0a]) == "data_hex=680a")
        #expect(ESPWire.dataField([0x00, 0xff, 0x7f]) == "data_hex=00ff7f")
    }

    @Test func deliveriesInOneLine() throws {
        let peer = try SecurityContext(parsing: "system_u:system_r:echoclient_t:s0")
        let labeled = Delivery(port: 7, source: Self.a, sourcePort: 4000, data: Array("ping".utf8), peer: peer, spi: 0x100, sequence: 1)
        #expect(labeled.summary == "from 10.0.0.1:4000 peer system_u:system_r:echoclient_t:s0: ping")
        let clear = Delivery(port: 7, source: Self.a, sourcePort: 4000, data: Array("ping".utf8), peer: nil, spi: nil, sequence: nil)
        #expect(clear.summary == "from 10.0.0.1:4000 peer unlabeled: ping")
    }

    @Test func peersAsTheOptionGivesThem() throws {
        typealias Host = DataPlaneHost.ApplyFileHost
        #expect(Host.socketPair("127.0.0.1:4500:4501").map { "\($0.address) \($0.espPort) \($0.clearPort)" } == "127.0.0.1 4500 4501")
        #expect(Host.socketPair("[::1]:4500:4501").map { "\($0.address) \($0.espPort) \($0.clearPort)" } == "::1 4500 4501")
        for bad in ["::1:4500:4501", "127.0.0.1:4500", "127.0.0.1:4500:4501:1", "[::1]4500:4501", "[::1:4500:4501", "x:1:2", "127.0.0.1:70000:1", ""] {
            #expect(Host.socketPair(bad) == nil, "\(bad)")
        }
        var host = Host(file: "f.yaml", host: "client", control: "/tmp/x.sock", espPort: 4500, clearPort: 4501)
        try host.addPeer("server=[::1]:5500:5501")
        #expect(host.peers.count == 1 && host.peers[0].host == "server" && host.peers[0].option == "server=[::1]:5500:5501")
        #expect(host.peers[0].espPort == 5500 && host.peers[0].clearPort == 5501)
        #expect(throws: DataPlaneSetupError.self) { try host.addPeer("server") }
        do { try host.addPeer("bad") } catch {
            #expect(error.description == "--peer bad: expected HOST=ADDRESS:ESP-PORT:CLEAR-PORT with a host of the file")
        }
        do { try host.addPeer("server=1.2.3.4:5") } catch {
            #expect(
                error.description == "--peer server=1.2.3.4:5: expected ADDRESS:ESP-PORT:CLEAR-PORT (an IPv6 address in brackets: [::1]:4500:4501)")
        }
        #expect(host.peers.count == 1)
    }
}
