// libFuzzer entry point for the kernel binary policy reader (Specs/engine/binary-policy.md §4):
// bytes → PolicyDB(binary:) → SecurityServer → decisions. Any bytes must give a database or a
// BinaryPolicyError, never a crash, a hang, a memory error or an allocation the bytes cannot back
// (libFuzzer's -rss_limit_mb catches the last).
//
// Invariants:
//   - a refusal's offset is within the input (0…size) and its description names the offset;
//   - reading the same bytes twice gives the same refusal;
//   - a database that reads loads into a SecurityServer; every initial SID context resolves to a
//     SID that maps back to it; for every class, computeAV(sid, sid) allows only bits of the
//     class's permissions, the same both times;
//   - the writer (§6.1) either refuses the database with a BinaryPolicyWriteError or writes a file
//     that reads back, and (from version 20; below, the reader closes up the gaps attributes
//     leave, so values shift once) writing what was read back gives the same bytes again.
//
//   scripts/fuzz builds and runs it; by hand:
//   swift build --package-path Fuzz --sanitize=fuzzer --sanitize=address -Xswiftc -sanitize=fuzzer,address \
//       --scratch-path .build-fuzz --product FuzzBinaryPolicy
//   mkdir -p /tmp/binary-corpus
//   .build-fuzz/debug/FuzzBinaryPolicy -max_total_time=300 /tmp/binary-corpus Fuzz/corpus/binary

import DecisionEngine
import SecurityContexts

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBinaryPolicy(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    let policy: PolicyDB
    let version: UInt32
    do {
        let read = try PolicyDB.readBinary(bytes)
        policy = read.policy
        version = read.extras.header.version
    } catch {
        guard error.offset >= 0, error.offset <= size else { fatalError("refusal offset \(error.offset) outside \(size) bytes: \(error)") }
        guard error.description.contains("offset \(error.offset)") else { fatalError("description without its offset: \(error)") }
        do {
            _ = try PolicyDB(binary: bytes)
            fatalError("the same bytes read the second time")
        } catch let again {
            guard again == error else { fatalError("two refusals of the same bytes: \(error) / \(again)") }
        }
        return 0
    }
    checkLoad(policy)
    checkWrite(policy, version: version)
    return 0
}

private func checkWrite(_ policy: PolicyDB, version: UInt32) {
    guard let written = try? policy.binaryPolicy(version: version) else { return }
    let back: PolicyDB
    do { back = try PolicyDB(binary: written) } catch { fatalError("salabel cannot read what it wrote at version \(version): \(error)") }
    let again: [UInt8]
    do { again = try back.binaryPolicy(version: version) } catch { fatalError("what was read back does not write: \(error)") }
    guard version < 20 || again == written else { fatalError("writing what was read back gives other bytes at version \(version)") }
}

private func checkLoad(_ policy: PolicyDB) {
    let server: SecurityServer
    do {
        server = try SecurityServer(policy: policy)
    } catch {
        fatalError("a policy read from a binary does not load: \(error)")
    }
    for (name, context) in policy.initialSIDs {
        guard let context else { continue }
        let sid: SID
        do { sid = try server.sid(for: context) } catch { fatalError("initial SID \(name) context \(context) has no SID: \(error)") }
        guard server.context(of: sid) == context else { fatalError("SID of \(context) maps back to \(String(describing: server.context(of: sid)))") }
        for cls in policy.classes {
            let d = server.computeAV(sid, sid, classValue: cls.value)
            guard d.allowed & ~cls.allPermissions == 0 else { fatalError("\(cls.name) allowed bits outside its permissions") }
            guard server.computeAV(sid, sid, classValue: cls.value).allowed == d.allowed else { fatalError("two answers for \(cls.name)") }
        }
    }
}
