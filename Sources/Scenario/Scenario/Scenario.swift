public import DecisionEngine
public import SecurityContexts
import Foundation
public import IPsecModel
public import Resolver
public import XfrmManager
import IKEConfig

/// A scenario file (Specs/scenarios/README.md): the policy and mode, the hosts with the SAD and SPD
/// each holds, written in the `salabel apply` format extended with per-host `ip xfrm` lines. The
/// resolver builds each host's mirror from it, without a kernel.
///
///     description: the echo client and server
///     policy: embedded                      # or a policy.conf path, relative to the file
///     enforcing: true
///     booleans: { echo_allow_unlabeled: false }
///     hosts:
///       client:
///         address: 10.77.0.1
///         xfrm:                             # `ip xfrm` add lines: this host's SAD and SPD
///           - state add src 10.77.0.1 dst 10.77.0.2 proto esp spi 0x200 ... ctx "…"
///       server: { address: 10.77.0.2 }
///     associations: [ … ]                   # as in `salabel apply` (optional here)
public struct Scenario: Sendable {
    /// Where the policy comes from.
    public enum PolicySource: Sendable, Hashable {
        case embedded
        /// A policy.conf path (absolute, or resolved against the scenario's directory).
        case file(String)
    }

    public var name: String
    public var description: String?
    public var policy: PolicySource
    public var enforcing: Bool
    public var booleans: [String: Bool]
    /// Hosts and associations, as `salabel apply` reads them.
    public var layout: ApplyFile
    /// Each host's own SAs and SPD entries, beyond its associations.
    public var xfrm: [String: [XfrmOperation]]
    /// Policy statements added to the policy's type enforcement part (before its first `user`).
    public var policyRules: String?
    /// The `policycap` statements the scenario adds (`true`) to or removes (`false`) from its
    /// policy (`policy_capabilities:`; Specs/scenarios/README.md): for every host and every policy
    /// a `reload` step loads.
    public var policyCapabilities: [String: Bool]
    /// Named contexts the steps run under.
    public var actors: [String: SecurityContext]
    /// What happens, in order, with what is expected (Specs/scenarios/README.md, "Steps").
    public var steps: [ScenarioStep]
    /// The context each host's IKE daemon (pluto) runs in, for the hosts of associations keyed by
    /// IKE (`ike_daemon:` at the top, or `hosts.NAME.ike_daemon`; Specs/scenarios/README.md,
    /// "Associations keyed by IKE").
    public var ikeDaemons: [String: SecurityContext]
    /// Whether the hosts are namespaces of one kernel or each a kernel of its own (`kernels:`;
    /// Specs/scenarios/README.md, "Hosts on kernels of their own").
    public var kernels: Kernels
    /// Each host's own policy statements and mode, for hosts on kernels of their own
    /// (`hosts.NAME.policy_rules`, `hosts.NAME.enforcing`).
    public var hostPolicies: [String: HostPolicy]
    /// The `netlabelctl` lines applied to the kernel before the steps (`netlabel:`; Specs/scenarios/README.md,
    /// "NetLabel").
    public var netLabel: [NetLabelCommand]
    /// The hosts that forward and the routes through them (`hosts.NAME.forwarding`,
    /// `hosts.NAME.routes`; Specs/scenarios/README.md, "Gateways").
    public var forwarding: Forwarding

    /// A scenario error: the file, where in it, and what was expected.
    public struct Error: Swift.Error, Sendable, Hashable, CustomStringConvertible {
        public var file: String
        public var path: String
        public var message: String
        public var description: String { "\(file): " + (path.isEmpty ? message : "\(path): \(message)") }
    }

    /// The fields a scenario adds to the apply format.
    static let topLevelFields: Set<String> = [
        "description", "policy", "policy_rules", "enforcing", "booleans", "actors", "steps", "ike_daemon", "kernels", "netlabel",
        "policy_capabilities",
    ]
    static let hostFields: Set<String> = ["xfrm", "ike_daemon", "policy_rules", "enforcing", "forwarding", "routes"]

    /// Parses a scenario; `file` names it in errors and resolves a relative policy path.
    public init(yaml text: String, file: String = "<scenario>") throws(Scenario.Error) {
        func fail(_ path: String, _ message: String) -> Scenario.Error { Error(file: file, path: path, message: message) }
        let document: Any?
        do {
            document = try ApplyFile.load(yaml: text)
            layout = try ApplyFile(
                document: document,
                extension: ApplyFile.Extension(
                    topLevelFields: Self.topLevelFields, hostFields: Self.hostFields,
                    associationsOptional: true, ikeKeying: true))
        } catch {
            throw fail(error.path, error.message)
        }
        // ApplyFile checked that the document is a mapping with known fields only.
        let top = document as? [String: Any] ?? [:]
        name = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
        description = top["description"].map { "\($0)" }
        switch top["policy"] {
        case nil: policy = .embedded
        case let p as String where p == "embedded": policy = .embedded
        case let p as String where !p.isEmpty:
            let base = URL(fileURLWithPath: file).deletingLastPathComponent()
            policy = .file(p.hasPrefix("/") ? p : base.appendingPathComponent(p).path)
        default: throw fail("policy", "expected embedded or a policy.conf path")
        }
        switch top["enforcing"] {
        case nil: enforcing = true
        case let b as Bool: enforcing = b
        default: throw fail("enforcing", "expected true or false")
        }
        booleans = [:]
        if let b = top["booleans"] {
            guard let map = b as? [String: Any] else { throw fail("booleans", "expected a mapping of boolean names to true/false") }
            for (k, v) in map {
                guard let value = v as? Bool else { throw fail("booleans.\(k)", "expected true or false") }
                booleans[k] = value
            }
        }
        xfrm = [:]
        let hosts = top["hosts"] as? [String: Any] ?? [:]
        for (host, value) in hosts {
            guard let lines = (value as? [String: Any])?["xfrm"] else { continue }
            guard let list = lines as? [Any] else { throw fail("hosts.\(host).xfrm", "expected a list of `ip xfrm` lines") }
            var ops: [XfrmOperation] = []
            for (i, line) in list.enumerated() {
                let path = "hosts.\(host).xfrm[\(i)]"
                let op: XfrmOperation?
                do { op = try IPXfrmSyntax.parse(line: "\(line)", lineNumber: i + 1) } catch { throw fail(path, "\(error)") }
                switch op {
                case .addSA?, .addPolicy?: ops.append(op!)
                default: throw fail(path, "a host's xfrm list holds `state add` and `policy add` lines only")
                }
            }
            xfrm[host] = ops
        }
        switch top["policy_rules"] {
        case nil: policyRules = nil
        case let r as String: policyRules = r
        default: throw fail("policy_rules", "expected policy statements as text (a YAML block: policy_rules: |)")
        }
        policyCapabilities = try Self.policyCapabilities(top, fail: fail)
        actors = [:]
        if let a = top["actors"] {
            guard let map = a as? [String: Any] else { throw fail("actors", "expected a mapping of names to contexts") }
            for (k, v) in map {
                guard let text = v as? String else { throw fail("actors.\(k)", "expected a context") }
                do { actors[k] = try SecurityContext(parsing: text) } catch { throw fail("actors.\(k)", "\(error)") }
            }
        }
        ikeDaemons = try Self.ikeDaemons(top, layout: layout, fail: fail)
        (kernels, hostPolicies) = try Self.kernels(top, layout: layout, fail: fail)
        netLabel = try Self.netLabelCommands(top, kernels: kernels, fail: fail)
        forwarding = try Self.forwarding(top, layout: layout, fail: fail)
        for host in Self.ikeHosts(of: layout) {
            do { _ = try LibreswanConfiguration.forHost(layout, host: host, psks: nil) } catch { throw fail(error.path, error.message) }
        }
        steps = []
        if let s = top["steps"] {
            guard let list = s as? [Any] else { throw fail("steps", "expected a list of steps") }
            let hostNames = Set(layout.hosts.keys)
            for (i, item) in list.enumerated() {
                steps.append(try ScenarioStep.parse(item, index: i, hosts: hostNames, actors: actors, addresses: layout.hosts.mapValues(\.address), fail: fail))
            }
            try checkKernelNames(fail: fail)
        }
    }

    /// Reads and parses a scenario file.
    public static func load(path: String) throws(Scenario.Error) -> Scenario {
        // The apply format's size limit, checked before the file is read into memory.
        let limit = YAMLLimits.document.maximumBytes
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size > limit {
            throw Error(file: path, path: "", message: "the file is \(size) bytes, more than the limit of \(limit) bytes")
        }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw Error(file: path, path: "", message: "cannot read the file")
        }
        return try Scenario(yaml: text, file: path)
    }

    /// The security server the scenario's policy (with its `policy_rules`), mode and booleans describe.
    public func securityServer() throws(PolicyLoadError) -> SecurityServer {
        if policyRules == nil, policyCapabilities.isEmpty, case .embedded = policy {
            return try SecurityServer.embedded(enforcing: enforcing, booleans: booleans)
        }
        let (text, file) = try policyText()
        return try SecurityServer(policyText: text, file: file, enforcing: enforcing, booleans: booleans)
    }

    /// The host names, sorted.
    public var hosts: [String] { layout.hosts.keys.sorted() }

    /// The host that has `address`.
    public func host(with address: IPAddress) -> String? {
        layout.hosts.values.filter { $0.address == address }.map(\.name).sorted().first
    }

    /// What `host` holds, in the order it is installed: its associations' SAs and SPD entries (as
    /// `salabel apply` plans them, with `keys`; for associations keyed by IKE, the SPD entries
    /// pluto routes and no SA), then its own `xfrm` lines. The model and the
    /// resolver use zero keys (they never read them); the kernel run generates random ones, and
    /// leaves out the entries pluto routes (`ikeRoutes: false`).
    public func contents(host: String, keys: KeyFile? = nil, ikeRoutes: Bool = true) throws(Scenario.Error) -> (
        sas: [SecurityAssociation], policies: [PolicyEntry]
    ) {
        guard layout.hosts[host] != nil else {
            throw Error(file: name, path: "hosts", message: "no host \(host) (hosts: \(hosts.joined(separator: ", ")))")
        }
        var sas: [SecurityAssociation] = [], policies: [PolicyEntry] = []
        if layout.associations.contains(where: { $0.between.0 == host || $0.between.1 == host }) {
            let keys = keys ?? KeyFile.generate(for: layout) { Array(repeating: 0, count: $0) }
            do {
                (sas, policies) = try ApplyPlanner.desired(layout, host: host, keys: keys, ikeRoutes: ikeRoutes)
            } catch {
                throw Error(file: name, path: error.path, message: error.message)
            }
        }
        for op in xfrm[host] ?? [] {
            switch op {
            case .addSA(let sa): sas.append(sa)
            case .addPolicy(let p): policies.append(p)
            default: break
            }
        }
        return (sas, policies)
    }

    /// What `host` holds, as the resolver sees it (``contents(host:keys:ikeRoutes:)`` with zero keys).
    public func mirror(host: String) throws(Scenario.Error) -> XfrmMirror {
        let (sas, policies) = try contents(host: host)
        return XfrmMirror(sas: sas, policies: policies)
    }

    /// What `hosts` hold together (`salabel why` on a scenario's records): their SPD entries, and
    /// their SAs each once (an association's SA stands on both of its hosts).
    public func mirror(hosts: [String]) throws(Scenario.Error) -> XfrmMirror {
        var sas: [SecurityAssociation] = [], policies: [PolicyEntry] = []
        for h in hosts {
            let m = try mirror(host: h)
            sas += m.sas.filter { sa in !sas.contains { $0.destination == sa.destination && $0.spi == sa.spi && $0.proto == sa.proto } }
            policies += m.policies
        }
        return XfrmMirror(sas: sas, policies: policies)
    }
}
