// Which policy the commands decide with, on this machine, which has no SELinux
// (Specs/engine/policy-sources.md): `--policy running` is an error that says why, and the commands
// that look at live state decide with the embedded policy and name it; the others print as before.
// The running policy itself is read in the VM (RunningPolicyVMTests).

import Foundation
import Testing
import TestSupport

@Suite(.serialized)
struct PolicySourceCLITests {
    static let embeddedLine = "policy: embedded (default-policy.conf, version 33, MLS)"

    static var noSELinux: Bool { !FileManager.default.fileExists(atPath: "/sys/fs/selinux/policy") }

    @Test func runningWithoutSELinuxIsAnErrorThatSaysWhy() throws {
        guard Self.noSELinux else { return }
        let r = try CLITests.salabel("policy", "info", "--policy", "running")
        #expect(r.status == 2 && r.stdout.isEmpty, "\(r.status): \(r.stdout)")
        #expect(
            r.stderr.contains("no running policy: SELinux is not enabled on this kernel (no selinuxfs with /sys/fs/selinux/policy)"),
            "\(r.stderr)")
        let json = try CLITests.salabel("policy", "check", "--json", "--policy", "running", "a:b:c:s0", "a:b:c:s0", "association")
        #expect(json.status == 2 && json.stdout.contains("no running policy"), "\(json.stdout)")
        // --policy embedded is the keyword, not a file named so.
        let embedded = try CLITests.salabel("policy", "info", "--policy", "embedded")
        #expect(embedded.status == 0 && embedded.stdout.hasPrefix("Policy: embedded:default-policy.conf\n"), "\(embedded.stdout)")
    }

    @Test func traceOnLiveNamespacesNamesThePolicy() throws {
        guard Self.noSELinux else { return }
        let ns = try XfrmCLITests.Namespace()
        let text = try CLITests.salabel("trace", "--netns", ns.name, "--no-reply")
        #expect(text.stdout.split(separator: "\n").first.map(String.init) == Self.embeddedLine, "\(text.stdout)\(text.stderr)")
        let json = try CLITests.salabel("trace", "--netns", ns.name, "--no-reply", "--json")
        let object = try CLITests.json(json.stdout)
        let policy = object["policy"] as? [String: Any]
        #expect(
            policy?["source"] as? String == "embedded" && policy?["form"] as? String == "binary" && policy?["version"] as? Int == 33
                && policy?["mls"] as? Bool == true, "\(json.stdout)")
        #expect(policy?["path"] as? String == "default-policy.conf")
        let resolve = try CLITests.salabel("resolve", "--netns", ns.name, "--spi", "0x100")
        #expect(resolve.stdout.split(separator: "\n").first.map(String.init) == Self.embeddedLine, "\(resolve.stdout)\(resolve.stderr)")
        // Not live: the embedded example, as before, with no policy line.
        let example = try CLITests.salabel("trace", "--no-reply")
        #expect(!example.stdout.contains("policy: "), "\(example.stdout)")
        #expect(try CLITests.json(CLITests.salabel("trace", "--no-reply", "--json").stdout)["policy"] == nil)
    }

    @Test func xfrmNamesThePolicyWhenItCheckedALabel() throws {
        guard Self.noSELinux else { return }
        let ns = try XfrmCLITests.Namespace()
        let labeled = try XfrmCLITests.salabel([
            "xfrm", "policy", "add", "--netns", ns.name, "src", "10.0.0.1/32", "dst", "10.0.0.2/32", "dir", "out", "ctx", XfrmCLITests.spd,
            "tmpl", "src", "10.0.0.1", "dst", "10.0.0.2", "proto", "esp", "mode", "transport",
        ])
        #expect(labeled.stdout.hasPrefix(Self.embeddedLine + "\n"), "\(labeled.status): \(labeled.stdout)\(labeled.stderr)")
        let unlabeled = try XfrmCLITests.salabel([
            "xfrm", "policy", "add", "--netns", ns.name, "src", "10.0.0.3/32", "dst", "10.0.0.4/32", "dir", "out",
        ])
        #expect(unlabeled.status == 0 && !unlabeled.stdout.contains("policy: "), "\(unlabeled.stdout)\(unlabeled.stderr)")
        let list = try XfrmCLITests.salabel(["xfrm", "policy", "list", "--netns", ns.name])
        #expect(!list.stdout.hasPrefix("policy: "), "\(list.stdout)")
    }
}
