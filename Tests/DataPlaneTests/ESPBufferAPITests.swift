import ESPCrypto
import IPsecModel
import Testing
@testable import ESPDataPlane

/// The buffer forms of seal and open (a payload or packet read where it lies) give what the array
/// forms give: the same packets, payloads, drop reasons and replay-window moves.
struct ESPBufferAPITests {
    static let gcmKey = (0..<20).map { UInt8($0 &* 11 &+ 3) }

    @Test(arguments: [false, true])
    func gcmSealFromABufferIsTheArraySeal(esn: Bool) throws {
        let arrays = try ESPSecurityAssociation(ESPTransformTests.sa(spi: 0x300, gcmKey: Self.gcmKey, esn: esn))
        let buffers = try ESPSecurityAssociation(ESPTransformTests.sa(spi: 0x300, gcmKey: Self.gcmKey, esn: esn))
        if esn {
            // Past a wrap of the low 32 bits, so that the AAD's high half is not zero.
            arrays.sent = 0x1_FFFF_FFFE
            buffers.sent = 0x1_FFFF_FFFE
        }
        for size in [0, 1, 2, 3, 4, 5, 64, 1400] {
            let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 13) }
            let expected = try arrays.seal(payload, nextHeader: 17)
            let packet = try payload.withUnsafeBytes { try buffers.seal($0, nextHeader: 17) }
            #expect(packet == expected, "size \(size)")
        }
    }

    @Test(arguments: [(true, false), (true, true), (false, false), (false, true)])
    func openFromSlicesAndBuffers(gcm: Bool, esn: Bool) throws {
        let key = gcm ? Self.gcmKey : nil
        let sender = try ESPSecurityAssociation(ESPTransformTests.sa(spi: 0x301, gcmKey: key, esn: esn))
        let receiver = try ESPSecurityAssociation(ESPTransformTests.sa(spi: 0x301, gcmKey: key, esn: esn))
        for (index, size) in [0, 1, 15, 16, 17, 1400].enumerated() {
            let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 5 &+ 1) }
            let packet = try payload.withUnsafeBytes { try sender.seal($0, nextHeader: 6) }
            let expected = ESPPayload(data: payload, nextHeader: 6, sequence: UInt64(index + 1))
            // The packet inside a larger buffer, after a 20-byte outer header and before trailing bytes.
            let frame = [UInt8](repeating: 0xEE, count: 20) + packet + [0xEE, 0xEE]
            let slice = frame[20..<(20 + packet.count)]
            if index % 2 == 0 {
                #expect(receiver.open(slice) == .success(expected))
                #expect(
                    frame.withUnsafeBytes { receiver.open(UnsafeRawBufferPointer(rebasing: $0[20..<(20 + packet.count)])) }
                        == .failure(ESPDrop(reason: .replayed, sequence: UInt64(index + 1))))
            } else {
                #expect(frame.withUnsafeBytes { receiver.open(UnsafeRawBufferPointer(rebasing: $0[20..<(20 + packet.count)])) } == .success(expected))
                #expect(receiver.open(slice) == .failure(ESPDrop(reason: .replayed, sequence: UInt64(index + 1))))
            }
        }
        // A forged packet read from a buffer does not move the window; the genuine one then opens.
        let packet = try sender.seal([1, 2, 3], nextHeader: 17)
        var forged = packet
        forged[forged.count - 1] ^= 1
        let before = receiver.window
        #expect(forged.withUnsafeBytes { receiver.open($0) } == .failure(ESPDrop(reason: .authenticationFailed, sequence: 7)))
        #expect(receiver.window == before)
        #expect(receiver.open(packet[...]) == .success(ESPPayload(data: [1, 2, 3], nextHeader: 17, sequence: 7)))
        // Too short for the header, IV, trailer and ICV.
        #expect(packet.withUnsafeBytes { receiver.open(UnsafeRawBufferPointer(rebasing: $0[..<20])) } == .failure(ESPDrop(reason: .truncated)))
    }

    @Test func aFixedIVOfTheWrongLengthIsRefused() throws {
        let esp = try ESPSecurityAssociation(ESPTransformTests.sa(spi: 0x302, gcmKey: Self.gcmKey))
        #expect(throws: ESPConfigurationError.crypto(.invalidIVLength(12, expected: 8))) {
            try esp.seal([1], nextHeader: 6, sequence: 1, iv: [UInt8](repeating: 0, count: 12))
        }
        let cbc = try ESPSecurityAssociation(ESPTransformTests.sa(spi: 0x302))
        #expect(throws: ESPConfigurationError.crypto(.invalidIVLength(8, expected: 16))) {
            try cbc.seal([1], nextHeader: 6, sequence: 1, iv: [UInt8](repeating: 0, count: 8))
        }
    }
}
