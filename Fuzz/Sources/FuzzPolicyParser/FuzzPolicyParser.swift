// libFuzzer entry point for the policy parser: any bytes must give a syntax tree or a PolicyError,
// never a crash, a hang or a memory error.
//   swift build --package-path Fuzz --sanitize=fuzzer --sanitize=address -Xswiftc -sanitize=fuzzer,address \
//       --scratch-path .build-fuzz --product FuzzPolicyParser
//   mkdir -p /tmp/policy-corpus
//   .build-fuzz/debug/FuzzPolicyParser -max_total_time=300 -max_len=4096 /tmp/policy-corpus Fuzz/corpus/policy
// (new inputs go to the first directory, so the seed corpus in Fuzz/corpus/policy stays small)

import SELinuxPolicy

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPolicyParser(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    do {
        let policy = try PolicyParser.parse(bytes, file: "fuzz.conf")
        // Touch the result so that nothing is optimized away.
        if policy.statements.count == Int.max { return 1 }
    } catch {
        // Every error must carry a location inside the input.
        guard let location = error.location, location.line >= 1, location.column >= 1 else {
            fatalError("PolicyError without a valid location: \(error)")
        }
    }
    return 0
}
