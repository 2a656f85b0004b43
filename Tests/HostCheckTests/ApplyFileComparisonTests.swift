// salabel doctor --apply: two hosts' copies of an apply file compared. The left copy is
// Examples/apply/echo.yaml; each right copy changes it in one known way, and the expected finding is
// that change, written here by hand.

import Foundation
import HostCheck
import Testing
import TestSupport
import XfrmManager

private func echoText() throws -> String {
    try String(contentsOf: repositoryRoot.appendingPathComponent("Examples/apply/echo.yaml"), encoding: .utf8)
}

private func compare(_ right: String) throws -> [DoctorFinding] {
    ApplyFileComparison.compare(try ApplyFile(yaml: try echoText()), named: "client.yaml", try ApplyFile(yaml: right), named: "server.yaml")
}

@Suite("salabel doctor's comparison of two hosts' apply files")
struct ApplyFileComparisonTests {
    @Test func theSameFileAgrees() throws {
        #expect(try compare(try echoText()).isEmpty)
    }

    @Test func aLabelAndAnICVThatDiffer() throws {
        let right = try echoText().replacingOccurrences(
            of: "reply_context: system_u:system_r:echoserver_t:s0", with: "reply_context: system_u:system_r:echo_other_t:s0"
        )
        .replacingOccurrences(of: "icv: 128", with: "icv: 96")
        let f = try compare(right)
        #expect(f.count == 1)
        #expect(f.first?.check == .applyFiles && f.first?.severity == .error && f.first?.subject == "association echo-client")
        #expect(
            f.first?.seen
                == "association echo-client differs: reply_context system_u:system_r:echoserver_t:s0 in client.yaml, system_u:system_r:echo_other_t:s0 in server.yaml; icv_bits 128 in client.yaml, 96 in server.yaml"
        )
        #expect(f.first?.fix?.hasPrefix("make association echo-client the same in both files") == true)
    }

    @Test func anAssociationOnOneEndOnlyAndAnAddressThatDoesNotMirror() throws {
        let extra = """
              - name: echo-extra
                between: [client, server]
                context: system_u:system_r:echoclient_t:s0
                spi: [0x500, 0x501]
                aead: rfc4106(gcm(aes))
                icv: 128
            key_file: echo.keys
            """
        let right = try echoText().replacingOccurrences(of: "key_file: echo.keys\n", with: extra + "\n")
            .replacingOccurrences(of: "address: 10.77.0.2", with: "address: 10.77.0.9")
        let f = try compare(right)
        #expect(f.map(\.subject) == ["host server", "association echo-extra"], "\(f.map(\.seen))")
        #expect(f.first?.seen == "host server is 10.77.0.2 in client.yaml and 10.77.0.9 in server.yaml")
        #expect(f.last?.seen == "association echo-extra (client ↔ server, SPIs 0x500/0x501) is in server.yaml only")
        #expect(f.last?.fix?.hasPrefix("add association echo-extra to client.yaml as server.yaml has it") == true)
    }
}
