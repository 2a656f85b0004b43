import Foundation
import Testing
import TestSupport

/// Per-socket policies in an SPD dump. An IKE daemon sets a bypass policy on its own sockets
/// (`setsockopt(IP_XFRM_POLICY)`/`IPV6_XFRM_POLICY`), and the kernel dumps such a policy with
/// `dir` = `XFRM_POLICY_MAX` + its direction. salabel refused the whole dump of any host running
/// pluto until the two-VM suite met one. Here a Python process, in a throwaway namespace, sets one
/// policy per family on its sockets and, while holding them, lists the SPD with iproute2 (the
/// reference) and with salabel.
@Suite(.serialized)
struct SocketPolicyCLITests {
    /// The sockets' policies are built as `struct xfrm_userpolicy_info` (168 bytes on x86-64, the
    /// selector's family at byte 40, `dir` at byte 160; Specs/manager/wire-format.md): priority 7,
    /// action allow, no template, out on an IPv4 socket and in on an IPv6 one.
    static let script = """
        socket, struct, subprocess, sys = map(__import__, ('socket', 'struct', 'subprocess', 'sys'))
        salabel, ns = sys.argv[1], sys.argv[2]
        held = []
        for direction, family, level, option in ((1, socket.AF_INET, socket.IPPROTO_IP, 17), (0, socket.AF_INET6, socket.IPPROTO_IPV6, 35)):
            s = socket.socket(family, socket.SOCK_DGRAM)
            selector = bytes(40) + struct.pack('=H', family) + bytes(14)
            info = selector + struct.pack('=8Q', *([2**64 - 1] * 8)) + bytes(32) + struct.pack('=IIBBBB', 7, 0, direction, 0, 0, 0) + bytes(4)
            s.setsockopt(level, option, info)
            held.append(s)
        for name, args in (('IP', ['/usr/sbin/ip', 'xfrm', 'policy', 'show']), ('TEXT', [salabel, 'xfrm', 'policy', 'list', '--netns', ns]),
                           ('JSON', [salabel, 'xfrm', 'policy', 'list', '--netns', ns, '--json']), ('STATUS', [salabel, 'status', '--netns', ns])):
            r = subprocess.run(args, capture_output=True, text=True)
            print('@@' + name, r.returncode)
            print(r.stdout + r.stderr, end='')
            print('@@END')
        """

    static func section(_ output: String, _ name: String) -> (status: String, text: String) {
        guard let start = output.range(of: "@@\(name) ") else { return ("", "") }
        let rest = output[start.upperBound...]
        let status = String(rest.prefix { $0 != "\n" })
        let body = rest.drop { $0 != "\n" }.dropFirst()
        return (status, String(body[..<(body.range(of: "@@END")?.lowerBound ?? body.endIndex)]))
    }

    /// Each line without its trailing blanks (iproute2 ends some with a space).
    static func trimmed(_ text: String) -> [String] {
        text.split(separator: "\n").map { String($0.reversed().drop { $0 == " " }.reversed()) }
    }

    @Test func socketPoliciesAreListedAsIproute2ListsThem() throws {
        let ns = try XfrmCLITests.Namespace()
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("salabel-socket-policy-\(UUID().uuidString).py")
        try Self.script.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let run = try CLITests.run(
            URL(fileURLWithPath: XfrmCLITests.ip), ["netns", "exec", ns.name, "/usr/bin/python3", file.path, CLITests.binary.path, ns.name])
        try #require(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        let ip = Self.section(run.stdout, "IP"), text = Self.section(run.stdout, "TEXT")
        #expect(ip.text.contains("socket out priority 7") && ip.text.contains("socket in priority 7"), "\(ip.text)")
        #expect(text.status == "0" && Self.trimmed(text.text) == Self.trimmed(ip.text), "iproute2:\n\(ip.text)\nsalabel:\n\(text.text)")
        let json = Self.section(run.stdout, "JSON")
        let entries = try #require(try JSONSerialization.jsonObject(with: Data(json.text.utf8)) as? [[String: Any]], "\(json.text)")
        #expect(Set(entries.map { "\($0["dir"] ?? "") \($0["socket"] ?? "")" }) == ["in 1", "out 1"], "\(entries)")
        let status = Self.section(run.stdout, "STATUS")
        #expect(status.status == "0" && status.text.contains("socket out src 0.0.0.0/0 dst 0.0.0.0/0 priority 7"), "\(status.text)")
    }
}
