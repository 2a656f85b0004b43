import ArgumentParser
import DecisionEngine
import Foundation
import Resolver
import Scenario
import XfrmNetlink

/// `salabel why`: AVC records of labeled networking explained against a host's SAD/SPD and its
/// policy (Specs/resolver/why.md).
struct WhyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "why",
        abstract:
            "Explain AVC records of labeled networking: the kernel check, the policy's answer and reasons, what carries the labels, what would change it.",
        discussion: """
            Reads AVC records (the kernel log, an audit log, ausearch -i output, one record a line; other lines are skipped) from FILE or standard input, and explains each record of classes association, peer, netif, node and packet against the host's SAs, SPD entries and pending ACQUIREs (--netns: a live namespace; --scenario: a scenario's host, or all of its hosts) and the policy (--policy; default: the scenario's, or with --netns the running one).

            Exit status: 0 every record explained, 1 a record that could not be (another class, a context the policy does not know, allowed by this policy) or no record at all, 2 bad input (a malformed record: its line and why on standard error) or arguments.
            """)

    @OptionGroup var options: ResolverOptions
    @Option(help: "With --scenario: the host whose SAD/SPD to read (default: every host's).") var host: String?
    @Argument(help: "The log to read (- for standard input).") var input: String = "-"

    func run() throws {
        let text: String
        if input == "-" {
            text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        } else {
            guard let data = FileManager.default.contents(atPath: input) else { throw CommandFailure.error("cannot read \(input)") }
            text = String(decoding: data, as: UTF8.self)
        }
        let (records, errors) = AuditRecord.records(inLog: text)
        let scenario = try options.loadScenario()
        let (authorizer, loaded) = try options.authorizer(scenario)
        let mirror: XfrmMirror
        if let scenario {
            let hosts: [String]
            if let host {
                guard scenario.layout.hosts[host] != nil else {
                    throw CommandFailure.error("no host \(host) in scenario \(scenario.name) (hosts: \(scenario.hosts.joined(separator: ", ")))")
                }
                hosts = [host]
            } else {
                hosts = scenario.hosts
            }
            do { mirror = try scenario.mirror(hosts: hosts) } catch { throw CommandFailure.error("\(error)") }
        } else {
            guard host == nil else { throw ValidationError("--host names a scenario's host: give --scenario") }
            let ns = options.netns!
            do { mirror = try XfrmMirror.dump(netns: ns) } catch { throw CommandFailure.error("cannot read the SAD/SPD of \(ns): \(error)") }
        }
        let explainer = DenialExplainer(resolver: Resolver(mirror: mirror, authorizer: authorizer), policyText: policyText(scenario, loaded))
        let explained = explainer.explain(records)
        let json: [String: Any] = ["records": explained.map(\.json), "errors": errors.map { ["line": $0.line, "message": $0.message] as [String: Any] }]
        print(options.output(lines: explained.flatMap { $0.lines + [""] }.dropLast(), json: json, policy: loaded))
        if !errors.isEmpty {
            throw CommandFailure(status: Status.error, message: "\(errors.count) malformed AVC record(s)", details: errors.map(\.description))
        }
        if explained.isEmpty || explained.contains(where: { $0.unexplained != nil }) {
            throw CommandFailure(status: Status.denied, message: explained.isEmpty ? "no AVC record in the input" : nil)
        }
    }

    /// The policy's source text, for checking proposed rules against its neverallow rules: the
    /// scenario's, a policy.conf given with --policy, or the embedded policy's; nil for a binary.
    func policyText(_ scenario: Scenario?, _ loaded: LoadedPolicy?) -> String? {
        if let loaded {
            switch (loaded.source, loaded.form) {
            case (.embedded, _): return String(decoding: EmbeddedPolicy.bytes, as: UTF8.self)
            case (.file(let path), .text): return FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
            default: return nil
            }
        }
        return scenario.flatMap { try? $0.policyText().text }
    }
}
