import Foundation
import IPsecModel
import Testing
import TestSupport
@testable import ESPDataPlane

/// One ESP SA in the data plane: published known answers (draft-mcgrew-gcm-test-01, every AES-GCM
/// case of its Section 4, Vectors/), round trips for both algorithms with and without ESN, and every
/// drop reason.
struct ESPTransformTests {
    struct Vector {
        var fields: [String: String]
        func bytes(_ k: String) -> [UInt8] { hex(fields[k] ?? "") }
    }

    static func vectors() throws -> [Vector] {
        let url = repositoryRoot.appendingPathComponent("Tests/DataPlaneTests/Vectors/draft-mcgrew-gcm-test-01.txt")
        var out: [Vector] = [], current: [String: String] = [:]
        let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).map(String.init) + [""]
        for line in lines {
            if line.hasPrefix("#") { continue }
            if line.isEmpty { if !current.isEmpty { out.append(Vector(fields: current)) }; current = [:]; continue }
            let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            current[parts[0]] = parts[1]
        }
        return out
    }

    static func sa(spi: UInt32, gcmKey: [UInt8]? = nil, esn: Bool = false, window: UInt32 = 64) -> SecurityAssociation {
        let algorithms: SAAlgorithms =
            gcmKey.map {
                SAAlgorithms(aead: XfrmAlgorithm(name: "rfc4106(gcm(aes))", key: KeyMaterial($0), truncationBits: 128))
            }
            ?? SAAlgorithms(
                encryption: XfrmAlgorithm(name: "cbc(aes)", key: KeyMaterial(Array(repeating: 0x11, count: 16))),
                authentication: XfrmAlgorithm(name: "hmac(sha256)", key: KeyMaterial(Array(repeating: 0x22, count: 32)), truncationBits: 128))
        var sa = SecurityAssociation(
            source: IPAddress("192.0.2.1")!, destination: IPAddress("192.0.2.2")!, spi: spi, proto: .esp, mode: .transport,
            algorithms: algorithms)
        if esn { sa.replayWindowESN = window; sa.flags |= 128 } else { sa.replayWindow = UInt8(min(window, 255)) }
        return sa
    }

    /// Opening each published packet gives its plaintext (minus the trailer); sealing its payload
    /// with its sequence number and IV gives the published packet, byte for byte.
    @Test func draftMcGrewGCMTestCases() throws {
        let vectors = try Self.vectors()
        #expect(vectors.count == 16)
        for v in vectors {
            let spiBytes = v.bytes("spi"), seqBytes = v.bytes("seq")
            let spi = spiBytes.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            let seq = seqBytes.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let esn = seqBytes.count == 8
            let esp = try ESPSecurityAssociation(Self.sa(spi: spi, gcmKey: v.bytes("key") + v.bytes("salt"), esn: esn))
            esp.window = ReplayWindow(size: 64, extendedSequenceNumbers: esn, top: seq - 1)
            let plaintext = v.bytes("plaintext")
            let padLength = Int(plaintext[plaintext.count - 2])
            let payload = Array(plaintext[..<(plaintext.count - 2 - padLength)])
            switch esp.open(v.bytes("packet")) {
            case .success(let p):
                #expect(p.data == payload && p.nextHeader == plaintext.last! && p.sequence == seq, "case \(v.fields["case"]!)")
            case .failure(let d):
                Issue.record("case \(v.fields["case"]!): \(d)")
            }
            // The same packet again is a replay.
            #expect(esp.open(v.bytes("packet")) == .failure(ESPDrop(reason: .replayed, sequence: UInt64(UInt32(truncatingIfNeeded: seq)))))
            let sealed = try esp.seal(payload, nextHeader: plaintext.last!, sequence: seq, iv: v.bytes("iv"))
            // The draft pads to 4 bytes with 1, 2, 3…, as seal does.
            #expect(sealed == v.bytes("packet"), "case \(v.fields["case"]!)")
        }
    }

    @Test(arguments: [(true, false), (true, true), (false, false), (false, true)])
    func roundTripsAndDrops(gcm: Bool, esn: Bool) throws {
        let key = (0..<20).map { UInt8($0) }
        let sender = try ESPSecurityAssociation(Self.sa(spi: 0x100, gcmKey: gcm ? key : nil, esn: esn))
        let receiver = try ESPSecurityAssociation(Self.sa(spi: 0x100, gcmKey: gcm ? key : nil, esn: esn))
        var counters = ESPCounters()
        var packets: [[UInt8]] = []
        for size in [0, 1, 2, 3, 13, 14, 15, 16, 17, 1400] {
            let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0 * 7) }
            let packet = try sender.seal(payload, nextHeader: 17)
            #expect((packet.count - 8 - (gcm ? 8 : 16) - 16) % (gcm ? 4 : 16) == 0)
            let r = receiver.open(packet)
            counters.count(r)
            #expect(r == .success(ESPPayload(data: payload, nextHeader: 17, sequence: UInt64(packets.count + 1))))
            packets.append(packet)
        }
        #expect(counters.accepted == 10)
        // Replay, tampering anywhere, truncation, another SPI.
        #expect(receiver.open(packets[3]) == .failure(ESPDrop(reason: .replayed, sequence: 4)))
        var tampered = try sender.seal([1, 2, 3], nextHeader: 6)
        for i in [4, 9, 20, tampered.count - 1] {
            var t = tampered
            t[i] ^= 0x40
            let r = receiver.open(t)
            guard case .failure(let d) = r else { Issue.record("accepted a packet altered at byte \(i)"); continue }
            #expect([.authenticationFailed, .replayed, .tooOld].contains(d.reason), "byte \(i): \(d)")
        }
        #expect(receiver.open(Array(tampered.prefix(20))) == .failure(ESPDrop(reason: .truncated)))
        tampered[3] ^= 1
        #expect(receiver.open(tampered) == .failure(ESPDrop(reason: .unknownSPI)))
        // A forged packet did not move the window: the genuine one still opens.
        tampered[3] ^= 1
        #expect(receiver.open(tampered) == .success(ESPPayload(data: [1, 2, 3], nextHeader: 6, sequence: 11)))
    }

    @Test func badPaddingAndDummyPacketsAreDroppedAfterAuthentication() throws {
        let key = (0..<20).map { UInt8($0) }
        let sender = try ESPSecurityAssociation(Self.sa(spi: 0x200, gcmKey: key))
        let receiver = try ESPSecurityAssociation(Self.sa(spi: 0x200, gcmKey: key))
        guard case .gcm(let g) = sender.cipher else { Issue.record("not GCM"); return }
        // Authentic packets whose trailer is wrong: padding 1, 3 (RFC 4303 §2.4 wants 1, 2), and a
        // pad length longer than the payload.
        func forged(_ plain: [UInt8], seq: UInt32) throws -> [UInt8] {
            let header = ESPSecurityAssociation.be32(0x200) + ESPSecurityAssociation.be32(seq)
            let iv: [UInt8] = [0, 0, 0, 0] + ESPSecurityAssociation.be32(seq)
            return header + iv + (try g.seal(plaintext: plain, iv: iv, aad: header))
        }
        #expect(receiver.open(try forged([9, 9, 1, 3, 2, 17], seq: 1)) == .failure(ESPDrop(reason: .badPadding, sequence: 1)))
        #expect(receiver.open(try forged([9, 9, 9, 9, 200, 17], seq: 2)) == .failure(ESPDrop(reason: .badPadding, sequence: 2)))
        // Authenticated, so the window moved: the same numbers are now replays.
        #expect(receiver.open(try forged([9, 9, 1, 3, 2, 17], seq: 1)) == .failure(ESPDrop(reason: .replayed, sequence: 1)))
        #expect(receiver.open(try forged([9, 9, 9, 9, 1, 2, 2, 6], seq: 3)) == .success(ESPPayload(data: [9, 9, 9, 9], nextHeader: 6, sequence: 3)))
        sender.sent = 3
        #expect(receiver.open(try sender.seal([], nextHeader: 59)) == .failure(ESPDrop(reason: .dummy, sequence: 4)))
        let last = try ESPSecurityAssociation(Self.sa(spi: 0x200, gcmKey: key))
        last.sent = UInt64(UInt32.max)
        #expect(throws: ESPConfigurationError.sequenceExhausted) { try last.seal([1], nextHeader: 6) }
    }

    @Test func unsupportedSAsAreRefusedWithTheirNames() {
        var sa = Self.sa(spi: 1)
        sa.algorithms = SAAlgorithms(encryption: XfrmAlgorithm(name: "cbc(des3_ede)", key: KeyMaterial(Array(repeating: 1, count: 24))))
        #expect(throws: ESPConfigurationError.unsupportedAlgorithms("cbc(des3_ede)")) { try ESPSecurityAssociation(sa) }
        sa.proto = .ah
        #expect(throws: ESPConfigurationError.notESP) { try ESPSecurityAssociation(sa) }
    }
}
