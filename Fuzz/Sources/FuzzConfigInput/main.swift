// libFuzzer entry point for the configuration salabel reads from users: apply files (YAML, with
// `lifetime:`), scenario files (YAML), and `ip xfrm` command lines (`salabel xfrm batch`, and a key
// manager's ADDSA arguments on the data plane's local socket).
//
// The first byte chooses the parser (modulo 4): 0 apply file, 1 scenario file, 2 `ip xfrm` line,
// 3 key file (`salabel keygen`'s output, read by `apply`), which is then used to plan the hosts of
// a fixed apply file. For arbitrary bytes: no crash and no hang; an apply file that parses keeps its
// lifetime rule (every soft limit below its hard one) and plans every host; a scenario that parses
// has hosts; an `ip xfrm` line that parses is an operation; a key file that parses has only
// non-empty keys, and planning with it gives SAs whose keys are the file's. An apply file with
// associations keyed by IKE (`keying: ike`) is also written as each host's libreswan configuration:
// every line of the conns file is the header, a blank line, `conn NAME` or a tab-indented
// `keyword=value` with no control character (a value cannot start a line of its own: no injected
// conn or keyword), the conns read back by name are the conns written, and the censored secrets
// text holds no key.
// A scenario with associations keyed by IKE has an IKE daemon context and conns for each of their
// hosts (seed scenario-ike).
// The YAML parsers read anchors and aliases (seeds apply-aliases, key-aliases, scenario-aliases).
import IKEConfig
import IPsecModel
import Scenario
import XfrmManager

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfigInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let all: [UInt8] = if let data, size > 0 { Array(UnsafeBufferPointer(start: data, count: size)) } else { [] }
    guard let selector = all.first else { return 0 }
    let text = String(decoding: all.dropFirst(), as: UTF8.self)
    switch selector % 4 {
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
        let keys = KeyFile.generate(for: file) { count in
            (0..<count).map { _ in
                n &+= 1; return n
            }
        }
        for host in file.hosts.keys { _ = try? ApplyPlanner.desired(file, host: host, keys: keys) }
        checkLibreswanConfiguration(file)
    case 1:
        guard let scenario = try? Scenario(yaml: text) else { return 0 }
        if scenario.hosts.isEmpty { fatalError("a scenario without hosts parsed") }
        // Keyed by IKE: every host of such an association has its pluto's context and its conns.
        for host in scenario.ikeHosts {
            if scenario.ikeDaemons[host] == nil { fatalError("IKE host \(host) parsed without an ike_daemon") }
            if (try? scenario.ikeConfiguration(host: host))?.conns.isEmpty != false { fatalError("IKE host \(host) has no conn") }
        }
    case 3:
        guard let keys = try? KeyFile(yaml: text) else { return 0 }
        for (name, (forward, reverse)) in keys.keys {
            for k in [forward, reverse] {
                for m in [k.aead, k.encryption, k.authentication] {
                    if let m, m.count == 0 { fatalError("an empty key for \(name) parsed") }
                }
            }
        }
        for host in keyedFile.hosts.keys {
            guard let desired = try? ApplyPlanner.desired(keyedFile, host: host, keys: keys) else { continue }
            for sa in desired.sas {
                let a = sa.algorithms
                for m in [a.aead?.key, a.encryption?.key, a.authentication?.key] {
                    if let m, m.count == 0 { fatalError("an SA planned with an empty key") }
                }
            }
        }
    default:
        guard let words = try? IPXfrmSyntax.words(text) else { return 0 }
        _ = try? IPXfrmSyntax.parse(words: ["state", "add"] + words)
        _ = try? IPXfrmSyntax.parse(batch: text)
    }
    return 0
}

/// The apply file key-file inputs are planned with: an AEAD association and a CBC/HMAC one.
let keyedFile = try! ApplyFile(
    yaml: """
        hosts:
          client: { address: 10.77.0.1 }
          server: { address: 10.77.0.2 }
        associations:
          - { name: echo, between: [client, server], context: system_u:system_r:echoclient_t:s0,
              reply_context: system_u:system_r:echoserver_t:s0, selector: { proto: udp, port: 7 } }
          - { name: other, between: [client, server], context: system_u:system_r:echo_other_t:s0,
              reply_context: system_u:system_r:echoserver_t:s0, encryption: cbc(aes), authentication: hmac(sha256),
              selector: { proto: udp, port: 9 } }
        """)

/// The libreswan files of every host of `file` are well formed (see the header).
func checkLibreswanConfiguration(_ file: ApplyFile) {
    var n: UInt8 = 0x40
    let psks = KeyFile.generate(for: file) { count in
        (0..<count).map { _ in
            n &+= 1; return n
        }
    }.psks
    for host in file.hosts.keys {
        guard let config = try? LibreswanConfiguration.forHost(file, host: host, psks: psks),
            let text = try? config.confText()
        else { continue }
        var names: [String] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.isEmpty || line.hasPrefix("# Written by salabel") { continue }
            if line.hasPrefix("conn ") {
                names.append(String(line.dropFirst(5)))
                continue
            }
            guard line.hasPrefix("\t"), line.dropFirst().contains("="),
                !line.unicodeScalars.dropFirst().contains(where: { $0.value < 0x20 || $0.value == 0x7F })
            else { fatalError("conns file line \(line.debugDescription) is not a keyword=value line") }
        }
        let written = config.conns.map(\.name.text)
        if names != written { fatalError("conns \(names) in the text, \(written) written") }
        if Set(LibreswanConfiguration.conns(inWritten: text).keys.map(\.text)) != Set(written) {
            fatalError("the conns read back are not the conns written")
        }
        let censored = config.secretsText(censored: true)
        for s in config.secrets where censored.contains(String(s.psk.exposedHex.dropFirst(2))) {
            fatalError("a key in the censored secrets text")
        }
    }
}
