import ArgumentParser
import DecisionEngine
import Foundation
import XfrmManager
import XfrmNetlink

/// `salabel status`: the labeled SPD entries, SAs and pending ACQUIREs of a kernel, once or as they
/// change (Specs/manager/status.md).
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the labeled SPD entries, the SAs with their labels and installers, and pending ACQUIREs; with --watch, each change as it happens.",
        discussion: """
            The tables are dumped after subscribing to the kernel's xfrm notifications, so nothing between the dump and the first change is missed. With --watch, one line (or JSON object) per change: ACQUIRE (the flow's context), SA added (who installed it; a rekey names the SA it replaces), soft and hard EXPIRE, SA and SPD entry deleted. A lost notification (ENOBUFS) is reported, the tables are dumped afresh and a new snapshot follows: the output is never silently stale.

            Who installed an SA is known only for SAs seen arrive while watching (the sender of XFRM_MSG_NEWSA, looked up in /proc); others say "before status started".

            Labels are checked against --policy, else the running policy where SELinux is enabled; labels the policy does not know are marked.

            --json: one object per line, "type": "snapshot" or "event" (fields: Specs/manager/status.md).

            Exit status: 0 done (stopped by --count, --duration, SIGINT or SIGTERM), 2 error (the namespace, the socket, the policy).
            """)

    @Option(help: "Network namespace: a name (/run/netns/NAME) or a path.") var netns: String?
    @Flag(help: "Keep watching: one line per change after the snapshot.") var watch = false
    @Flag(help: "JSON lines: one object per snapshot and per change.") var json = false
    @Option(help: "With --watch: stop after this many changes.") var count: Int?
    @Option(help: "With --watch: stop after this many seconds.") var duration: Double?
    @Option(
        help: ArgumentHelp(
            "The policy labels are checked against: a file, running or embedded (default: the running policy where SELinux is enabled, else none).",
            valueName: "FILE|running|embedded"))
    var policy: String?

    func validate() throws {
        if let count, count < 1 { throw ValidationError("--count must be at least 1") }
        if let duration, !(duration > 0) { throw ValidationError("--duration must be positive") }
        if !watch && (count != nil || duration != nil) { throw ValidationError("--count and --duration go with --watch") }
    }

    func run() throws {
        if let netns, let why = XfrmManager.missingNamespace(netns, fromOption: true) { throw CommandFailure.error(why) }
        let labels: StatusLabelPolicy
        do { labels = try StatusLabelPolicy.choose(policy.map(PolicyOrigin.init(option:))) } catch {
            throw CommandFailure.error("--policy: \(error)")
        }
        let stop = StatusStop(duration: duration.map { .milliseconds(Int64($0 * 1000)) })
        let watcher = StatusWatch(netns: netns, labelCheck: labels.check, verdict: labels.verdict)
        var changes = 0
        do {
            try watcher.run(watching: watch, while: { stop.shouldContinue }) { output in
                switch output {
                case .snapshot(let report):
                    write(json ? jsonText(report.json) : report.lines.joined(separator: "\n") + (watch ? "\n" : ""))
                    return true
                case .change(let change):
                    write(json ? jsonText(change.json) : change.line)
                    changes += 1
                    return count.map { changes < $0 } ?? true
                }
            }
        } catch {
            throw CommandFailure.error("\(error)")
        }
        if watch, !json, let why = stop.reason { printError("status: stopped (\(why))") }
    }

    /// One line, unbuffered: each change shows up as it happens, even through a pipe.
    private func write(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}
