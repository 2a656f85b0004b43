// Where a command's policy comes from (Specs/engine/policy-sources.md): the --policy keywords, what a
// loaded policy says of itself, and the running policy on this machine (none without SELinux; the VM
// reads a real one, RunningPolicyVMTests).

import DecisionEngine
import Foundation
import SELinuxKernel
import Testing

@Suite("PolicyOrigin and LoadedPolicy")
struct PolicyOriginTests {
    @Test("--policy: embedded and running are keywords, anything else a path")
    func optionWords() {
        #expect(PolicyOrigin(option: "embedded") == .embedded)
        #expect(PolicyOrigin(option: "running") == .running)
        #expect(PolicyOrigin(option: "./running") == .file("./running"))
        #expect(PolicyOrigin(option: "/etc/selinux/default/policy/policy.33") == .file("/etc/selinux/default/policy/policy.33"))
        #expect(PolicyOrigin.running.path == "/sys/fs/selinux/policy")
        #expect(PolicyOrigin.embedded.path == EmbeddedPolicy.fileName)
        #expect(PolicyOrigin.running.description == "running" && PolicyOrigin.file("p.conf").description == "p.conf")
    }

    @Test("the embedded policy names itself, its form and MLS")
    func embedded() throws {
        let loaded = try #require(try LoadedPolicy.loadWithoutKernel(.embedded))
        #expect(loaded.description == "embedded (default-policy.conf, version 33, MLS)")
        #expect(loaded.form == .binary && loaded.version == 33 && loaded.mls)
        #expect(loaded.json["source"] as? String == "embedded" && loaded.json["version"] as? Int == 33 && loaded.json["mls"] as? Bool == true)
        #expect(try PolicyOrigin.embedded.load().description == loaded.description)
    }

    @Test("a binary policy is named with its version, from its header")
    func binary() throws {
        let bytes = try BinaryFixtures.compile(conf: BinaryFixtures.embeddedPolicy, version: 31, mls: true)
        let loaded = try LoadedPolicy.load(bytes: bytes, source: .running)
        #expect(loaded.description == "running (/sys/fs/selinux/policy, version 31, MLS)")
        #expect(loaded.form == .binary && loaded.json["version"] as? Int == 31 && loaded.json["path"] as? String == "/sys/fs/selinux/policy")
        let text = try LoadedPolicy.load(bytes: EmbeddedPolicy.bytes, source: .file("x.conf"), booleans: [:])
        #expect(text.description == "file (x.conf, MLS)")
    }

    @Test("a file that cannot be read, or bytes that are no policy, fail with the file's name")
    func failures() throws {
        #expect(throws: PolicyLoadError.self) { try LoadedPolicy.loadWithoutKernel(.file("/nonexistent/salabel-policy")) }
        let error = #expect(throws: PolicyLoadError.self) {
            try LoadedPolicy.load(bytes: [0x8c, 0xff, 0x7c, 0xf9, 0, 0, 0, 0], source: .running)
        }
        #expect(error?.description.hasPrefix("/sys/fs/selinux/policy: ") == true, "\(String(describing: error))")
    }

    @Test("without SELinux there is no running policy: the live default is the embedded one, and reading says why")
    func noSELinux() throws {
        guard !FileManager.default.fileExists(atPath: "/sys/fs/selinux/policy") else { return }  // the VM tests the other side
        #expect(!RunningPolicy.isAvailable && PolicyOrigin.liveDefault == .embedded)
        #expect(throws: RunningPolicyError.self) { try RunningPolicy.read() }
        let error = #expect(throws: PolicyOriginError.self) { try PolicyOrigin.running.load() }
        #expect(
            error?.description
                == "no running policy: SELinux is not enabled on this kernel (no selinuxfs with /sys/fs/selinux/policy); give --policy FILE or --policy embedded"
        )
    }
}
