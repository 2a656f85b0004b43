@testable import DecisionEngine
import Foundation
import Testing
import TestSupport

/// The reader on hostile bytes (Specs/engine/binary-policy.md §4): every damaged file is refused
/// with its offset and section, never read past its end, never allocated for from a count that the
/// bytes left cannot hold.
@Suite(.serialized)
struct BinaryPolicyHostileTests {
    /// The tiny policy of §7, with `dyntransition` (the reader requires it, §4.3) and a bounded type.
    static let tiny = """
        class process
        class file
        sid kernel
        sid unlabeled
        common filec { read }
        class process { transition dyntransition }
        class file inherits filec { write }
        type kernel_t alias k_t;
        attribute doms;
        type file_t, doms;
        type child_t;
        typeattribute kernel_t doms;
        typebounds kernel_t child_t;
        bool b true;
        role system_r;
        role system_r types { kernel_t child_t };
        allow doms file_t:file { read write };
        dontaudit kernel_t file_t:file write;
        type_transition kernel_t file_t:file kernel_t;
        if (b) { allow kernel_t self:process transition; } else { auditallow kernel_t file_t:file read; }
        user system_u roles system_r;
        constrain file write ( t1 == doms );
        sid kernel system_u:system_r:kernel_t
        sid unlabeled system_u:object_r:file_t
        fs_use_xattr ext4 system_u:object_r:file_t;
        genfscon proc / system_u:object_r:file_t
        portcon tcp 80 system_u:object_r:file_t
        netifcon lo system_u:object_r:file_t system_u:object_r:file_t
        nodecon 127.0.0.1 255.255.255.255 system_u:object_r:file_t
        """

    static let binaries: [Int: [UInt8]] = {
        var out: [Int: [UInt8]] = [:]
        for v in [15, 16, 19, 20, 23, 24, 25, 31, 33] { out[v] = try? BinaryFixtures.compile(text: tiny, version: v, mls: false) }
        return out
    }()

    /// An MLS fixture (constraints, levels, users' ranges) at 19 and 33.
    static let mlsBinaries: [Int: [UInt8]] = {
        var out: [Int: [UInt8]] = [:]
        let conf = BinaryFixtures.policiesDirectory.appendingPathComponent("mls_constraints.conf")
        for v in [19, 33] { out[v] = try? BinaryFixtures.compile(conf: conf, version: v, mls: true) }
        return out
    }()

    static func tiny(_ version: Int = 33) throws -> [UInt8] { try #require(binaries[version], "checkpolicy -c \(version) tiny") }

    static func refusal(_ bytes: [UInt8]) -> BinaryPolicyError? {
        do {
            _ = try PolicyDB(binary: bytes)
            return nil
        } catch { return error }
    }

    static func setWord(_ bytes: inout [UInt8], at offset: Int, _ value: UInt32) {
        for i in 0..<4 { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> UInt32(8 * i)) }
    }

    static func word(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[offset + $1]) << UInt32(8 * $1) }
    }

    /// Where a name's bytes occur (once) in the file.
    static func find(_ name: String, in bytes: [UInt8]) throws -> Int {
        let needle = Array(name.utf8)
        let hits = (0...(bytes.count - needle.count)).filter { Array(bytes[$0..<$0 + needle.count]) == needle }
        return try #require(hits.first, "\(name) not in the file")
    }

    @Test func theTinyPolicyReadsAtEveryVersion() throws {
        for (v, bytes) in Self.binaries.sorted(by: { $0.key < $1.key }) {
            let db = try PolicyDB(binary: bytes)
            #expect(db.classes.map(\.name) == ["process", "file"], "v\(v)")
            #expect(db.types.filter { !$0.isAttribute }.map(\.name).sorted() == ["child_t", "file_t", "kernel_t"], "v\(v)")
        }
        #expect(Self.binaries.count == 9)
    }

    /// Every proper prefix of the file is refused, with an offset inside the prefix.
    @Test func everyTruncationIsRefused() throws {
        #expect(Self.mlsBinaries.count == 2)
        for (v, bytes) in Self.binaries.map({ ($0.key, $0.value) }) + Self.mlsBinaries.map({ ($0.key + 100, $0.value) }) {
            for length in 0..<bytes.count {
                guard let e = Self.refusal(Array(bytes.prefix(length))) else {
                    Issue.record("v\(v): a prefix of \(length) bytes was read")
                    continue
                }
                #expect(e.offset <= length, "v\(v) prefix \(length): \(e)")
            }
        }
    }

    /// Any word of the file overwritten with a huge or odd value is read or refused, never a crash
    /// or an allocation that the bytes cannot back.
    @Test func everyWordOverwrittenIsHandled() throws {
        for (v, mls) in [(19, false), (33, false), (19, true), (33, true)] {
            let bytes = try #require(mls ? Self.mlsBinaries[v] : Self.binaries[v])
            for value: UInt32 in mls ? [0xFFFF_FFFF, 0x0001_0000] : [0xFFFF_FFFF, 0x0001_0000, 0, 1] {
                for offset in 0...(bytes.count - 4) {
                    var damaged = bytes
                    Self.setWord(&damaged, at: offset, value)
                    _ = Self.refusal(damaged)
                }
            }
        }
    }

    @Test func wrongMagicAndTargetAreRefusedByName() throws {
        var bytes = try Self.tiny()
        bytes[0] ^= 2
        let e = try #require(Self.refusal(bytes))
        #expect(e.offset == 0 && e.section == .header && e.kind == .badMagic(found: 0xf97c_ff8e))
        #expect(e.description.contains("not an SELinux policy"))
        bytes = try Self.tiny()
        Self.setWord(&bytes, at: 0, 0xf97c_ff8d)
        #expect(Self.refusal(bytes)?.kind == .policyModule)
        bytes = try Self.tiny()
        bytes.replaceSubrange(8..<16, with: Array("XenFlask".utf8))
        let xen = try #require(Self.refusal(bytes))
        #expect(xen.offset == 8 && xen.description.contains("a Xen policy"))
        #expect(Self.refusal([0x8c, 0xff, 0x7c])?.kind == .truncated(needed: 4, available: 3))
        #expect(Self.refusal([])?.kind == .truncated(needed: 4, available: 0))
    }

    @Test func newerVersionsAreRefusedByName() throws {
        var bytes = try Self.tiny()
        for (version, text) in [
            (34, "policy version 34 (extended permissions in conditional policy, libsepol 3.8) is newer than salabel reads (15–33)"),
            (35, "policy version 35 (neveraudit types, libsepol 3.9) is newer than salabel reads (15–33)"),
            (36, "unknown policy version 36"), (14, "unknown policy version 14"),
        ] {
            Self.setWord(&bytes, at: 16, UInt32(version))
            let e = try #require(Self.refusal(bytes))
            #expect(e.kind == .unsupportedVersion(found: UInt32(version)) && e.offset == 16 && e.section == .header)
            #expect(e.description.contains(text), "\(e)")
        }
    }

    @Test func headerRules() throws {
        var bytes = try Self.tiny(16)
        Self.setWord(&bytes, at: 20, 1)
        #expect(Self.refusal(bytes)?.kind == .badConfig(found: 1))
        bytes = try Self.tiny()
        Self.setWord(&bytes, at: 20, 6)
        #expect(Self.refusal(bytes)?.kind == .badConfig(found: 6))
        bytes = try Self.tiny()
        Self.setWord(&bytes, at: 24, 7)
        #expect(Self.refusal(bytes)?.kind == .badTableCounts(symbols: 7, ocontexts: 9))
    }

    @Test func trailingBytesAreRefused() throws {
        let bytes = try Self.tiny()
        let e = try #require(Self.refusal(bytes + [0]))
        #expect(e.kind == .trailingBytes(count: 1) && e.offset == bytes.count)
        #expect(
            e.description == "binary policy: type-attribute map at offset \(bytes.count) (0x\(String(bytes.count, radix: 16))): 1 bytes after the last section")
    }

    /// A count of 2³² − 1 at the head of each counted section is refused before anything is
    /// allocated for it.
    @Test func hugeCountsAreRefused() throws {
        let bytes = try Self.tiny()
        let starts = try BinaryPolicyReader.sectionStarts(bytes)
        for (section, delta) in [
            (BinaryPolicySection.commons, 4), (.classes, 4), (.roles, 4), (.types, 4), (.users, 4), (.booleans, 4), (.avtab, 0),
            (.conditionals, 0), (.roleTransitions, 0), (.roleAllows, 0), (.filenameTransitions, 0), (.initialSIDs, 0), (.portContexts, 0),
            (.genfs, 0), (.rangeTransitions, 0),
        ] {
            let at = try #require(starts[section], "\(section)") + delta
            var damaged = bytes
            Self.setWord(&damaged, at: at, 0xFFFF_FFFF)
            let e = try #require(Self.refusal(damaged), "\(section)")
            guard case .countTooLarge(count: 0xFFFF_FFFF, _) = e.kind else {
                Issue.record("\(section): \(e)")
                continue
            }
            #expect(e.offset == at && e.section == section, "\(e)")
        }
        // The value space of types is bounded by the type-attribute map's bytes (§3.12).
        var damaged = bytes
        Self.setWord(&damaged, at: starts[.types]!, 60000)
        #expect(Self.refusal(damaged).map { if case .countTooLarge = $0.kind { true } else { false } } == true)
        // An ebitmap announcing 2³² − 1 nodes (the policy capabilities at 0x20).
        damaged = bytes
        Self.setWord(&damaged, at: 0x24, 64)
        Self.setWord(&damaged, at: 0x28, 0xFFFF_FFFF)
        let e = try #require(Self.refusal(damaged))
        #expect(e.section == .policyCapabilities && e.kind == .countTooLarge(count: 0xFFFF_FFFF, limit: (bytes.count - 0x2c) / 12))
        // A name length of 2³² − 1.
        damaged = bytes
        Self.setWord(&damaged, at: starts[.commons]! + 8, 0xFFFF_FFFF)
        #expect(Self.refusal(damaged)?.kind == .truncated(needed: 0xFFFF_FFFF, available: bytes.count - starts[.commons]! - 12))
    }

    @Test func symbolIndexOutOfRangeIsRefused() throws {
        let bytes = try Self.tiny()
        let starts = try BinaryPolicyReader.sectionStarts(bytes)
        var damaged = bytes
        let entry = starts[.avtab]! + 4
        damaged[entry] = 0xFF
        damaged[entry + 1] = 0x7F
        let e = try #require(Self.refusal(damaged))
        #expect(e.kind == .indexOutOfRange(what: "source type", value: 0x7FFF) && e.offset == entry && e.section == .avtab, "\(e)")
        #expect(e.description.hasPrefix("binary policy: avtab at offset \(entry) (0x\(String(entry, radix: 16))): source type value 32767"))
        // A class value beyond the classes.
        damaged = bytes
        damaged[entry + 4] = 9
        #expect(Self.refusal(damaged)?.kind == .indexOutOfRange(what: "class", value: 9))
        // A role transition's role (one added to the table).
        damaged = bytes
        let rt = starts[.roleTransitions]!
        Self.setWord(&damaged, at: rt, 1)
        for (i, w) in [UInt32(7), 1, 1, 1].enumerated() { damaged.insert(contentsOf: withUnsafeBytes(of: w.littleEndian, Array.init), at: rt + 4 + 4 * i) }
        #expect(Self.refusal(damaged)?.kind == .indexOutOfRange(what: "role", value: 7))
    }

    /// An `allow` vector naming bits the class does not have (as checkpolicy writes `*`) keeps only
    /// the class's permissions.
    @Test func permissionBitsBeyondTheClassAreMasked() throws {
        let bytes = try Self.tiny()
        let avtab = try BinaryPolicyReader.sectionStarts(bytes)[.avtab]!
        let n = Int(Self.word(bytes, at: avtab))
        let allowed = try #require((0..<n).map { avtab + 4 + 12 * $0 }.first { bytes[$0 + 6] == 1 && bytes[$0 + 7] == 0 })
        var damaged = bytes
        Self.setWord(&damaged, at: allowed + 8, 0xFFFF_FFFF)
        let db = try PolicyDB(binary: damaged)
        db.avTable.forEach { key, entry in
            #expect(entry.allowed & ~db.classes[Int(key & 0xFFFF) - 1].allPermissions == 0)
        }
    }

    /// Every (key, kind) of the rule table appears once (libsepol's `avtab_insert` refuses a
    /// repeat): a record repeated, access vector or type rule, is refused with its offset.
    @Test func aRepeatedRuleTableRecordIsRefused() throws {
        let bytes = try Self.tiny()
        let avtab = try BinaryPolicyReader.sectionStarts(bytes)[.avtab]!
        let n = Int(Self.word(bytes, at: avtab))
        let records = (0..<n).map { avtab + 4 + 12 * $0 }
        // The first access-vector record and the first type record, each written twice.
        let picks = [records.first { bytes[$0 + 6] & 0x7 != 0 }, records.first { bytes[$0 + 6] & 0x70 != 0 }].compactMap { $0 }
        #expect(picks.count == 2, "tiny has an allow and a type_transition")
        for record in picks {
            var damaged = Array(bytes[..<(avtab + 4 + 12 * n)]) + bytes[record..<(record + 12)] + bytes[(avtab + 4 + 12 * n)...]
            Self.setWord(&damaged, at: avtab, UInt32(n + 1))
            let e = try #require(Self.refusal(damaged), "a repeated record at \(record) was accepted")
            #expect(e.kind == .duplicate("avtab entry") && e.section == .avtab && e.offset == avtab + 4 + 12 * n, "\(e)")
        }
    }

    @Test func boundsCyclesAreRefused() throws {
        let bytes = try Self.tiny()
        let kernel = try Self.find("kernel_t", in: bytes), child = try Self.find("child_t", in: bytes)
        let kernelValue = Self.word(bytes, at: kernel - 12), childValue = Self.word(bytes, at: child - 12)
        #expect(Self.word(bytes, at: child - 4) == kernelValue, "child_t is bounded by kernel_t")
        // kernel_t bounded by child_t: a loop of two.
        var damaged = bytes
        Self.setWord(&damaged, at: kernel - 4, childValue)
        let e = try #require(Self.refusal(damaged))
        guard case .boundsCycle = e.kind else { throw Failure("\(e)") }
        #expect(e.section == .types && (e.offset == kernel - 16 || e.offset == child - 16), "\(e)")
        // A type bounded by itself.
        damaged = bytes
        Self.setWord(&damaged, at: child - 4, childValue)
        guard case .boundsCycle = try #require(Self.refusal(damaged)).kind else { throw Failure("self-bound read") }
        // Bounded by a value that names nothing.
        damaged = bytes
        Self.setWord(&damaged, at: child - 4, 99)
        #expect(Self.refusal(damaged)?.kind == .indexOutOfRange(what: "bounds of child_t", value: 99))
    }

    /// A chain of three links reads; four links are refused (the kernel's limit, §3.3.5).
    @Test func boundsChainsLongerThanThreeLinksAreRefused() throws {
        func policy(_ links: Int) -> String {
            let types = (0...links).map { "x\($0)_t" }
            return
                "class process\nclass file\nsid kernel\nclass process { transition dyntransition }\nclass file { read }\n"
                + types.map { "type \($0);\n" }.joined() + (0..<links).map { "typebounds x\($0)_t x\($0 + 1)_t;\n" }.joined()
                + "role r;\nrole r types { \(types.joined(separator: " ")) };\nallow x0_t x0_t:file read;\nuser u roles r;\nsid kernel u:r:x0_t\n"
        }
        let three = try BinaryFixtures.compile(text: policy(3), version: 33, mls: false)
        #expect(try PolicyDB(binary: three).types.filter { $0.bounds != nil }.count == 3)
        let four = try BinaryFixtures.compile(text: policy(4), version: 33, mls: false)
        let e = try #require(Self.refusal(four))
        guard case .boundsCycle = e.kind else { throw Failure("\(e)") }
    }

    @Test func symbolTableRules() throws {
        let bytes = try Self.tiny()
        let objectR = try Self.find("object_r", in: bytes), systemR = try Self.find("system_r", in: bytes)
        // A second role named object_r.
        var damaged = bytes
        damaged.replaceSubrange(systemR..<systemR + 8, with: Array("object_r".utf8))
        var e = try #require(Self.refusal(damaged))
        #expect(e.kind == .duplicate("name object_r") && e.section == .roles && e.offset == systemR - 12, "\(e)")
        // object_r must have value 1 (§3.3.4).
        damaged = bytes
        Self.setWord(&damaged, at: objectR - 8, 2)
        Self.setWord(&damaged, at: systemR - 8, 1)
        e = try #require(Self.refusal(damaged))
        #expect(e.kind == .invalid("role object_r must have value 1") && e.section == .roles, "\(e)")
        // Two roles with one value.
        damaged = bytes
        Self.setWord(&damaged, at: systemR - 8, 1)
        e = try #require(Self.refusal(damaged))
        #expect(e.kind == .duplicate("value 1 (system_r)") || e.kind == .duplicate("value 1 (object_r)"), "\(e)")
        // A class value beyond nprim, which leaves a gap in the classes (§4.3).
        damaged = bytes
        let process = try Self.find("process", in: bytes)
        Self.setWord(&damaged, at: process - 16, 5)
        e = try #require(Self.refusal(damaged))
        #expect(e.section == .classes && e.kind == .indexOutOfRange(what: "classes process", value: 5), "\(e)")
    }

    @Test func invalidEBitmapsAreRefused() throws {
        let bytes = try Self.tiny()
        for (field, value, why) in [(0x20, UInt32(63), "map size 63"), (0x24, 65, "not a multiple of 64"), (0x24, 64, "no node")] {
            var damaged = bytes
            Self.setWord(&damaged, at: field, value)
            let e = try #require(Self.refusal(damaged))
            guard case .invalidEBitmap(let text) = e.kind else { throw Failure("\(e)") }
            #expect(text.contains(why) && e.offset == 0x20 && e.section == .policyCapabilities, "\(e)")
        }
    }

    @Test func namesAreChecked() throws {
        let bytes = try Self.tiny()
        var damaged = bytes
        let at = try Self.find("system_u", in: bytes)
        damaged[at + 2] = 0
        #expect(Self.refusal(damaged)?.kind == .invalidName("a NUL byte inside a name"))
        damaged = bytes
        damaged[at + 2] = 0xFF
        #expect(Self.refusal(damaged)?.kind == .invalidName("not UTF-8"))
    }
}

struct Failure: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
