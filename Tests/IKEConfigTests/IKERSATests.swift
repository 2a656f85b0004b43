import Foundation
import IKEConfig
import Testing
import XfrmManager

/// `authentication: rsa`: raw RSA keys, each host's public key in the file (`hosts.NAME.rsasigkey`),
/// written into the conn as `leftrsasigkey=`/`rightrsasigkey=` with `authby=rsasig`, and no secret.
struct IKERSATests {
    /// A real public key, as `ipsec showhostkey --left --ckaid CKAID` printed it for a key that
    /// `ipsec newhostkey` made (its private half was thrown away); it holds `+`, `/` and `=`.
    static let publicKey =
        "0sAwEAAb1Pu+22PBKB6FAkimc1deW3HVbXOzJOqLUQltBWzYfSXo+O7NsrRPmsv9DW6MNUIAE0egzDFKQkMUaKAxwOy+JBtN1PXM"
        + "RfVTrtD9pjWrzCuzFNQNXNj7+7TUJbdIIW6HCnOZwz19jTZy1k9GEx814fHdmH4Up4YjMn7rEVIMVqlmnVEfOjcEw+nFKe+bPlyU"
        + "jE6wi7eRLmNnZsdfhahU1NOT32vFpm+7zAsQjlelBhLXJVjvzJgVcSKLQWFVhirIt452kBZ7GSChAs1FWlS322eGke0w7jLtG8lu"
        + "6cqXWRGUe/NjGXGaaH/z/5FoyDhNc/NVs9JZn99prFefVMz+8Qg95zrGk+4vxqwOUIXqSEH8ZSbAeqBE38dUaEwDOuKwSRyXQ10A"
        + "3WbiN5GIrfxUt1kywehpecVrKZKZNZ3ZF1OyXx2NAm7qrb9+2GSWYBUMpEuxDMhvp8RoBUjcJ8t6t0hQ72cKx6uLIoD3ng9hMFqq"
        + "DLXcyX8n/g+dEeBw7IZR2rPjFy4vutvPsaArDNpDrF5Fby4FOLaiBBRURRtMtd/UgslmmlBejrBvznNqYQg1kvgw5x04YzfwesN4"
        + "Kr8q3d7iYkvvk="

    static func file(serverKey: String? = publicKey) throws(ApplyFile.Error) -> ApplyFile {
        try ApplyFile(
            yaml: """
                hosts:
                  client: { address: 10.0.0.1, rsasigkey: "\(publicKey)" }
                  server: { address: 10.0.0.2\(serverKey.map { ", rsasigkey: \"\($0)\"" } ?? "") }
                keying: ike
                ike: { authentication: rsa }
                associations:
                  - name: echo
                    between: [client, server]
                    context: system_u:system_r:echoclient_t:s0
                    policy_context: system_u:object_r:ipsec_spd_t:s0
                """)
    }

    @Test func libreswanReadsBackTheKeys() throws {
        let file = try Self.file()
        #expect(KeyFile.generate(for: file) { [UInt8](repeating: 1, count: $0) }.psks.isEmpty)
        let config = try LibreswanConfiguration.forHost(file, host: "server", psks: [:])
        #expect(config.secrets.isEmpty)
        let conf = try config.confText()
        #expect(conf.contains("\tleftrsasigkey=\"0s"), "a key with = is quoted")
        let check = try IKETestSupport.libreswan(IKETestSupport.addconn, conf: conf, extra: ["--checkconfig"])
        #expect(check.status == 0, "\(check.stderr)")
        let conn = try IKETestSupport.echoed(conf)["salabel-echo"]
        #expect(IKETestSupport.value(conn, "leftrsasigkey") == Self.publicKey)
        #expect(IKETestSupport.value(conn, "rightrsasigkey") == Self.publicKey)
        #expect(conn?["authby"]?.first == "rsasig" && IKETestSupport.value(conn, "authby")?.hasPrefix("RSASIG") == true)
        #expect(IKETestSupport.value(conn, "left") == "10.0.0.2")
    }

    @Test func aHostWithoutItsKeyOrABadKeyIsRefused() {
        for (key, path) in [(nil, "ike.authentication"), ("AwEAAQ", "hosts.server.rsasigkey"), ("0sAw EAAQ", "hosts.server.rsasigkey")] as [(String?, String)] {
            let r = Result { () throws(ApplyFile.Error) in try Self.file(serverKey: key) }
            guard case .failure(let e) = r else {
                Issue.record("accepted \(key ?? "no key")")
                continue
            }
            #expect(e.path == path, "\(e)")
        }
    }
}
