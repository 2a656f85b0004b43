import IPsecModel
import Testing
@testable import ESPDataPlane

/// The data plane's SA construction refuses keys that do not fit their algorithms (HMAC itself
/// takes any key; ESP's HMAC-SHA-256-128 takes 32 bytes, RFC 4868 §2.1.1) and replay windows it
/// cannot hold, instead of clamping them.
struct ESPKeyCheckTests {
    @Test func aOneByteHMACKeyIsRefused() {
        var sa = ESPTransformTests.sa(spi: 0x300)
        sa.algorithms.authentication = XfrmAlgorithm(name: "hmac(sha256)", key: KeyMaterial([1]), truncationBits: 128)
        #expect {
            try ESPSecurityAssociation(sa)
        } throws: { error in
            guard case .key(let v) = error as? ESPConfigurationError else { return false }
            return v.role == .authentication && v.message.contains("1 bytes") && v.message.contains("32 bytes")
        }
    }

    @Test func aSixteenByteRFC4106KeyIsRefused() {
        let sa = ESPTransformTests.sa(spi: 0x301, gcmKey: Array(repeating: 9, count: 16))
        #expect {
            try ESPSecurityAssociation(sa)
        } throws: { error in
            guard case .key(let v) = error as? ESPConfigurationError else { return false }
            return v.role == .aead && v.message.contains("20, 28 or 36 bytes")
        }
        #expect(throws: Never.self) { try ESPSecurityAssociation(ESPTransformTests.sa(spi: 0x302, gcmKey: Array(repeating: 9, count: 20))) }
    }

    @Test func aReplayWindowBeyondTheMaximumIsRefused() {
        let sa = ESPTransformTests.sa(spi: 0x303, esn: true, window: 100_000_000)
        #expect(throws: ESPConfigurationError.replayWindowOutOfRange(100_000_000, maximum: ReplayWindow.maximumSize)) {
            try ESPSecurityAssociation(sa)
        }
        #expect(throws: ESPConfigurationError.replayWindowOutOfRange(100_000, maximum: ReplayWindow.maximumSize)) {
            try ESPSecurityAssociation(ESPTransformTests.sa(spi: 0x304), windowSize: 100_000)
        }
    }
}
