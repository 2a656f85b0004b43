// ESP seal and open throughput of the userspace data plane (ESPDataPlane, AES-128-GCM, RFC 4106)
// side by side with `openssl speed -evp aes-128-gcm` on the same machine, the limit for a data plane
// over libcrypto: `swift run -c release salabel-esp-bench [ROUNDS]`.
//
// Each round measures, for 64, 512 and 1400-byte payloads: OpenSSL's raw AES-128-GCM encryption
// (`openssl speed -mr -evp aes-128-gcm -bytes N -seconds 1`), then salabel's seal (sequence number,
// padding, trailer, AAD, encryption, ICV, the packet's bytes) and open (header, replay window,
// ICV check, decryption, trailer checks, window update) for about one second each. Rounds
// alternate, so load changes hit both sides; the report gives medians and the ratio to OpenSSL.
import ESPDataPlane
import Foundation
import IPsecModel

let rounds = CommandLine.arguments.count > 1 ? max(1, Int(CommandLine.arguments[1]) ?? 5) : 5
let sizes = [64, 512, 1400]

func makeSA(esn: Bool = false) -> ESPSecurityAssociation {
    let key = KeyMaterial((0..<20).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 1) })
    var sa = SecurityAssociation(
        source: IPAddress("192.0.2.1")!, destination: IPAddress("192.0.2.2")!, spi: 0x1000,
        algorithms: SAAlgorithms(aead: XfrmAlgorithm(name: "rfc4106(gcm(aes))", key: key, truncationBits: 128)))
    sa.replayWindowESN = 128
    sa.flags |= 128
    return try! ESPSecurityAssociation(sa)
}

/// Bytes per second of OpenSSL's AES-128-GCM for `size`-byte buffers.
func opensslSpeed(_ size: Int) -> Double? {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["openssl", "speed", "-mr", "-evp", "aes-128-gcm", "-bytes", String(size), "-seconds", "1"]
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = FileHandle.nullDevice
    guard (try? p.run()) != nil else { return nil }
    let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    // +F:N:AES-128-GCM:BYTES_PER_SECOND
    guard let line = out.split(separator: "\n").first(where: { $0.hasPrefix("+F:") }), let v = line.split(separator: ":").last else { return nil }
    return Double(v)
}

/// Runs `body` in batches for about `seconds`; returns calls per second.
func rate(seconds: Double = 1, _ body: () -> Void) -> Double {
    let clock = ContinuousClock()
    let start = clock.now
    var calls = 0
    while true {
        for _ in 0..<256 { body() }
        calls += 256
        let elapsed = clock.now - start
        let s = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        if s >= seconds { return Double(calls) / s }
    }
}

func median(_ v: [Double]) -> Double { let s = v.sorted(); return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2 }

guard opensslSpeed(64) != nil else {
    FileHandle.standardError.write(Data("salabel-esp-bench: `openssl speed` is not available (package openssl)\n".utf8))
    exit(2)
}
var openssl: [Int: [Double]] = [:], seal: [Int: [Double]] = [:], open: [Int: [Double]] = [:]
for round in 1...rounds {
    for size in sizes {
        openssl[size, default: []].append(opensslSpeed(size) ?? 0)
        let payload = [UInt8](repeating: 0x5A, count: size)
        let sender = makeSA()
        seal[size, default: []].append(rate { _ = try! sender.seal(payload, nextHeader: 17) } * Double(size))
        // Open 20,000 consecutive packets once each, with a fresh receiver (every packet is new
        // to its window, authenticates and is delivered).
        let source = makeSA()
        let ring = (0..<20_000).map { _ in try! source.seal(payload, nextHeader: 17) }
        let receiver = makeSA()
        let clock = ContinuousClock()
        var delivered = 0
        let t0 = clock.now
        for p in ring { if case .success = receiver.open(p) { delivered += 1 } }
        let d = clock.now - t0
        precondition(delivered == ring.count, "the benchmark's packets must all open")
        let seconds = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        open[size, default: []].append(Double(ring.count) / seconds * Double(size))
    }
    FileHandle.standardError.write(Data("round \(round)/\(rounds) done\n".utf8))
}

func gbps(_ bytesPerSecond: Double) -> String { String(format: "%.2f Gbit/s", bytesPerSecond * 8 / 1e9) }
print("ESP AES-128-GCM (RFC 4106), one core, medians of \(rounds) alternating rounds")
print("| payload | openssl speed -evp aes-128-gcm | salabel seal | seal / openssl | salabel open | open / openssl | seal packets/s |")
print("|---|---|---|---|---|---|---|")
for size in sizes {
    let o = median(openssl[size]!), s = median(seal[size]!), r = median(open[size]!)
    print(
        "| \(size) B | \(gbps(o)) | \(gbps(s)) | \(String(format: "%.0f%%", s / o * 100)) | \(gbps(r)) | \(String(format: "%.0f%%", r / o * 100)) | \(String(format: "%.2f M", s / Double(size) / 1e6)) |"
    )
}
