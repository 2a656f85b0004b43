// salabel-xfrm-bench: the xfrm manager side by side with iproute2, in one run, against the running
// kernel in a throwaway network namespace (created here as salabel-bench-PID and deleted on exit).
// Runs alternate (salabel, iproute2, salabel, …) after one untimed warm-up of each, so that load on
// this shared machine hits both alike; every figure is the median of the runs, and the ratios are
// what to compare across machines.
//
//   sudo .build/release/salabel-xfrm-bench [--runs N] [--count N] [--messages N] [--json]
//
// Measures:
//   1. SPD install and dump of --count policies (default 10,000; distinct /32 selectors, proto tcp,
//      dport varying, dir out, tmpl proto esp mode transport, ctx system_u:object_r:ipsec_spd_t:s0):
//      salabel through NetlinkXfrmKernel.performBatch (netlink batches) and allPolicies(), against
//      `ip -n NS -batch FILE` and `ip -n NS xfrm policy show >/dev/null`, timed as whole processes.
//      Both installs are checked to leave the same entries (a salabel dump after each, compared
//      entry by entry, and the count `ip xfrm policy show` prints); the SPD is flushed between runs.
//   2. the SA codec without a kernel: NEWSA encoding of a labeled AEAD SA (XfrmRequest.addSA to
//      bytes) and decoding back into the model (XfrmMessage(decoding:) + securityAssociation()),
//      in messages per second.

import Foundation
import IPsecModel
import NetlinkProtocol
import NetlinkSocket
import SecurityContexts
import XfrmManager
import XfrmNetlink
import XfrmWire

func now() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

func seconds(since t: UInt64) -> Double { Double(now() - t) / 1e9 }

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

// MARK: - The namespace and the batch file, deleted on every exit path (also on SIGINT/SIGTERM)

let namespace = "salabel-bench-\(getpid())"
let namespacePath = "/run/netns/\(namespace)"
let batchPath = FileManager.default.temporaryDirectory.appendingPathComponent("\(namespace).batch").path
nonisolated(unsafe) var namespaceCreated = false
// What the signal handler unmounts and unlinks (the two steps of `ip netns del`), built beforehand:
// a handler may only make async-signal-safe calls.
nonisolated(unsafe) let namespacePathC: UnsafeMutablePointer<CChar> = strdup(namespacePath)
nonisolated(unsafe) let batchPathC: UnsafeMutablePointer<CChar> = strdup(batchPath)

@MainActor func deleteNamespace() {
    _ = unlink(batchPath)
    guard namespaceCreated else { return }
    namespaceCreated = false
    if run(ip, ["netns", "del", namespace]).status != 0 {
        _ = umount2(namespacePath, Int32(MNT_DETACH))
        _ = unlink(namespacePath)
    }
}

@MainActor func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("salabel-xfrm-bench: \(message)\n".utf8))
    deleteNamespace()
    exit(2)
}

for sig in [SIGINT, SIGTERM, SIGHUP] {
    signal(sig) { s in
        _ = umount2(namespacePathC, Int32(MNT_DETACH))
        _ = unlink(namespacePathC)
        _ = unlink(batchPathC)
        _exit(128 + s)
    }
}

/// Runs a program to its end; its standard output to /dev/null unless `capture`.
@MainActor func run(_ path: String, _ args: [String], capture: Bool = false) -> (status: Int32, output: Data, error: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = args
    let out = Pipe(), err = Pipe()
    p.standardOutput = capture ? out : FileHandle.nullDevice
    p.standardError = err
    do { try p.run() } catch { return (-1, Data(), "\(error)") }
    let data = capture ? out.fileHandleForReading.readDataToEndOfFile() : Data()
    let errText = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    return (p.terminationStatus, data, errText)
}

/// Times a whole process, standard output and error to /dev/null (what the shell's `> /dev/null`
/// does), from posix_spawn to waitpid. Not Foundation's Process: on Linux its waitUntilExit polls
/// the run loop every 50 ms, which rounds every time up to a multiple of 50 ms.
@MainActor func timed(_ path: String, _ args: [String]) -> Double {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    let argv: [UnsafeMutablePointer<CChar>?] = ([path] + args).map { strdup($0) } + [nil]
    defer { for a in argv { free(a) } }
    var pid: pid_t = 0
    let t = now()
    let rc = posix_spawn(&pid, path, &actions, nil, argv, environ)
    guard rc == 0 else { fail("cannot run \(path): \(String(cString: strerror(rc)))") }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 {
        guard errno == EINTR else { fail("waitpid: \(String(cString: strerror(errno)))") }
    }
    let elapsed = seconds(since: t)
    // WIFEXITED and WEXITSTATUS, which Swift does not import (macros).
    guard status & 0x7F == 0, (status >> 8) & 0xFF == 0 else {
        fail("`\(path) \(args.joined(separator: " "))` failed (wait status \(status))")
    }
    return elapsed
}

// MARK: - Arguments and preconditions

var runs = 5, count = 10_000, messageCount = 100_000, jsonOutput = false, profileOnly = false
var argv = CommandLine.arguments.dropFirst().makeIterator()
let usage = "usage: salabel-xfrm-bench [--runs N] [--count N] [--messages N] [--json] [--profile]"
while let a = argv.next() {
    func number() -> Int {
        guard let n = argv.next().flatMap({ Int($0) }), n > 0 else { fail("\(a) needs a positive number; \(usage)") }
        return n
    }
    switch a {
    case "--runs": runs = number()
    case "--count": count = number()
    case "--messages": messageCount = number()
    case "--json": jsonOutput = true
    // Only salabel's install, dump and flush, --runs times, no checks and no iproute2: a loop to run under perf.
    case "--profile": profileOnly = true
    case "-h", "--help": print(usage); exit(0)
    default: fail("unknown argument \(a); \(usage)")
    }
}
guard count <= 1 << 23 else { fail("--count is at most \(1 << 23) (distinct addresses in 10.0.0.0/9)") }

guard geteuid() == 0 else {
    fail("needs root (it creates a network namespace and changes its SPD); run it with sudo")
}
let ip: String = {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
    for dir in path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin", "/usr/bin", "/bin"] {
        let candidate = dir + "/ip"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    fail("`ip` (iproute2) is missing: install iproute2, or put `ip` on PATH")
}()
let ipVersion = String(decoding: run(ip, ["-V"], capture: true).output, as: UTF8.self)
    .trimmingCharacters(in: .whitespacesAndNewlines)

// MARK: - Inputs

let label = "system_u:object_r:ipsec_spd_t:s0"
guard let context = SecurityContext(label) else { fail("cannot parse \(label)") }

/// 10.x.y.z for a 23-bit number: sources in 10.0.0.0/9, destinations in 10.128.0.0/9.
@MainActor func address(_ n: Int, high: Bool) -> (IPAddress, String) {
    let v = (high ? 0x80_0000 : 0) | (n & 0x7F_FFFF)
    let bytes: [UInt8] = [10, UInt8(v >> 16), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
    return (IPAddress(bytes: bytes)!, bytes.map(String.init).joined(separator: "."))
}

let anyV4 = IPAddress.any(.inet)
var policies: [PolicyEntry] = []
var batchLines: [String] = []
policies.reserveCapacity(count)
batchLines.reserveCapacity(count)
for i in 0..<count {
    let (src, srcText) = address(i + 1, high: false)
    let (dst, dstText) = address(count - i, high: true)
    let dport = UInt16(1024 + i % 60_000)
    let selector = TrafficSelector(
        source: IPPrefix(host: src), destination: IPPrefix(host: dst), upperProtocol: 6,
        destinationPort: dport, destinationPortMask: 0xFFFF)
    policies.append(
        PolicyEntry(
            selector: selector, direction: .out,
            templates: [PolicyTemplate(source: anyV4, destination: anyV4, proto: .esp, mode: .transport)],
            securityContext: context))
    batchLines.append(
        "xfrm policy add src \(srcText)/32 dst \(dstText)/32 proto tcp dport \(dport) dir out"
            + " ctx \(label) tmpl proto esp mode transport")
}
let operations = policies.map { XfrmOperation.addPolicy($0) }
guard FileManager.default.createFile(atPath: batchPath, contents: Data((batchLines.joined(separator: "\n") + "\n").utf8)) else {
    fail("cannot write \(batchPath)")
}

// MARK: 1. SPD install and dump

let created = run(ip, ["netns", "add", namespace])
guard created.status == 0 else { fail("`ip netns add \(namespace)` failed: \(created.error.trimmingCharacters(in: .whitespacesAndNewlines))") }
namespaceCreated = true

@MainActor func openKernel() -> NetlinkXfrmKernel {
    do { return try NetlinkXfrmKernel(netns: namespace) } catch { fail("cannot open NETLINK_XFRM in \(namespace): \(error)") }
}

/// What identifies an installed entry, independent of the index the kernel assigned.
struct EntryKey: Hashable {
    var selector: TrafficSelector
    var direction: PolicyDirection
    var action: PolicyAction
    var priority: UInt32
    var templates: [PolicyTemplate]
    init(_ p: PolicyEntry) {
        selector = p.selector
        direction = p.direction
        action = p.action
        priority = p.priority
        templates = p.templates
    }
}
let expectedKeys = Set(policies.map(EntryKey.init))
guard expectedKeys.count == count else { fail("the generated selectors are not distinct") }

/// The SPD through salabel's dump (untimed), checked against what both tools were asked to install.
@MainActor func checkInstalled(by tool: String) -> [PolicyEntry] {
    let dumped: [PolicyEntry]
    do { dumped = try openKernel().allPolicies() } catch { fail("dump after the \(tool) install failed: \(error)") }
    guard dumped.count == count else { fail("after the \(tool) install the SPD has \(dumped.count) entries, expected \(count)") }
    let keys = Set(dumped.map(EntryKey.init))
    guard keys == expectedKeys else {
        let missing = expectedKeys.subtracting(keys).first.map { "\($0.selector)" } ?? "none"
        fail("after the \(tool) install the SPD differs from the requested entries (first missing: \(missing))")
    }
    return dumped
}

@MainActor func flush() {
    do {
        let kernel = openKernel()
        _ = try kernel.perform(.flushPolicy(policyType: 0))
        let left = try kernel.allPolicies().count
        guard left == 0 else { fail("\(left) entries left after a flush") }
    } catch { fail("flush failed: \(error)") }
}

@MainActor func salabelInstall() -> Double {
    let t = now()
    let kernel = openKernel()
    let results = kernel.performBatch(operations[...])
    let elapsed = seconds(since: t)
    if let i = results.firstIndex(where: { if case .failure = $0 { true } else { false } }), case .failure(let e) = results[i] {
        fail("salabel: policy \(i) (\(batchLines[i])) refused: \(e)")
    }
    return elapsed
}

var dumpSink = 0
@MainActor func salabelDump() -> Double {
    let t = now()
    let list: [PolicyEntry]
    do { list = try openKernel().allPolicies() } catch { fail("salabel dump failed: \(error)") }
    let elapsed = seconds(since: t)
    guard list.count == count else { fail("salabel dump returned \(list.count) entries, expected \(count)") }
    dumpSink &+= list.count
    return elapsed
}

/// The parts of salabel's figures: the requests' encoding alone (XfrmOperation to netlink payloads,
/// what performBatch does before it sends), the dump with no decoding (NetlinkConnection.dump, raw
/// messages), and the decoding of those messages into the model (XfrmMessage + policyEntry()).
@MainActor func salabelEncodeOnly() -> Double {
    let t = now()
    var n = 0
    do {
        for op in operations {
            let m = try NetlinkXfrmKernel.request(for: op)
            n &+= try m.payload().count
        }
    } catch { fail("encode: \(error)") }
    let elapsed = seconds(since: t)
    dumpSink &+= n
    return elapsed
}

@MainActor func rawDump() -> (seconds: Double, messages: [NetlinkMessage]) {
    let t = now()
    let replies: [NetlinkMessage]
    do {
        let connection = try NetlinkConnection(protocol: .xfrm, namespace: .named(namespace))
        replies = try connection.dump(type: XfrmMessageType.getPolicy.netlink, operation: "XFRM_MSG_GETPOLICY")
    } catch { fail("raw dump: \(error)") }
    return (seconds(since: t), replies)
}

@MainActor func decodeOnly(_ replies: [NetlinkMessage]) -> Double {
    let t = now()
    var n = 0
    do {
        for r in replies where try XfrmMessage(decoding: r).policyEntry() != nil { n += 1 }
    } catch { fail("decode: \(error)") }
    let elapsed = seconds(since: t)
    guard n == count else { fail("decoded \(n) entries, expected \(count)") }
    return elapsed
}

@MainActor func ipInstall() -> Double { timed(ip, ["-n", namespace, "-batch", batchPath]) }
@MainActor func ipDump() -> Double { timed(ip, ["-n", namespace, "xfrm", "policy", "show"]) }

if profileOnly {
    var install: [Double] = [], dump: [Double] = []
    flush()
    for _ in 0..<runs {
        install.append(salabelInstall())
        dump.append(salabelDump())
        flush()
    }
    deleteNamespace()
    print(
        String(
            format: "salabel only (--profile), %d policies, medians of %d runs: install %.3f s, dump %.3f s",
            count, runs, median(install), median(dump)))
    exit(0)
}

// Warm-up (untimed): the kernel grows its SPD hash tables on the first fill; both tools' installs are
// checked once here, entry by entry, and iproute2's own dump is counted.
flush()
_ = salabelInstall()
let salabelEntries = checkInstalled(by: "salabel")
let contextStored = salabelEntries.contains { $0.securityContext != nil }
let ipShown = run(ip, ["-n", namespace, "xfrm", "policy", "show"], capture: true)
let ipShownCount = String(decoding: ipShown.output, as: UTF8.self).split(separator: "\n").filter { $0.hasPrefix("src ") }.count
guard ipShown.status == 0, ipShownCount == count else {
    fail("`ip xfrm policy show` lists \(ipShownCount) entries after the salabel install, expected \(count)")
}
flush()
_ = ipInstall()
let ipEntries = checkInstalled(by: "iproute2")
// A sample compared field by field, by selector (the kernel's indexes differ between the runs).
let sampleStride = max(1, count / 16)
let ipBySelector = Dictionary(ipEntries.map { ($0.selector, $0) }, uniquingKeysWith: { a, _ in a })
for p in stride(from: 0, to: salabelEntries.count, by: sampleStride).map({ salabelEntries[$0] }) {
    guard let q = ipBySelector[p.selector], EntryKey(q) == EntryKey(p), q.securityContext == p.securityContext, q.mark == p.mark,
        q.lifetime == p.lifetime, q.flags == p.flags, q.policyType == p.policyType
    else {
        fail("the entry for \(p.selector) differs between the salabel and the iproute2 install")
    }
}
flush()

var sInstall: [Double] = [], sDump: [Double] = [], iInstall: [Double] = [], iDump: [Double] = []
var sEncode: [Double] = [], sRawDump: [Double] = [], sDecode: [Double] = []
for _ in 0..<runs {
    sInstall.append(salabelInstall())
    sDump.append(salabelDump())
    sEncode.append(salabelEncodeOnly())
    let raw = rawDump()
    sRawDump.append(raw.seconds)
    sDecode.append(decodeOnly(raw.messages))
    flush()
    iInstall.append(ipInstall())
    iDump.append(ipDump())
    flush()
}
let sTotal = zip(sInstall, sDump).map(+), iTotal = zip(iInstall, iDump).map(+)
deleteNamespace()

// MARK: 2. SA codec (no kernel)

let aeadKey = KeyMaterial((0..<20).map { UInt8($0 &* 7 &+ 1) })  // AES-128 key + 4-byte salt
let sampleCount = 1024
var sas: [SecurityAssociation] = []
for i in 0..<sampleCount {
    let (src, _) = address(i + 1, high: false), (dst, _) = address(i + 1, high: true)
    sas.append(
        SecurityAssociation(
            source: src, destination: dst, spi: 0x1000 + UInt32(i), proto: .esp, mode: .transport, reqid: UInt32(i),
            replayWindow: 32,
            algorithms: SAAlgorithms(aead: XfrmAlgorithm(name: "rfc4106(gcm(aes))", key: aeadKey, truncationBits: 128)),
            securityContext: context))
}
var wire: [NetlinkMessage] = []
do {
    for sa in sas {
        let bytes = try XfrmRequest.addSA(sa).encoded()
        wire.append(try NetlinkMessage.split(bytes)[0])
    }
    // Round trip: what is decoded is what was encoded.
    for (m, sa) in zip(wire, sas) {
        guard try XfrmMessage(decoding: m).securityAssociation() == sa else { fail("the SA codec does not round-trip \(sa.identifier)") }
    }
} catch { fail("SA codec: \(error)") }
let saMessageBytes = wire[0].header.length

var encodeRates: [Double] = [], decodeRates: [Double] = []
var codecSink = 0
for _ in 0..<runs {
    var t = now()
    do {
        for k in 0..<messageCount { codecSink &+= try XfrmRequest.addSA(sas[k & (sampleCount - 1)]).encoded().count }
    } catch { fail("SA encode: \(error)") }
    encodeRates.append(Double(messageCount) / seconds(since: t))
    t = now()
    do {
        for k in 0..<messageCount {
            if let sa = try XfrmMessage(decoding: wire[k & (sampleCount - 1)]).securityAssociation() { codecSink &+= Int(sa.spi) }
        }
    } catch { fail("SA decode: \(error)") }
    decodeRates.append(Double(messageCount) / seconds(since: t))
}

// MARK: Report

let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
let m = (
    sInstall: median(sInstall), sDump: median(sDump), sTotal: median(sTotal),
    iInstall: median(iInstall), iDump: median(iDump), iTotal: median(iTotal)
)
let speedup = (install: m.iInstall / m.sInstall, dump: m.iDump / m.sDump, total: m.iTotal / m.sTotal)
let contextNote = contextStored ? "stored by this kernel (dumped back)" : "accepted, not stored by this kernel (no SELinux LSM: dumps carry no ctx)"

let kernelRelease: String = {
    var u = utsname()
    uname(&u)
    return withUnsafeBytes(of: &u.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
}()

if jsonOutput {
    let obj: [String: Any] = [
        "runs": runs, "count": count, "messages": messageCount, "iproute2": ipVersion, "os": ProcessInfo.processInfo.operatingSystemVersionString,
        "kernel": kernelRelease,
        "loadavg_at_end": load, "security_context": label, "security_context_stored": contextStored,
        "spd_seconds": [
            "salabel": [
                "install": m.sInstall, "dump": m.sDump, "install_plus_dump": m.sTotal,
                "install_runs": sInstall, "dump_runs": sDump,
            ],
            "iproute2": [
                "install": m.iInstall, "dump": m.iDump, "install_plus_dump": m.iTotal,
                "install_runs": iInstall, "dump_runs": iDump,
            ],
            "salabel_parts": [
                "install_encode_only": median(sEncode), "dump_without_decoding": median(sRawDump),
                "dump_decode_only": median(sDecode),
            ],
            "speedup_iproute2_over_salabel": ["install": speedup.install, "dump": speedup.dump, "install_plus_dump": speedup.total],
        ],
        "sa_codec_messages_per_second": ["encode": median(encodeRates), "decode": median(decodeRates), "message_bytes": saMessageBytes],
    ]
    let data = try! JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])
    print(String(data: data, encoding: .utf8)!)
} else {
    print("salabel-xfrm-bench in netns \(namespace), Linux \(kernelRelease), \(ipVersion); medians of \(runs) alternating runs, load average \(load)")
    print("SPD: \(count) policies (distinct /32 selectors, proto tcp, dport, dir out, tmpl esp transport, ctx \(label): \(contextNote))")
    print(
        String(
            format: "  install          salabel %.3f s   ip -batch %.3f s          salabel %.2f× faster",
            m.sInstall, m.iInstall, speedup.install))
    print(
        String(
            format: "  dump             salabel %.3f s   ip xfrm policy show %.3f s   salabel %.2f× faster",
            m.sDump, m.iDump, speedup.dump))
    print(
        String(
            format: "  install + dump   salabel %.3f s   iproute2 %.3f s           salabel %.2f× faster",
            m.sTotal, m.iTotal, speedup.total) + "   (target ≥ 2×: \(speedup.total >= 2 ? "met" : "NOT met"))")
    print(
        String(
            format: "  salabel's parts  install: encoding %.3f s; dump: kernel + transport %.3f s, decoding %.3f s",
            median(sEncode), median(sRawDump), median(sDecode)))
    print(String(format: "SA codec (labeled AEAD NEWSA, %u bytes, %d messages per run)", saMessageBytes, messageCount))
    print(String(format: "  encode           %.0f messages/s (%.2f µs each)", median(encodeRates), 1e6 / median(encodeRates)))
    print(String(format: "  decode           %.0f messages/s (%.2f µs each)", median(decodeRates), 1e6 / median(decodeRates)))
}
if dumpSink == 42 && codecSink == 42 { print("") }
