// salabel-resolver-bench: the resolver's mirror without a kernel.
//
//   swift run -c release salabel-resolver-bench [--runs N] [--sas N] [--policies N]
//
// Measures:
//   1. Resync: the time MirrorSync takes from a fresh subscription to an installed mirror of
//      --sas SAs (default 100,000; labeled rfc4106(gcm(aes)) transport SAs, 16 labels) and
//      --policies SPD entries (default 1,000; labeled, one per TCP port). The dumps are the bytes the
//      kernel would send — each SA and entry encoded with XfrmWire as a NEWSA/NEWPOLICY with
//      NLM_F_MULTI, packed into datagrams of at most 32 KiB (the kernel sizes dump batches to the
//      reader's 32 KiB buffer, NetlinkSocket.defaultReceiveBufferSize), NLMSG_DONE last — replayed by
//      a transport in place of the socket. So the time covers what a resync does after the kernel:
//      netlink framing, the XFRM codecs, the model mapping, the state machine, the mirror's index;
//      not the kernel's own dump work nor the copies out of the socket.
//      Also shown apart: the dumps alone (through NetlinkConnection and XfrmEventFeed) and the
//      mirror's construction alone (XfrmMirror(sas:policies:) from the decoded arrays).
//   2. Inbound resolutions per second with --sas SAs in the mirror, on one core, the decisions
//      cached in the AVC: the fast path (InboundFastPath: SAD key → interned label → SID → three
//      AVC lookups under network_peer_controls), with the SAD key given and built from the header's
//      address, and the full resolver (every check with its reason) over the same packets.
//
// Each figure is the median of --runs runs (default 7) after one untimed warm-up.

import Foundation
import IPsecModel
import NetlinkSocket
import Resolver
import SecurityContexts
import XfrmManager
import XfrmNetlink
import XfrmWire

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("salabel-resolver-bench: \(message)\n".utf8))
    exit(2)
}

// MARK: - Options

let (runs, saCount, policyCount) = { () -> (Int, Int, Int) in
    var runs = 7, saCount = 100_000, policyCount = 1_000
    var arguments = CommandLine.arguments.dropFirst()
    while let option = arguments.popFirst() {
        guard let value = arguments.popFirst().flatMap(Int.init), value > 0 else { fail("\(option) needs a positive number") }
        switch option {
        case "--runs": runs = value
        case "--sas": saCount = value
        case "--policies": policyCount = min(value, 65_535)
        default: fail("unknown option \(option); usage: salabel-resolver-bench [--runs N] [--sas N] [--policies N]")
        }
    }
    return (runs, saCount, policyCount)
}()

func median(_ xs: [Duration]) -> Duration {
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

func milliseconds(_ d: Duration) -> Double {
    Double(d.components.seconds) * 1e3 + Double(d.components.attoseconds) / 1e15
}

// MARK: - The tables

let labels: [SecurityContext] = (0..<16).map {
    try! SecurityContext(parsing: "system_u:system_r:echoclient_t:s0:c\($0)")
}
let spdLabel = try! SecurityContext(parsing: "system_u:object_r:ipsec_spd_t:s0")
let aeadKey = KeyMaterial((0..<20).map { UInt8($0 &* 7 &+ 1) })  // AES-128 key + 4-byte salt

func address(_ i: Int, base: UInt8) -> IPAddress {
    IPAddress("\(base).\((i >> 16) & 0xff).\((i >> 8) & 0xff).\(i & 0xff)")!
}

let sas: [SecurityAssociation] = (0..<saCount).map { i in
    SecurityAssociation(
        source: address(i, base: 10), destination: address(i, base: 11), spi: 0x1000 + UInt32(i), proto: .esp, mode: .transport,
        reqid: UInt32(i), replayWindow: 32,
        algorithms: SAAlgorithms(aead: XfrmAlgorithm(name: "rfc4106(gcm(aes))", key: aeadKey, truncationBits: 128)),
        securityContext: labels[i % labels.count])
}
let policies: [PolicyEntry] = (0..<policyCount).map { i in
    let a = IPAddress("10.0.0.1")!, b = IPAddress("10.0.0.2")!
    return PolicyEntry(
        selector: TrafficSelector(
            source: IPPrefix(host: a), destination: IPPrefix(host: b), upperProtocol: 6,
            destinationPort: UInt16(i + 1), destinationPortMask: 0xffff),
        direction: .out, priority: 0, index: 8 * UInt32(i + 1) + 1,
        templates: [PolicyTemplate(source: a, destination: b)], securityContext: spdLabel)
}

// MARK: - The dumps as the kernel sends them

let portID: UInt32 = 0x0001_E240
let datagramLimit = NetlinkSocket.defaultReceiveBufferSize  // 32 KiB

/// A dump answer: each entry a multipart message with `sequence`, packed into datagrams of at most
/// 32 KiB, then NLMSG_DONE.
func dumpDatagrams(_ messages: [XfrmMessage], sequence: UInt32) throws -> [[UInt8]] {
    var datagrams: [[UInt8]] = []
    var current: [UInt8] = []
    current.reserveCapacity(datagramLimit)
    for var m in messages {
        m.flags = [.multipart]
        m.sequence = sequence
        m.portID = portID
        let bytes = try m.encoded()
        if current.count + bytes.count > datagramLimit {
            datagrams.append(current)
            current = []
            current.reserveCapacity(datagramLimit)
        }
        current += bytes
    }
    let done = try NetlinkDone(code: 0, extendedAck: ExtendedAck()).message(sequence: sequence, portID: portID).encoded()
    if current.count + done.count > datagramLimit {
        datagrams.append(current)
        current = []
    }
    current += done
    datagrams.append(current)
    return datagrams
}

// Every run opens a connection with first sequence 1: the SA dump is request 1, the SPD dump 2.
let saDatagrams: [[UInt8]]
let policyDatagrams: [[UInt8]]
do {
    saDatagrams = try dumpDatagrams(sas.map { try XfrmRequest.addSA($0) }, sequence: 1)
    policyDatagrams = try dumpDatagrams(policies.map { try XfrmRequest.addPolicy($0) }, sequence: 2)
} catch { fail("encoding the dumps: \(error)") }
let dumpBytes = (saDatagrams + policyDatagrams).reduce(0) { $0 + $1.count }

/// The kernel's side of one subscription: each dump request is answered with the prepared bytes,
/// split into messages as the socket's receive does it.
final class ReplayKernel: NetlinkTransport {
    let portID = 0x0001_E240 as UInt32
    private var queue: [[UInt8]] = []
    private var next = 0

    func send(messages: [NetlinkMessage]) throws {
        for m in messages {
            switch XfrmMessageType(rawValue: m.header.type.rawValue) {
            case .getSA: queue += saDatagrams
            case .getPolicy: queue += policyDatagrams
            default: fail("unexpected request \(m.header.type)")
            }
        }
    }

    func receiveMessages() throws -> NetlinkReception {
        guard next < queue.count else { fail("nothing to receive") }
        defer { next += 1 }
        return .datagram(NetlinkDatagram(try NetlinkMessage.split(queue[next]), from: .kernel))
    }

    func join(group: UInt32) throws {}
    func leave(group: UInt32) throws {}
}

func replayFeed() -> XfrmEventFeed {
    XfrmEventFeed(connection: NetlinkConnection(transport: ReplayKernel(), firstSequence: 1, trace: nil))
}

// MARK: - 1. Resync

/// One resynchronization, as the driver runs it: subscribe, dump SAs, dump SPD, install.
func resync() throws -> (Duration, MirrorSync.Statistics) {
    let driver = MirrorSyncDriver(live: LiveMirror()) { replayFeed() }
    let clock = ContinuousClock()
    let start = clock.now
    try driver.step()  // subscribe
    try driver.step()  // dump the SAD
    try driver.step()  // dump the SPD, install
    let elapsed = clock.now - start
    let snapshot = driver.live.snapshot()
    guard snapshot.isSynchronized, snapshot.mirror.sas.count == saCount, snapshot.mirror.policies.count == policyCount else {
        fail("the resync did not install the dump: \(snapshot.status), \(snapshot.mirror.sas.count) SAs")
    }
    return (elapsed, snapshot.statistics)
}

func dumpsOnly() throws -> (Duration, [SecurityAssociation], [PolicyEntry]) {
    let feed = replayFeed()
    let clock = ContinuousClock()
    let start = clock.now
    guard case .complete(let s) = try feed.dumpSAs(), case .complete(let p) = try feed.dumpPolicies() else { fail("dump not complete") }
    return (clock.now - start, s, p)
}

func buildOnly(_ s: [SecurityAssociation], _ p: [PolicyEntry]) -> Duration {
    let clock = ContinuousClock()
    let start = clock.now
    let mirror = XfrmMirror(sas: s, policies: p)
    let elapsed = clock.now - start
    guard mirror.sas.count == s.count else { fail("mirror size") }
    return elapsed
}

var resyncTimes: [Duration] = [], dumpTimes: [Duration] = [], buildTimes: [Duration] = []
do {
    // Warm-up, and a check that what is decoded is what was encoded.
    let (_, s, p) = try dumpsOnly()
    guard s == sas, p == policies else { fail("the dumps do not decode to the tables encoded") }
    _ = try resync()
    for _ in 0..<runs {
        resyncTimes.append(try resync().0)
        let (d, s, p) = try dumpsOnly()
        dumpTimes.append(d)
        buildTimes.append(buildOnly(s, p))
    }
} catch { fail("\(error)") }

// MARK: - 2. Inbound resolutions per second with 100,000 SAs

/// The fast path and the full resolver over the same 100,000 SAs (Inbound.swift).
func inboundResolutions() -> [(String, String, String)] {
    measureInbound(sas: sas, runs: runs)
}

// MARK: - Report

func row(_ cells: [String], _ widths: [Int]) -> String {
    zip(cells, widths).map { $0.0.padding(toLength: $0.1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
}

let widths = [44, 14, 16]
let perSA = { (d: Duration) in String(format: "%.2f µs", milliseconds(d) * 1e3 / Double(saCount)) }
print(
    "salabel-resolver-bench: \(saCount) SAs, \(policyCount) SPD entries; dumps \(dumpBytes) bytes in "
        + "\(saDatagrams.count + policyDatagrams.count) datagrams of at most \(datagramLimit) bytes; median of \(runs) runs")
print(row(["measure", "median", "per SA / packet"], widths))
print(row(["resync (subscribe, dumps, install)", String(format: "%.1f ms", milliseconds(median(resyncTimes))), perSA(median(resyncTimes))], widths))
print(row(["  dumps alone (framing, codecs, model)", String(format: "%.1f ms", milliseconds(median(dumpTimes))), perSA(median(dumpTimes))], widths))
print(row(["  mirror construction alone", String(format: "%.1f ms", milliseconds(median(buildTimes))), perSA(median(buildTimes))], widths))
for r in inboundResolutions() { print(row([r.0, r.1, r.2], widths)) }
