// salabel-dataplane-bench: packets per second through the userspace data plane's full inbound path
// (ESP in UDP classification, SA by SPI, AES-GCM open and replay window, the inner UDP datagram,
// the inbound policy check, the label from the SA, and the delivery decision of the engine),
// side by side in one run with the ESP open alone on the same packets, so the ratio says what
// labeling and deciding add to decryption. A third column runs the full path on SAs with lifetime
// limits (as an IKE daemon installs them: seconds, bytes and packets), whose counters and clock are
// checked on every packet. `swift run -c release salabel-dataplane-bench`.
//
// Options (for a profiler: small counts): `--count N` packets per round (20000), `--rounds N` (9),
// `--sizes 64,1400` (64,512,1400), `--only open|full|limited` (time one path; the others print 0):
// two callgrind runs, `--only full` and `--only open`, differ by the full path's instructions outside
// the open (everything else, the sealing of the packets included, is the same in both).
import DataPlaneNode
import DecisionEngine
import ESPDataPlane
import Foundation
import IPsecModel
import SecurityContexts

/// The value after `name` on the command line, if any.
func option(_ name: String) -> String? {
    let args = CommandLine.arguments
    return args.firstIndex(of: name).flatMap { $0 + 1 < args.count ? args[$0 + 1] : nil }
}
let sizes = option("--sizes").map { $0.split(separator: ",").compactMap { Int($0) } } ?? [64, 512, 1400]
let count = option("--count").flatMap { Int($0) } ?? 20_000
let rounds = option("--rounds").flatMap { Int($0) } ?? 9
let only = option("--only")
/// Whether a path is timed in this run.
func runs(_ path: String) -> Bool { only == nil || only == path }
let client = try SecurityContext(parsing: "system_u:system_r:echoclient_t:s0")
let server = try SecurityContext(parsing: "system_u:system_r:echoserver_t:s0")
let a = IPAddress("10.77.0.1")!, b = IPAddress("10.77.0.2")!
let key = KeyMaterial((0..<20).map { UInt8($0 &* 7 &+ 1) })
func sa(_ spi: UInt32, _ src: IPAddress, _ dst: IPAddress, _ label: SecurityContext) -> SecurityAssociation {
    SecurityAssociation(
        source: src, destination: dst, spi: spi, replayWindow: 32,
        algorithms: SAAlgorithms(aead: XfrmAlgorithm(name: "rfc4106(gcm(aes))", key: key, truncationBits: 128)),
        securityContext: label)
}
let sas = [sa(0x100, a, b, client), sa(0x101, b, a, server)]
let spd = try SecurityContext(parsing: "system_u:object_r:ipsec_spd_t:s0")
let policies = [
    PolicyEntry(
        selector: TrafficSelector(
            source: IPPrefix(host: a), destination: IPPrefix(host: b), upperProtocol: 17, destinationPort: 7, destinationPortMask: 0xFFFF),
        direction: .out, templates: [PolicyTemplate(source: a, destination: b)], securityContext: spd),
    PolicyEntry(
        selector: TrafficSelector(
            source: IPPrefix(host: a), destination: IPPrefix(host: b), upperProtocol: 17, destinationPort: 7, destinationPortMask: 0xFFFF),
        direction: .in, templates: [PolicyTemplate(source: a, destination: b)], securityContext: spd),
]
/// The same SAs with an IKE daemon's kind of limits: none is reached in the run.
let limitedSAs = sas.map { sa -> SecurityAssociation in
    var s = sa
    s.lifetime.softAddExpiresSeconds = 3240
    s.lifetime.hardAddExpiresSeconds = 3600
    s.lifetime.softByteLimit = 1 << 40
    s.lifetime.hardByteLimit = 1 << 41
    s.lifetime.softPacketLimit = 1 << 30
    s.lifetime.hardPacketLimit = 1 << 31
    return s
}
func monotonic() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC_COARSE, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}
let authorizer = AssociationAuthorizer(cache: AccessVectorCache(server: try SecurityServer.embedded()))

/// Whether a packet was delivered, read as a host reads it (a match on the outcome, no copy of the
/// delivery).
func isDelivered(_ r: InboundResult) -> Bool {
    if case .delivered = r.outcome { true } else { false }
}
func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }
func seconds(_ body: () -> Void) -> Double {
    let t0 = DispatchTime.now().uptimeNanoseconds
    body()
    return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
}

print("salabel-dataplane-bench: \(count) packets per round, \(rounds) rounds, medians; AES-128-GCM, transport mode, one labeled SA")
print("size   open alone (pps)   full inbound path (pps)   full / open   with lifetimes (pps)   lifetimes / full (median of rounds)")
for size in sizes {
    var fullRates: [Double] = [], openRates: [Double] = [], limitedRates: [Double] = [], limitedRatios: [Double] = []
    for round in 0..<rounds {
        let sender = try DataPlaneNode(address: a, sas: sas, policies: policies, authorizer: authorizer)
        let receiver = try DataPlaneNode(address: b, sas: sas, policies: policies, authorizer: authorizer)
        let port = try sender.bind(port: 0, context: client).port
        try receiver.bind(port: 7, context: server)
        let payload = [UInt8](repeating: 0x5A, count: size)
        let packets: [[UInt8]] = (0..<count).map { _ in
            guard case .esp(let p, _) = sender.send(payload, from: port, to: b, port: 7).outcome else { fatalError("not sealed") }
            return p
        }
        let opener = try ESPSecurityAssociation(sas[0])
        var opened = runs("open") ? 0 : count
        let tOpen = runs("open") ? seconds { for p in packets { if case .success = opener.open(p) { opened += 1 } } } : .infinity
        let limited = try DataPlaneNode(address: b, sas: limitedSAs, policies: policies, authorizer: authorizer)
        limited.now = monotonic
        try limited.bind(port: 7, context: server)
        // The two full paths back to back, in alternate order from round to round (the machine is
        // shared: their ratio is taken per round).
        var delivered = runs("full") ? 0 : count, deliveredLimited = runs("limited") ? 0 : count
        var tFull = Double.infinity, tLimited = Double.infinity
        for which in (round % 2 == 0 ? [0, 1] : [1, 0]) where runs(which == 0 ? "full" : "limited") {
            if which == 0 {
                tFull = seconds { for p in packets where isDelivered(receiver.receiveESP(p)) { delivered += 1 } }
            } else {
                tLimited = seconds { for p in packets where isDelivered(limited.receiveESP(p)) { deliveredLimited += 1 } }
            }
        }
        precondition(opened == count && delivered == count && deliveredLimited == count, "not every packet went through")
        precondition(limited.takeExpireEvents().isEmpty, "a limit was reached")
        openRates.append(Double(count) / tOpen)
        fullRates.append(Double(count) / tFull)
        limitedRates.append(Double(count) / tLimited)
        limitedRatios.append(tFull / tLimited)
    }
    let o = median(openRates), f = median(fullRates), l = median(limitedRates), r = median(limitedRatios)
    print(String(format: "%4d   %16.0f   %23.0f   %10.0f%%   %20.0f   %15.0f%%", size, o, f, f / o * 100, l, r * 100))
}
