import Foundation
import NetlinkProtocol
import Testing
import TestSupport
import XfrmManager
import XfrmNetlink
@testable import XfrmWire

/// The `ip xfrm` command line of each capture, parsed by salabel (`IPXfrmSyntax`) and encoded
/// (`NetlinkXfrmKernel.request(for:)`), sends exactly the bytes iproute2 6.1 sent for it: the
/// parser and the encoder agree with iproute2 word for word, not only with each other.
struct IPXfrmLinesTests {
    /// Captures of one request iproute2 makes directly (not dumps, which deleteall/show start with,
    /// and not monitor sessions).
    static let singleRequests: [String] = Capture.all.filter { name in
        guard let c = try? Capture(name) else { return false }
        let cmd = c.command
        return cmd.hasPrefix("ip xfrm ") && !cmd.contains(" deleteall") && !cmd.contains(" show") && !cmd.contains(" monitor")
            && !cmd.contains(" list")
    }

    @Test func thereAreEnoughCommands() {
        #expect(Self.singleRequests.count >= 15, "\(Self.singleRequests)")
    }

    @Test(arguments: singleRequests)
    func sameBytesAsIproute2(_ name: String) throws {
        let capture = try Capture(name)
        let sent = try #require(capture.sent.first, "\(name): no sent buffer")
        let expected = try #require(try messageBytes(sent.bytes).first)
        let op = try #require(try IPXfrmSyntax.parse(line: capture.command), "\(name): no operation")
        var message = try NetlinkXfrmKernel.request(for: op)
        message.sequence = seq(expected)
        // A 17-byte FLUSHSA travels padded to 20 in our buffer; nlmsg_len (17) says where it ends.
        let encoded = try message.encoded()
        let ours = Array(encoded.prefix(expected.count))
        #expect(encoded.dropFirst(expected.count).allSatisfy { $0 == 0 } && encoded.count - expected.count < 4)
        #expect(ours == expected, "\(name): \(capture.command)\nours:     \(hexString(ours))\niproute2: \(hexString(expected))")
    }
}
