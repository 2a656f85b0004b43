// salabel's ESP packets as a third party reads them: sealed by the data plane, framed as ESP in UDP
// (RFC 3948) in a pcap file (Pcap.swift, LINKTYPE_RAW), then dissected by Wireshark's tshark (Debian
// package tshark; scripts/deps test installs it) with the keys in its ESP SA table: tshark must see
// UDP port 4500 (udpencap) carrying ESP with the right SPI and sequence numbers, find the ICV good and
// decrypt the inner UDP datagram to exactly what was sealed.
//
// tshark's ESP SA table (the `esp_sa` UAT, Wireshark 4.0 epan/dissectors/packet-ipsec.c) has eight
// fields, in this order: protocol ("IPv4"/"IPv6"/"Any"), source, destination, SPI ("0x…"), encryption
// algorithm, encryption key ("0x…"), authentication algorithm, authentication key ("0x…"); algorithms
// by their names in that dissector. For RFC 4106 GCM the key includes the 4-byte salt and the
// authentication algorithm is NULL.
//
// Without tshark the test fails (it does not skip): run scripts/deps test.

import ESPDataPlane
import Foundation
import IPsecModel
import Testing
import TestSupport
import XfrmManager

/// One SA of the test: its `ip xfrm state add` words (the same words configure the kernel and salabel)
/// and its row in tshark's `esp_sa` table.
private struct TsharkSA {
    var name: String
    var state: String
    var spi: String
    var encryption: String
    var encryptionKey: String
    var authentication: String
    var authenticationKey: String

    /// The `esp_sa` row: protocol, source, destination, SPI, encryption algorithm, key, authentication algorithm, key.
    var uat: String { row(encryptionKey, authenticationKey) }
    /// The same row with the first hex digit of each key changed.
    var uatWithWrongKeys: String { row(Self.altered(encryptionKey), Self.altered(authenticationKey)) }

    func row(_ encKey: String, _ authKey: String) -> String {
        ["IPv4", "10.88.0.2", "10.88.0.1", spi, encryption, encKey, authentication, authKey].map { "\"\($0)\"" }.joined(separator: ",")
    }

    static func altered(_ key: String) -> String {
        guard key.count > 2 else { return key }
        var digits = Array(key)
        let v = Int(String(digits[2]), radix: 16)!
        digits[2] = Character(String((v + 1) % 16, radix: 16))
        return String(digits)
    }
}

private let gcm = TsharkSA(
    name: "gcm",
    state: "src 10.88.0.2 dst 10.88.0.1 proto esp spi 0x88000002 reqid 2 mode transport replay-window 32 "
        + "aead rfc4106(gcm(aes)) 0x2122232425262728292a2b2c2d2e2f3031323334 128 encap espinudp 4500 4500 0.0.0.0",
    spi: "0x88000002", encryption: "AES-GCM with 16 octet ICV [RFC4106]",
    encryptionKey: "0x2122232425262728292a2b2c2d2e2f3031323334", authentication: "NULL", authenticationKey: "")

private let cbc = TsharkSA(
    name: "cbc",
    state: "src 10.88.0.2 dst 10.88.0.1 proto esp spi 0x88000004 reqid 2 mode transport replay-window 32 "
        + "enc cbc(aes) 0xffeeddccbbaa99887766554433221100 "
        + "auth-trunc hmac(sha256) 0x202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f 128 "
        + "encap espinudp 4500 4500 0.0.0.0",
    spi: "0x88000004", encryption: "AES-CBC [RFC3602]", encryptionKey: "0xffeeddccbbaa99887766554433221100",
    authentication: "HMAC-SHA-256-128 [RFC4868]",
    authenticationKey: "0x202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f")

private let gcmTunnel = TsharkSA(
    name: "gcm-tunnel",
    state: "src 10.88.0.2 dst 10.88.0.1 proto esp spi 0x88000006 reqid 2 mode tunnel "
        + "aead rfc4106(gcm(aes)) 0x4142434445464748494a4b4c4d4e4f5051525354 128 encap espinudp 4500 4500 0.0.0.0",
    spi: "0x88000006", encryption: "AES-GCM with 16 octet ICV [RFC4106]",
    encryptionKey: "0x4142434445464748494a4b4c4d4e4f5051525354", authentication: "NULL", authenticationKey: "")

private let cbcTunnel = TsharkSA(
    name: "cbc-tunnel",
    state: "src 10.88.0.2 dst 10.88.0.1 proto esp spi 0x88000008 reqid 2 mode tunnel "
        + "enc cbc(aes) 0x0f0e0d0c0b0a09080706050403020100 "
        + "auth-trunc hmac(sha256) 0x606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f 128 "
        + "encap espinudp 4500 4500 0.0.0.0",
    spi: "0x88000008", encryption: "AES-CBC [RFC3602]", encryptionKey: "0x0f0e0d0c0b0a09080706050403020100",
    authentication: "HMAC-SHA-256-128 [RFC4868]",
    authenticationKey: "0x606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f")

/// One sealed packet and what tshark must find in it.
private struct Sealed {
    var sa: TsharkSA
    var spi: UInt32
    var sequence: UInt64
    var inner: UDPDatagram
}

@Suite("tshark dissects and decrypts salabel's ESP-in-UDP packets")
struct TsharkDissectionTests {
    static let packetsPerSA = 3

    @Test func tsharkDecryptsSalabelPackets() throws {
        let tshark = try Self.tsharkPath()
        var pcap = Pcap()
        var sealed: [Sealed] = []
        for t in [gcm, cbc, gcmTunnel, cbcTunnel] {
            let sa = try Self.securityAssociation(t.state)
            let esp = try ESPSecurityAssociation(sa)
            for i in 1...Self.packetsPerSA {
                // Lengths that need different padding; the inner source port tells the packets apart.
                let text = "salabel \(t.name) #\(i)" + String(repeating: "x", count: i * 5)
                let inner: UDPDatagram
                let packet: [UInt8]
                if sa.mode == .tunnel {
                    inner = UDPDatagram(
                        source: IPAddress("192.0.2.2")!, destination: IPAddress("198.51.100.1")!,
                        sourcePort: UInt16(5000 + i), destinationPort: 7777, data: Array(text.utf8))
                    packet = try esp.seal(inner.packet(), nextHeader: inner.tunnelNextHeader)
                } else {
                    inner = UDPDatagram(
                        source: sa.source, destination: sa.destination, sourcePort: UInt16(5000 + i),
                        destinationPort: 7777, data: Array(text.utf8))
                    packet = try esp.seal(inner.segment(), nextHeader: UDPDatagram.udp)
                }
                pcap.append(
                    Pcap.espInUDPFrame(
                        packet, source: sa.source, destination: sa.destination,
                        sourcePort: sa.encapsulation!.sourcePort, destinationPort: sa.encapsulation!.destinationPort),
                    seconds: 1_700_000_000 + UInt32(sealed.count), microseconds: 0)
                sealed.append(Sealed(sa: t, spi: sa.spi, sequence: esp.sent, inner: inner))
            }
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("salabel-esp-\(UUID().uuidString).pcap")
        try Data(pcap.bytes).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }

        // One line per frame; a field with two occurrences (outer and inner UDP, or outer and inner IP)
        // prints both, comma-separated, outer first.
        // The IPv4 header and UDP checksums are verified too (tshark leaves them unchecked by default).
        let options = [
            "-r", file.path, "-n", "-o", "esp.enable_encryption_decode:TRUE", "-o", "esp.enable_authentication_check:TRUE",
            "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
        ]
        let fields = [
            "-T", "fields", "-E", "separator=|", "-E", "occurrence=a", "-E", "aggregator=,",
            "-e", "frame.protocols", "-e", "udp.srcport", "-e", "udp.dstport", "-e", "esp.spi", "-e", "esp.sequence",
            "-e", "esp.icv_good", "-e", "ip.src", "-e", "ip.dst", "-e", "data.data",
            "-e", "ip.checksum.status", "-e", "udp.checksum.status",
        ]
        let table = [gcm, cbc, gcmTunnel, cbcTunnel].flatMap { ["-o", "uat:esp_sa:" + $0.uat] }
        let (status, output, errors) = try Self.run(tshark, options + table + fields)
        #expect(status == 0, "tshark failed (\(status)): \(errors)")
        let lines = output.split(separator: "\n").map(String.init)
        print(
            "tshark -T fields (protocols|udp.srcport|udp.dstport|esp.spi|esp.sequence|esp.icv_good|ip.src|ip.dst|data.data):\n"
                + output)
        #expect(lines.count == sealed.count, "tshark printed \(lines.count) lines for \(sealed.count) frames:\n\(output)\n\(errors)")
        for (line, s) in zip(lines, sealed) {
            let f = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            guard f.count == 11 else {
                Issue.record("\(s.sa.name) seq \(s.sequence): unexpected tshark line: \(line)")
                continue
            }
            let what = "\(s.sa.name) seq \(s.sequence): \(line)"
            // eth-less raw IP, then UDP on 4500 dissected as udpencap carrying ESP, and inside it the inner datagram.
            let protocols = f[0].split(separator: ":").map(String.init)
            #expect(
                Array(protocols.prefix(4)) == ["raw", "ip", "udp", "udpencap"] || Array(protocols.prefix(3)) == ["ip", "udp", "udpencap"],
                "\(what)")
            #expect(protocols.contains("esp"), "not dissected as ESP: \(what)")
            #expect(f[1].split(separator: ",").map(String.init) == ["4500", String(s.inner.sourcePort)], "UDP source ports: \(what)")
            #expect(f[2].split(separator: ",").map(String.init) == ["4500", "7777"], "UDP destination ports: \(what)")
            #expect(UInt32(f[3].dropFirst(2), radix: 16) == s.spi && f[3].hasPrefix("0x"), "SPI: \(what)")
            #expect(f[4] == String(s.sequence), "sequence: \(what)")
            #expect(f[5] == "1" || f[5] == "True", "ICV not good (or not checked): \(what)")
            let sources = f[6].split(separator: ",").map(String.init)
            let destinations = f[7].split(separator: ",").map(String.init)
            #expect(sources.first == "10.88.0.2" && destinations.first == "10.88.0.1", "outer addresses: \(what)")
            if s.sa.name.hasSuffix("tunnel") {
                #expect(sources == ["10.88.0.2", "192.0.2.2"] && destinations == ["10.88.0.1", "198.51.100.1"], "inner addresses: \(what)")
            }
            let hex = hexString(s.inner.data)
            #expect(f[8] == hex, "decrypted inner UDP data: \(what)\nexpected \(hex)")
            // Checksum status 1 is "Good": the outer IPv4 header (and the inner one in tunnel mode), the
            // outer UDP (4500) and the inner UDP, whose pseudo-header uses the inner addresses.
            let ipChecksums = f[9].split(separator: ",").map(String.init)
            let udpChecksums = f[10].split(separator: ",").map(String.init)
            #expect(ipChecksums == Array(repeating: "1", count: s.sa.name.hasSuffix("tunnel") ? 2 : 1), "IPv4 checksums: \(what)")
            #expect(udpChecksums == ["1", "1"], "UDP checksums (outer, inner): \(what)")
        }

        // A control: with other keys tshark finds every ICV bad and decrypts nothing to the sealed data.
        let wrongTable = [gcm, cbc, gcmTunnel, cbcTunnel].flatMap { ["-o", "uat:esp_sa:" + $0.uatWithWrongKeys] }
        #expect(wrongTable != table)
        let (wrongStatus, wrongOutput, wrongErrors) = try Self.run(tshark, options + wrongTable + fields)
        #expect(wrongStatus == 0, "tshark failed (\(wrongStatus)): \(wrongErrors)")
        let wrongLines = wrongOutput.split(separator: "\n").map(String.init)
        #expect(wrongLines.count == sealed.count, "\(wrongOutput)")
        for (line, s) in zip(wrongLines, sealed) {
            let f = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            let hex = hexString(s.inner.data)
            #expect(f.count == 11 && f[5] != "1" && f[8] != hex, "wrong keys, yet decrypted or authenticated: \(line)")
        }
    }

    /// The pcap encoder's bytes: the file header (magic, 2.4, snaplen, LINKTYPE_RAW) and a record
    /// header (time, captured and original lengths), little-endian; a frame longer than snaplen is cut.
    @Test func pcapLayout() {
        var file = Pcap(snapLength: 64)
        #expect(file.bytes == [0xD4, 0xC3, 0xB2, 0xA1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 64, 0, 0, 0, 101, 0, 0, 0])
        let frame = Pcap.espInUDPFrame(
            [0, 0, 1, 0, 0, 0, 0, 1] + Array(repeating: 0xAB, count: 100),
            source: IPAddress("10.88.0.2")!, destination: IPAddress("10.88.0.1")!)
        #expect(frame.count == 20 + 8 + 108)
        #expect(frame[0] == 0x45 && frame[9] == 17 && Array(frame[20..<24]) == [0x11, 0x94, 0x11, 0x94])  // 4500 → 4500
        file.append(frame, seconds: 0x0102_0304, microseconds: 5)
        #expect(file.count == 1)
        #expect(Array(file.bytes[24..<40]) == [4, 3, 2, 1, 5, 0, 0, 0, 64, 0, 0, 0, 136, 0, 0, 0])
        #expect(Array(file.bytes[40...]) == Array(frame[0..<64]))
    }

    /// The SA from `ip xfrm state add` words, through salabel's parser.
    static func securityAssociation(_ state: String) throws -> SecurityAssociation {
        guard case .addSA(let sa) = try IPXfrmSyntax.parse(line: "ip xfrm state add " + state) else {
            throw TsharkTestError("not a state: \(state)")
        }
        return sa
    }

    /// tshark from PATH; a missing tshark is a failure with the remedy, never a skip.
    static func tsharkPath() throws -> String {
        let directories = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") + ["/usr/bin", "/usr/sbin"]
        for d in directories where FileManager.default.isExecutableFile(atPath: "\(d)/tshark") { return "\(d)/tshark" }
        throw TsharkTestError("tshark is not installed (Debian package tshark): run scripts/deps test")
    }

    static func run(_ tool: String, _ arguments: [String]) throws -> (Int32, String, String) {
        // tshark reads preferences from $HOME; an empty one keeps a user's settings out.
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("salabel-tshark-home-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: home) }
        var environment = ProcessInfo.processInfo.environment
        environment["HOME"] = home.path
        environment["XDG_CONFIG_HOME"] = home.path
        let r = try runProcess(URL(fileURLWithPath: tool), arguments, input: .null, environment: environment)
        return (r.status, r.stdout, r.stderr)
    }
}

struct TsharkTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
