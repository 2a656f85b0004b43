// Inbound resolutions with the mirror full: the fast path (SIDs, bits, reasons on demand) and the
// full resolver (every check with its reason), over the same packets, on one core.

import DecisionEngine
import Foundation
import IPsecModel
import Resolver
import SecurityContexts

/// Rows for the report: inbound resolutions per second with `sas` in the mirror.
func measureInbound(sas: [SecurityAssociation], runs: Int) -> [(String, String, String)] {
    let server: SecurityServer
    do { server = try SecurityServer.embedded() } catch { fail("embedded policy: \(error)") }
    let resolver = Resolver(mirror: XfrmMirror(sas: sas), authorizer: AssociationAuthorizer(cache: AccessVectorCache(server: server)))
    var fast = InboundFastPath(resolver)
    // The multi-level echo server receives; packets come in on eth0 from one peer (netif and node
    // checks, then peer recv: three AVC lookups per packet under network_peer_controls).
    let socketContext = try! SecurityContext(parsing: "system_u:system_r:echoserver_t:s0-s3:c0.c15")
    let socket = try! server.sid(for: socketContext)
    let origin = fast.origin(interface: "eth0", source: IPAddress("10.0.0.1")!)
    // Packets in a shuffled order, so that consecutive lookups do not share cache lines.
    var generator = SystemRandomNumberGenerator()
    let order = sas.indices.shuffled(using: &generator)
    let keys = order.map { SADKey(destination: sas[$0].destination, spi: sas[$0].spi, proto: sas[$0].proto) }
    let addresses = order.map { sas[$0].destination }, spis = order.map { sas[$0].spi }
    // The same packets as bytes: an IPv4 header (destination at offset 16) and the ESP header's
    // SPI (offset 20), 24 bytes each, back to back.
    var wire = [UInt8](repeating: 0, count: keys.count * 24)
    for (n, i) in order.enumerated() {
        wire.replaceSubrange(n * 24 + 16..<n * 24 + 20, with: sas[i].destination.bytes)
        withUnsafeBytes(of: sas[i].spi.bigEndian) { wire.replaceSubrange(n * 24 + 20..<n * 24 + 24, with: $0) }
    }

    let packets = 5_000_000
    func timeFast(fromAddresses: Bool, memo: Bool = true) -> (Duration, Int) {
        fast.remembersGrants = memo
        var delivered = 0
        let clock = ContinuousClock()
        let t = clock.measure {
            wire.withUnsafeBytes { bytes in
                var i = 0
                for _ in 0..<packets {
                    let key: SADKey
                    if fromAddresses {
                        let packet = UnsafeRawBufferPointer(rebasing: bytes[i * 24..<i * 24 + 24])
                        key = SADKey(
                            destination: UnsafeRawBufferPointer(rebasing: packet[16..<20]),
                            spi: UInt32(bigEndian: packet.loadUnaligned(fromByteOffset: 20, as: UInt32.self)), proto: .esp)
                    } else {
                        key = keys[i]
                    }
                    if fast.verdict(key, socket: socket, origin: origin).outcome == .delivered { delivered += 1 }
                    i += 1
                    if i == keys.count { i = 0 }
                }
            }
        }
        return (t, delivered)
    }
    let fullPackets = 200_000
    func timeFull() -> (Duration, Int) {
        var delivered = 0
        let source = IPAddress("10.0.0.1")!
        let clock = ContinuousClock()
        let t = clock.measure {
            var i = 0
            for _ in 0..<fullPackets {
                let d = resolver.deliver(
                    resolver.inbound(destination: addresses[i], spi: spis[i], proto: .esp), to: socketContext,
                    interface: "eth0", source: source)
                if d.delivered { delivered += 1 }
                i += 1
                if i == keys.count { i = 0 }
            }
        }
        return (t, delivered)
    }
    // Warm the AVC, then alternate the three measurements.
    _ = timeFast(fromAddresses: false)
    var fastTimes: [Duration] = [], keyTimes: [Duration] = [], avcTimes: [Duration] = [], fullTimes: [Duration] = []
    var deliveredFast = 0, deliveredFull = 0
    for _ in 0..<runs {
        let (a, da) = timeFast(fromAddresses: false)
        let (b, _) = timeFast(fromAddresses: true)
        let (v, _) = timeFast(fromAddresses: true, memo: false)
        let (c, dc) = timeFull()
        avcTimes.append(v)
        fastTimes.append(a)
        keyTimes.append(b)
        fullTimes.append(c)
        deliveredFast = da
        deliveredFull = dc
    }
    // The two paths must agree on what they deliver (the same packets, cycled).
    let fastShare = Double(deliveredFast) / Double(packets), fullShare = Double(deliveredFull) / Double(fullPackets)
    guard abs(fastShare - fullShare) < 0.01 else { fail("the fast path delivered \(fastShare), the full resolver \(fullShare)") }
    func rate(_ d: Duration, _ n: Int) -> (String, String) {
        let ns = milliseconds(d) * 1e6 / Double(n)
        return (String(format: "%.2f M/s", 1e3 / ns), String(format: "%.0f ns", ns))
    }
    let f = rate(median(fastTimes), packets), k = rate(median(keyTimes), packets), v = rate(median(avcTimes), packets)
    let s = rate(median(fullTimes), fullPackets)
    return [
        ("inbound, fast path (SAD key given)", f.0, f.1),
        ("inbound, fast path (key read from the packet)", k.0, k.1),
        ("inbound, fast path, AVC on every packet", v.0, v.1),
        ("inbound, full resolver with reasons", s.0, s.1),
        (String(format: "  delivered %.0f%%; %d distinct labels", fastShare * 100, resolver.mirror.labels.count), "", ""),
    ]
}
