// libFuzzer target for the ESP data plane's inbound path: every input is opened by three SAs
// (AES-GCM with the key and SPI of draft-mcgrew-gcm-test-01's case 2, so that its seeds
// authenticate; AES-GCM with ESN; AES-CBC with HMAC-SHA-256-128). Each packet is accepted or
// dropped with a reason (never a trap); an accepted packet is a replay the second time; a dropped
// one never moves the replay window.
// Seeds: Fuzz/corpus/esp, the draft's packets with 32-bit sequence numbers, and packets that
// authenticate on the ESN and CBC SAs (valid, bad padding, pad length past the payload, dummy,
// misaligned ciphertext). FuzzESPSealed goes further behind the ICV.
import ESPDataPlane
import IPsecModel

func sa(_ spi: UInt32, _ algorithms: SAAlgorithms, esn: Bool) -> SecurityAssociation {
    SecurityAssociation(
        source: IPAddress("192.0.2.1")!, destination: IPAddress("192.0.2.2")!, spi: spi, replayWindow: esn ? 0 : 64,
        flags: esn ? 128 : 0, replayWindowESN: esn ? 128 : nil, algorithms: algorithms)
}

let gcmKey = KeyMaterial(hex: "feffe9928665731c6d6a8f9467308308cafebabe")!
let configurations = [
    sa(0xA5F8, SAAlgorithms(aead: XfrmAlgorithm(name: "rfc4106(gcm(aes))", key: gcmKey, truncationBits: 128)), esn: false),
    sa(0xA5F8, SAAlgorithms(aead: XfrmAlgorithm(name: "rfc4106(gcm(aes))", key: gcmKey, truncationBits: 128)), esn: true),
    sa(
        0xA5F8,
        SAAlgorithms(
            encryption: XfrmAlgorithm(name: "cbc(aes)", key: KeyMaterial(Array(repeating: 0x11, count: 16))),
            authentication: XfrmAlgorithm(name: "hmac(sha256)", key: KeyMaterial(Array(repeating: 0x22, count: 32)), truncationBits: 128)),
        esn: false),
]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let packet = Array(UnsafeBufferPointer(start: data, count: size))
    for configuration in configurations {
        guard let esp = try? ESPSecurityAssociation(configuration) else { fatalError("the fuzz SA does not build") }
        let before = esp.window
        var counters = ESPCounters()
        let first = esp.open(packet)
        counters.count(first)
        switch first {
        case .success(let payload):
            guard esp.open(packet) == .failure(ESPDrop(reason: .replayed, sequence: UInt64(UInt32(truncatingIfNeeded: payload.sequence)))) else {
                fatalError("an accepted packet was accepted twice")
            }
        case .failure(let drop):
            let authenticated = [.badPadding, .dummy].contains(drop.reason)
            if !authenticated && esp.window != before { fatalError("a packet dropped before authentication moved the window") }
        }
        guard counters.accepted + counters.dropped.values.reduce(0, +) == 1 else { fatalError("counted twice") }
    }
    return 0
}
