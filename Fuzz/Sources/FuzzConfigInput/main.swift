// libFuzzer entry point for the configuration salabel reads from users: apply files (YAML, with
// `lifetime:`), scenario files (YAML), and `ip xfrm` command lines (`salabel xfrm batch`, and a key
// manager's ADDSA arguments on the data plane's local socket).
//
// The first byte chooses the parser. For arbitrary bytes: no crash and no hang; an apply file that
// parses keeps its lifetime rule (every soft limit below its hard one) and plans every host; a
// scenario that parses has hosts; an `ip xfrm` line that parses is an operation.
import IPsecModel
import Scenario
import XfrmManager

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfigInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let all: [UInt8] = if let data, size > 0 { Array(UnsafeBufferPointer(start: data, count: size)) } else { [] }
    guard let selector = all.first else { return 0 }
    let text = String(decoding: all.dropFirst(), as: UTF8.self)
    switch selector % 3 {
    case 0:
        guard let file = try? ApplyFile(yaml: text) else { return 0 }
        for a in file.associations {
            let l = a.lifetime
            let pairs = [(l.softAddExpiresSeconds, l.hardAddExpiresSeconds), (l.softUseExpiresSeconds, l.hardUseExpiresSeconds)]
            for (soft, hard) in pairs where soft != 0 && hard != 0 && soft >= hard { fatalError("soft \(soft) ≥ hard \(hard) accepted") }
            for (soft, hard) in [(l.softByteLimit, l.hardByteLimit), (l.softPacketLimit, l.hardPacketLimit)]
            where soft != .max && hard != .max && soft >= hard { fatalError("soft \(soft) ≥ hard \(hard) accepted") }
        }
        var n: UInt8 = 0
        let keys = KeyFile.generate(for: file) { count in (0..<count).map { _ in n &+= 1; return n } }
        for host in file.hosts.keys { _ = try? ApplyPlanner.desired(file, host: host, keys: keys) }
    case 1:
        guard let scenario = try? Scenario(yaml: text) else { return 0 }
        if scenario.hosts.isEmpty { fatalError("a scenario without hosts parsed") }
    default:
        guard let words = try? IPXfrmSyntax.words(text) else { return 0 }
        _ = try? IPXfrmSyntax.parse(words: ["state", "add"] + words)
        _ = try? IPXfrmSyntax.parse(batch: text)
    }
    return 0
}
