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
            Checks: SELinux enabled and enforcing; the LSM order (another exclusive LSM before selinux); the kernel's xfrm LSM hook (CONFIG_SECURITY_NETWORK_XFRM) and the modules esp4, esp6, xfrm_user; the policy capabilities network_peer_controls and always_check_network; each labeled SPD entry's label valid in the running policy and which local domains may polmatch it; SAs whose labels the running policy no longer knows; nonzero /proc/net/xfrm_stat counters; NetLabel's CIPSO/CALIPSO mappings beside labeled SAs (netlabelctl); libreswan's labeled conns (read with libreswan's readwriteconf from --ipsec-conf): pluto running, each sec-label valid, polmatched by some local domain and settable by pluto's domain. Each finding names what was seen and the fix (the file, command or boot parameter).

            --netns reads the SAD/SPD and /proc/net/xfrm_stat of that network namespace; the rest is the host's. --verbose also prints the notes (facts that need no fix: which domains may polmatch each SPD label, what always_check_network means here, what could not be read).

            --apply LEFT --apply RIGHT compares two hosts' copies of an apply file instead (each end installs its half of every SA pair from its own copy): associations one has and the other lacks, the same association with a different label, algorithm, key length, SPI or keying, a host whose address differs. Key bytes are not read.

            Exit status: 0 no finding (one line: OK), 1 findings, 2 bad arguments or an apply file that cannot be read.
            """)

    @Option(help: "Read the SAD/SPD and xfrm_stat of this network namespace (a name or path).") var netns: String?
    @Flag(help: "Also print the notes, facts that need no fix.") var verbose = false
    @Flag(help: "JSON output: {findings, notes, ok}.") var json = false
    @Option(help: ArgumentHelp("libreswan's configuration, read with libreswan's own parser (readwriteconf).", valueName: "FILE"))
    var ipsecConf = LibreswanFacts.defaultConfig
    @Option(help: ArgumentHelp("Two hosts' apply files to compare (give it twice).", valueName: "FILE")) var apply: [String] = []

    func validate() throws {
        guard apply.isEmpty || apply.count == 2 else { throw ValidationError("--apply: give two files, one per host (got \(apply.count))") }
        guard apply.isEmpty || netns == nil else { throw ValidationError("--apply and --netns exclude each other") }
        // A namespace that is not there is a bad argument, not a finding about the host.
        if let netns, let why = HostFactsReader.namespaceProblem(netns) { throw ValidationError("--netns \(netns): \(why)") }
    }

    func run() throws {
        let results: [DoctorFinding]
        if apply.count == 2 {
            results = ApplyFileComparison.compare(try loadApplyFile(apply[0]), named: apply[0], try loadApplyFile(apply[1]), named: apply[1])
        } else {
            results = Doctor.check(HostFactsReader.read(netns: netns, ipsecConf: ipsecConf))
        }
        let findings = results.filter(\.isFinding), notes = results.filter { !$0.isFinding }
        let ok = findings.isEmpty
        if json {
            print(jsonText(["ok": ok, "findings": findings.map(\.json), "notes": notes.map(\.json)] as [String: Any]))
        } else {
            var blocks = findings.map(\.lines)
            if verbose { blocks += notes.map(\.lines) }
            if ok {
                let what = apply.count == 2 ? "\(apply[0]) and \(apply[1]) agree" : "nothing to fix for labeled IPsec\(netns.map { " (netns \($0))" } ?? "")"
                blocks.append(["OK: \(what)"])
            }
            print(blocks.map { $0.joined(separator: "\n") }.joined(separator: "\n\n"))
        }
        if !ok { throw CommandFailure.exit(Status.denied) }
    }
}
