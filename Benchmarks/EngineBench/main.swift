// salabel-bench: the decision engine side by side with libsepol, in one process, on the flattened
// Debian reference policy. Runs alternate (salabel, libsepol, salabel, …) so that load on this
// shared machine hits both alike; every figure is the median of the runs, and the ratios are what
// to compare across machines.
//
//   swift run -c release salabel-bench [--runs N] [--queries N] [--json] [--binary-read-only]
//
// Measures:
//   1. policy load: salabel parsing + compiling refpolicy.conf, against checkpolicy compiling the
//      same file (a separate process, timed from here) and libsepol reading the binary policy;
//      then the binary itself: salabel's reader (file read + PolicyDB(binary:)) against libsepol's
//      policydb_init + policydb_read, with the malloc heap each database holds (glibc mallinfo2);
//   2. uncached access-vector computation per query (SIDs and class resolved beforehand), against
//      libsepol's sepol_compute_av on the same queries;
//   3. cached AVC lookup (a hit), salabel's AccessVectorCache.
// --binary-read-only runs 1b alone (the reader against policydb_read), for work on the reader.

import DecisionEngine
import Foundation
import SELinuxPolicy
import SecurityContexts
import SepolOracle

func now() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    if s.isEmpty { return .nan }
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("salabel-bench: \(message)\n".utf8))
    exit(2)
}

func shell(_ path: String, _ args: [String]) -> Int32 {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = args
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    do { try p.run() } catch { return -1 }
    p.waitUntilExit()
    return p.terminationStatus
}

struct SplitMix {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

// MARK: - Arguments

var runs = 7, queryCount = 100_000, jsonOutput = false, binaryReadOnly = false
var argv = CommandLine.arguments.dropFirst().makeIterator()
while let a = argv.next() {
    switch a {
    case "--runs": runs = Int(argv.next() ?? "") ?? runs
    case "--queries": queryCount = Int(argv.next() ?? "") ?? queryCount
    case "--json": jsonOutput = true
    case "--binary-read-only": binaryReadOnly = true
    default: fail("unknown argument \(a); usage: salabel-bench [--runs N] [--queries N] [--json] [--binary-read-only]")
    }
}

// MARK: - Inputs

let binaryPolicy = "/etc/selinux/default/policy/policy.33"
guard FileManager.default.fileExists(atPath: binaryPolicy) else { fail("\(binaryPolicy) is missing (scripts/deps test)") }
let confPath = FileManager.default.temporaryDirectory.appendingPathComponent("salabel-bench-refpolicy.conf").path
guard shell("/usr/bin/checkpolicy", ["-b", "-F", "-M", "-o", confPath, binaryPolicy]) == 0 else { fail("checkpolicy -b -F failed") }
guard let confData = FileManager.default.contents(atPath: confPath) else { fail("cannot read \(confPath)") }
let confBytes = [UInt8](confData)

var errbuf = [CChar](repeating: 0, count: 512)
guard let oracle = sepol_oracle_open(binaryPolicy, &errbuf, errbuf.count) else { fail("libsepol: \(String(cString: errbuf))") }

// MARK: 1. Policy load

var ours: [Double] = [], checkpolicy: [Double] = [], sepolRead: [Double] = []
var db = PolicyDB()
for _ in 0..<(binaryReadOnly ? 0 : max(3, runs / 2)) {
    var t = now()
    do { db = try PolicyCompiler.compile(bytes: confBytes, file: confPath) } catch { fail("salabel cannot load the policy: \(error)") }
    ours.append(Double(now() - t) / 1e9)
    t = now()
    guard shell("/usr/bin/checkpolicy", ["-M", "-c", "33", "-o", "/dev/null", confPath]) == 0 else { fail("checkpolicy failed") }
    checkpolicy.append(Double(now() - t) / 1e9)
    t = now()
    guard let o = sepol_oracle_open(binaryPolicy, &errbuf, errbuf.count) else { fail("libsepol reload failed") }
    sepolRead.append(Double(now() - t) / 1e9)
    sepol_oracle_close(o)
}
let loadOurs = median(ours), loadCheckpolicy = median(checkpolicy), loadSepol = median(sepolRead)

// MARK: 1b. Binary policy load: salabel's reader against libsepol's policydb_read

/// The file read and parsed into a database, as `--policy policy.33` does; the file's bytes are
/// released on return, so what stays allocated is the database.
func readBinaryPolicy() -> PolicyDB {
    guard let data = FileManager.default.contents(atPath: binaryPolicy) else { fail("cannot read \(binaryPolicy)") }
    do { return try PolicyDB(binary: [UInt8](data)) } catch { fail("salabel cannot read \(binaryPolicy): \(error)") }
}
var binaryOurs: [Double] = [], binarySepol: [Double] = []
var heapOurs = 0, heapSepol = 0
for _ in 0..<runs {
    let before = Int(sepol_oracle_heap_in_use())
    let t = now()
    let read = readBinaryPolicy()
    binaryOurs.append(Double(now() - t) / 1e9)
    heapOurs = Int(sepol_oracle_heap_in_use()) - before
    withExtendedLifetime(read) {}
    var ns: UInt64 = 0
    var heap = 0
    guard sepol_oracle_bench_read(binaryPolicy, &ns, &heap) == 0 else { fail("libsepol cannot read \(binaryPolicy)") }
    binarySepol.append(Double(ns) / 1e9)
    heapSepol = heap
}
let binaryLoadOurs = median(binaryOurs), binaryLoadSepol = median(binarySepol)
let binaryReadLine = String(
    format: "binary read        salabel %.3f s   libsepol policydb_read %.3f s   ratio %.2f   heap held: salabel %.1f MB, libsepol %.1f MB",
    binaryLoadOurs, binaryLoadSepol, binaryLoadOurs / binaryLoadSepol, Double(heapOurs) / 1e6, Double(heapSepol) / 1e6)
if binaryReadOnly {
    print("salabel-bench on \(binaryPolicy), medians of \(runs) runs")
    print(binaryReadLine)
    exit(0)
}

// MARK: 2. Uncached access vectors

let server: SecurityServer
do { server = try SecurityServer(policy: db) } catch { fail("\(error)") }
// Subjects: every (user, role, type) the policy authorizes, at s0; targets: every type as an object.
var subjects: [String] = []
for user in db.users {
    for r in user.roles.members where r != 0 {
        for t in db.roles[r].types.members { subjects.append("\(user.name):\(db.roles[r].name):\(db.types[t].name):s0") }
    }
}
let objects = db.types.filter { !$0.isAttribute }.map { "system_u:object_r:\($0.name):s0" }
let classNames = db.classes.map(\.name)
var rng = SplitMix(state: 42)
struct Query { var s: SID; var t: SID; var c: Int; var os: UInt32; var ot: UInt32; var oc: UInt16 }
var queries: [Query] = []
queries.reserveCapacity(queryCount)
var sepolSIDs: [String: UInt32] = [:]
@MainActor func sepolSID(_ c: String) -> UInt32 {
    if let s = sepolSIDs[c] { return s }
    var sid: UInt32 = 0
    guard sepol_oracle_context_to_sid(oracle, c, &sid) == 0 else { fail("libsepol refuses \(c)") }
    sepolSIDs[c] = sid
    return sid
}
while queries.count < queryCount {
    let s = subjects[Int(rng.next() % UInt64(subjects.count))]
    let t = rng.next() % 2 == 0 ? subjects[Int(rng.next() % UInt64(subjects.count))] : objects[Int(rng.next() % UInt64(objects.count))]
    let cname = classNames[Int(rng.next() % UInt64(classNames.count))]
    var oc: UInt16 = 0
    guard sepol_oracle_class_value(oracle, cname, &oc) == 0 else { fail("class \(cname)") }
    do {
        queries.append(
            Query(
                s: try server.sid(forText: s), t: try server.sid(forText: t), c: server.classValue(cname)!,
                os: sepolSID(s), ot: sepolSID(t), oc: oc))
    } catch { fail("\(error)") }
}
var avOurs: [Double] = [], avSepol: [Double] = []
var sink: UInt32 = 0
for _ in 0..<runs {
    var t = now()
    for q in queries { sink &+= server.computeAV(q.s, q.t, classValue: q.c).allowed }
    avOurs.append(Double(now() - t) / Double(queries.count))
    t = now()
    var a: UInt32 = 0, aa: UInt32 = 0, ad: UInt32 = 0
    for q in queries {
        _ = sepol_oracle_compute_av_sids(oracle, q.os, q.ot, q.oc, &a, &aa, &ad)
        sink &+= a
    }
    avSepol.append(Double(now() - t) / Double(queries.count))
}
let avOursNs = median(avOurs), avSepolNs = median(avSepol)

// MARK: 3. Cached AVC lookups

let cache = AccessVectorCache(server: server, capacity: 8192)
let working = Array(queries.prefix(4096))
for q in working { _ = cache.decision(q.s, q.t, classValue: q.c) }
var avcNs: [Double] = []
let rounds = 50
for _ in 0..<runs {
    let t = now()
    for _ in 0..<rounds {
        for q in working { sink &+= cache.lookup(q.s, q.t, classValue: q.c)?.allowed ?? 0 }
    }
    avcNs.append(Double(now() - t) / Double(rounds * working.count))
}
let avcHitNs = median(avcNs)
let stats = cache.statistics

// MARK: Report

if jsonOutput {
    let obj: [String: Any] = [
        "policy": binaryPolicy, "runs": runs, "queries": queryCount,
        "load_seconds": ["salabel": loadOurs, "checkpolicy": loadCheckpolicy, "libsepol_binary_read": loadSepol],
        "binary_read_seconds": [
            "salabel": binaryLoadOurs, "libsepol_policydb_read": binaryLoadSepol, "ratio_salabel_over_libsepol": binaryLoadOurs / binaryLoadSepol,
        ],
        "binary_read_heap_bytes": ["salabel": heapOurs, "libsepol_policydb_read": heapSepol],
        "uncached_av_ns": ["salabel": avOursNs, "libsepol": avSepolNs, "ratio_salabel_over_libsepol": avOursNs / avSepolNs],
        "avc_hit_ns": avcHitNs, "avc_hit_rate": Double(stats.hits) / Double(max(stats.lookups, 1)),
    ]
    let data = try! JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])
    print(String(data: data, encoding: .utf8)!)
} else {
    print("salabel-bench on \(binaryPolicy) (\(db.typeCount) types, \(db.classes.count) classes), medians of \(runs) runs")
    print(
        String(
            format: "policy load        salabel %.3f s   checkpolicy (same .conf) %.3f s   ratio %.2f   (libsepol reading the binary: %.3f s)",
            loadOurs, loadCheckpolicy, loadOurs / loadCheckpolicy, loadSepol))
    print(binaryReadLine)
    print(
        String(
            format: "uncached AV/query  salabel %.0f ns   libsepol %.0f ns   ratio %.2f   (%d random queries)",
            avOursNs, avSepolNs, avOursNs / avSepolNs, queryCount))
    print(String(format: "cached AVC lookup  salabel %.1f ns (hit rate %.3f)", avcHitNs, Double(stats.hits) / Double(max(stats.lookups, 1))))
}
if sink == 42 { print("") }
sepol_oracle_close(oracle)
