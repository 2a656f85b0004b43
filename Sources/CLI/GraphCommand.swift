import ArgumentParser
import DecisionEngine
import Foundation
import Resolver
import Scenario
import ScenarioDemo
import XfrmNetlink

/// `salabel graph`: who may talk to whom over labeled SAs, as Graphviz DOT, SVG or PNG
/// (Specs/resolver/graph.md).
struct GraphCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graph",
        abstract: "Draw who may talk to whom over labeled SAs: domains, SPD entries, SAs and hosts, with each check's decision (Graphviz DOT, SVG, PNG).",
        discussion: """
            The hosts are a scenario's or an apply file's (FILE or --scenario; default: the embedded echo example) or live network namespaces (--netns, repeated). The domains are a scenario's traffic steps' senders and receivers; without steps, and for a live namespace, the labels of the SAs leaving the host and at most --limit other domains the policy allows polmatch on its SPD entries' labels.

            Edges: polmatch (domain to outbound SPD entry), sendto (domain to the SA with its label), reaches (SA to the host that holds it), inbound-polmatch (SA to the receiver's inbound SPD entry), receive (SA to the receiving domain: peer recv, or association recvfrom). Allowed edges are solid, denied ones dashed and red with the reason.

            svg and png run Graphviz's dot (the Debian package graphviz). Exit status: 0 the graph written, 2 bad input or arguments, or dot missing or failing.
            """)

    @Argument(help: "A scenario or apply file (the same as --scenario).") var file: String?
    @Option(help: "A scenario file (Specs/scenarios/README.md) or apply file.") var scenario: String?
    @Option(help: "Read the SAD/SPD of this network namespace (a name or path); repeat for each host.") var netns: [String] = []
    @Option(
        help: ArgumentHelp(
            "The policy: a file (policy.conf or binary), running or embedded (default: with --netns the running policy where SELinux is enabled, else the embedded one; with a file, its own).",
            valueName: "FILE|running|embedded")) var policy: String?
    @Flag(help: "Permissive mode.") var permissive = false
    @Option(help: "dot, svg, png or json.") var format: String = "dot"
    @Option(name: .shortAndLong, help: "Write to this file (- or none: standard output).") var output: String?
    @Option(help: "Without traffic steps: at most this many domains a host's SPD labels let polmatch, besides its SAs' labels.") var limit: Int = 8

    func validate() throws {
        guard ["dot", "svg", "png", "json"].contains(format) else { throw ValidationError("--format: dot, svg, png or json") }
        if file != nil && scenario != nil { throw ValidationError("give the file once: FILE or --scenario") }
        if (file ?? scenario) != nil && !netns.isEmpty { throw ValidationError("a file and --netns exclude each other") }
        guard limit >= 0 else { throw ValidationError("--limit: 0 or more") }
    }

    func run() throws {
        let (graph, comments, loaded) = try build()
        let text: String
        switch format {
        case "json":
            var json = graph.json
            if let loaded { json["policy"] = loaded.json }
            text = jsonText(json) + "\n"
        default: text = DOTWriter.dot(graph, comments: comments)
        }
        guard format == "svg" || format == "png" else { return try write(Data(text.utf8)) }
        do { try write(try Graphviz.render(text, format: format)) } catch let e as Graphviz.Error { throw CommandFailure.error(e.description) }
    }

    /// The graph, the comments above it (the policy of live state, domains left out) and the
    /// policy loaded when not the scenario's.
    func build() throws -> (LabelGraph, [String], LoadedPolicy?) {
        var comments: [String] = []
        if netns.isEmpty {
            let path = file ?? scenario
            let s: Scenario
            do { s = try path.map { try Scenario.load(path: $0) } ?? Scenario.echoExample() } catch { throw CommandFailure.error("\(error)") }
            let (authorizer, loaded) = try ResolverOptions.authorizer(s, policy: policy, permissive: permissive)
            let (hosts, omitted): ([GraphHost], [String: Int])
            do { (hosts, omitted) = try s.graphHosts(authorizer: authorizer, limit: limit) } catch { throw CommandFailure.error("\(error)") }
            comments.append("salabel graph of \(path ?? "the embedded echo example")")
            comments += omitted.sorted { $0.key < $1.key }.map { "host \($0.key): \($0.value) more domain(s) polmatch the SPD labels (--limit)" }
            return (LabelGraph.build(hosts: hosts), comments, loaded)
        }
        let (authorizer, loaded) = try ResolverOptions.authorizer(nil, policy: policy, permissive: permissive)
        var hosts: [GraphHost] = []
        for ns in netns {
            let mirror: XfrmMirror
            do { mirror = try XfrmMirror.dump(netns: ns) } catch { throw CommandFailure.error("cannot read the SAD/SPD of \(ns): \(error)") }
            let resolver = Resolver(mirror: mirror, authorizer: authorizer)
            let addresses = mirror.templateAddresses
            let (domains, left) = resolver.polmatchDomains(addresses: addresses, limit: limit)
            if left > 0 { comments.append("netns \(ns): \(left) more domain(s) polmatch the SPD labels (--limit)") }
            hosts.append(GraphHost(name: "netns \(ns)", addresses: addresses, resolver: resolver, senders: domains, receivers: domains))
        }
        if let loaded { comments.insert("policy: \(loaded)", at: 0) }
        return (LabelGraph.build(hosts: hosts), comments, loaded)
    }

    func write(_ data: Data) throws {
        guard let output, output != "-" else { return FileHandle.standardOutput.write(data) }
        guard FileManager.default.createFile(atPath: output, contents: data) else { throw CommandFailure.error("cannot write \(output)") }
    }
}
