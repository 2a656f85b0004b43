// The trace layout against libmnl 1.0.4's own output (Reference/libmnl-fprintf.txt).

import Foundation
import NetlinkProtocol
import Testing
import TestSupport

@Suite("Netlink trace in libmnl's layout")
struct NetlinkTraceTests {
    /// The blocks of Reference/libmnl-fprintf.txt by name.
    static func reference() throws -> [String: String] {
        let url = repositoryRoot.appendingPathComponent("Tests/NetlinkProtocolTests/Reference/libmnl-fprintf.txt")
        let text = try String(contentsOf: url, encoding: .utf8)
        var blocks: [String: String] = [:]
        var name: String?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("=== ") {
                name = String(line.dropFirst(4))
                blocks[name!] = ""
            } else if let name, !line.isEmpty {
                blocks[name]! += line + "\n"
            }
        }
        return blocks
    }

    @Test(
        "NetlinkTrace.format matches mnl_nlmsg_fprintf byte for byte",
        arguments: [
            ("newPolicy", 168), ("nack", 0), ("ack", 0), ("newSA", 224),
        ])
    func matchesLibmnl(name: String, extraHeaderSize: Int) throws {
        let expected = try #require(try Self.reference()[name])
        let message = try #require(try NetlinkMessage.split(Golden.named(name)).first)
        let actual = NetlinkTrace.format(message, extraHeaderSize: extraHeaderSize)
        #expect(actual == expected)
        if actual != expected {
            let a = actual.split(separator: "\n"), e = expected.split(separator: "\n")
            for (index, pair) in zip(a, e).enumerated() where pair.0 != pair.1 {
                Issue.record("line \(index): \(pair.0.debugDescription) != \(pair.1.debugDescription)")
                break
            }
        }
    }
}
