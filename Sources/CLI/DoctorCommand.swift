import ArgumentParser
import HostCheck
import XfrmNetlink

/// `salabel doctor`: a host checked for labeled IPsec, each finding with its fix
/// (Specs/manager/doctor.md).
struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check this host for labeled IPsec and say what to fix, item by item.",
        discussion: """
            Checks: SELinux enabled and enforcing; the LSM order (another exclusive LSM before selinux); the kernel's xfrm LSM hook (CONFIG_SECURITY_NETWORK_XFRM) and the modules esp4, esp6, xfrm_user; the policy capabilities network_peer_controls and always_check_network; each labeled SPD entry's label valid in the running policy and which local domains may polmatch it; SAs whose labels the running policy no longer knows; nonzero /proc/net/xfrm_stat counters. Each finding names what was seen and the fix (the file, command or boot parameter).

            --netns reads the SAD/SPD and /proc/net/xfrm_stat of that network namespace; the rest is the host's. --verbose also prints the notes (facts that need no fix: which domains may polmatch each SPD label, what always_check_network means here, what could not be read).

            Exit status: 0 no finding (one line: OK), 1 findings, 2 bad arguments.
            """)

    @Option(help: "Read the SAD/SPD and xfrm_stat of this network namespace (a name or path).") var netns: String?
    @Flag(help: "Also print the notes, facts that need no fix.") var verbose = false
    @Flag(help: "JSON output: {findings, notes, ok}.") var json = false

    func run() throws {
        let results = Doctor.check(HostFactsReader.read(netns: netns))
        let findings = results.filter(\.isFinding), notes = results.filter { !$0.isFinding }
        let ok = findings.isEmpty
        if json {
            print(jsonText(["ok": ok, "findings": findings.map(\.json), "notes": notes.map(\.json)] as [String: Any]))
        } else {
            var blocks = findings.map(\.lines)
            if verbose { blocks += notes.map(\.lines) }
            if ok { blocks.append(["OK: nothing to fix for labeled IPsec\(netns.map { " (netns \($0))" } ?? "")"]) }
            print(blocks.map { $0.joined(separator: "\n") }.joined(separator: "\n\n"))
        }
        if !ok { throw CommandFailure.exit(Status.denied) }
    }
}
