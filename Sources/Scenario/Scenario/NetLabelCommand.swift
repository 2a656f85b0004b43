public import IPsecModel
public import Resolver
public import SecurityContexts

/// One line of a scenario's `netlabel:` list: the arguments of a `netlabelctl` call (Debian
/// netlabel-tools), read into what it does to the kernel's NetLabel tables (net/netlabel). Only
/// the commands the model understands are accepted (Specs/scenarios/README.md, "NetLabel"):
///
///     cipsov4 add pass doi:16 tags:1
///     calipso add pass doi:16
///     map del default
///     map add default [address:10.77.0.0/24] protocol:cipsov4,16 | protocol:calipso,16 | protocol:unlbl
///     unlbl add default address:10.77.0.1/32 label:system_u:object_r:fallback_peer_t:s0
///     unlbl accept on | off
public struct NetLabelCommand: Sendable, Hashable {
    /// What a line does.
    public enum Operation: Sendable, Hashable {
        /// `cipsov4 add pass doi:N tags:T,…` (`cipso_v4_doi_add`, `CIPSO_V4_MAP_PASS`).
        case cipsoAddPass(doi: UInt32, tags: [Int])
        /// `calipso add pass doi:N` (`calipso_doi_add`, `CALIPSO_MAP_PASS`).
        case calipsoAddPass(doi: UInt32)
        /// `map del default` (`netlbl_domhsh_remove_default`).
        case mapDeleteDefault
        /// `map add default [address:P] protocol:…` (`netlbl_domhsh_add_default`).
        case mapAddDefault(address: IPPrefix?, mapping: NetLabelState.Mapping)
        /// `unlbl add default address:P label:CONTEXT` (`netlbl_unlhsh_add` on the default interface).
        case unlabeledAdd(address: IPPrefix, label: SecurityContext)
        /// `unlbl accept on|off` (`netlbl_unlabel_acceptflg_set`).
        case unlabeledAccept(Bool)
    }

    /// The line as written: `netlabelctl` is run with its words as arguments.
    public var line: String
    public var operation: Operation

    /// The arguments `netlabelctl` is called with.
    public var arguments: [String] { line.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }

    /// Reads one line; the error says what was expected.
    public static func parse(_ line: String) throws(NetLabelSyntaxError) -> NetLabelCommand {
        let w = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        func fail(_ m: String) -> NetLabelSyntaxError { NetLabelSyntaxError(message: m) }
        func value(_ word: String, _ key: String) throws(NetLabelSyntaxError) -> String {
            guard word.hasPrefix(key + ":"), word.count > key.count + 1 else { throw fail("expected \(key):VALUE, found `\(word)`") }
            return String(word.dropFirst(key.count + 1))
        }
        func prefix(_ word: String) throws(NetLabelSyntaxError) -> IPPrefix {
            let text = try value(word, "address")
            guard let p = IPPrefix(text) else { throw fail("`\(text)` is not an address or ADDRESS/LENGTH") }
            return p
        }
        func doi(_ text: String) throws(NetLabelSyntaxError) -> UInt32 {
            guard let n = UInt32(text), n > 0 else { throw fail("`\(text)` is not a DOI (a number from 1)") }
            return n
        }
        let op: Operation
        switch w.first {
        case "cipsov4":
            guard w.count == 5, w[1] == "add", w[2] == "pass" else {
                throw fail("the cipsov4 line the model knows is `cipsov4 add pass doi:N tags:T[,T…]` (trans and local DOIs are not modeled)")
            }
            let tags = try value(w[4], "tags").split(separator: ",").map { Int($0) }
            guard !tags.isEmpty, tags.allSatisfy({ $0 == 1 }) else {
                throw fail("tags:1 only (the restricted bitmap tag; the model does not write the enumerated or ranged tags)")
            }
            op = .cipsoAddPass(doi: try doi(try value(w[3], "doi")), tags: tags.map { $0! })
        case "calipso":
            guard w.count == 4, w[1] == "add", w[2] == "pass" else { throw fail("the calipso line the model knows is `calipso add pass doi:N`") }
            op = .calipsoAddPass(doi: try doi(try value(w[3], "doi")))
        case "map":
            if w.count == 3, w[1] == "del", w[2] == "default" {
                op = .mapDeleteDefault
                break
            }
            guard w.count == 4 || w.count == 5, w[1] == "add", w[2] == "default" else {
                throw fail("expected `map del default` or `map add default [address:P] protocol:…` (domain mappings are not modeled)")
            }
            let address = w.count == 5 ? try prefix(w[3]) : nil
            let proto = try value(w[w.count - 1], "protocol")
            if proto == "unlbl" {
                op = .mapAddDefault(address: address, mapping: .unlabeled)
            } else if proto.hasPrefix("cipsov4,") {
                op = .mapAddDefault(address: address, mapping: .cipso(doi: try doi(String(proto.dropFirst("cipsov4,".count)))))
            } else if proto.hasPrefix("calipso,") {
                op = .mapAddDefault(address: address, mapping: .calipso(doi: try doi(String(proto.dropFirst("calipso,".count)))))
            } else {
                throw fail("protocol:unlbl, protocol:cipsov4,DOI or protocol:calipso,DOI")
            }
        case "unlbl":
            if w.count == 3, w[1] == "accept", w[2] == "on" || w[2] == "off" {
                op = .unlabeledAccept(w[2] == "on")
                break
            }
            guard w.count == 5, w[1] == "add" else {
                throw fail("expected `unlbl accept on|off` or `unlbl add default address:P label:CONTEXT`")
            }
            guard w[2] == "default" else {
                throw fail(
                    "`\(w[2])`: only the default interface (`default`); NetLabel resolves an interface name in the first namespace (init_net) and keeps its index, which names another device in a host's namespace"
                )
            }
            let text = try value(w[4], "label")
            let label: SecurityContext
            do { label = try SecurityContext(parsing: text) } catch { throw fail("label: \(error)") }
            op = .unlabeledAdd(address: try prefix(w[3]), label: label)
        default:
            throw fail("expected a cipsov4, calipso, map or unlbl line")
        }
        return NetLabelCommand(line: w.joined(separator: " "), operation: op)
    }

    /// The NetLabel tables after `commands`, from the boot's (`map add default protocol:unlbl`,
    /// accept on, nothing else).
    public static func state(after commands: [NetLabelCommand]) -> NetLabelState {
        var s = NetLabelState()
        for c in commands {
            switch c.operation {
            case .cipsoAddPass(let doi, _): s.cipsoPassDOIs.insert(doi)
            case .calipsoAddPass(let doi): s.calipsoPassDOIs.insert(doi)
            case .mapDeleteDefault:
                s.defaultMapping = nil
                s.addressMappings = []
            case .mapAddDefault(nil, let m): s.defaultMapping = m
            case .mapAddDefault(let p?, let m): s.addressMappings.append(NetLabelState.AddressMapping(p, m))
            case .unlabeledAdd(let p, let label): s.staticLabels.append(NetLabelState.StaticLabel(p, label))
            case .unlabeledAccept(let on): s.acceptUnlabeled = on
            }
        }
        return s
    }

    /// The `netlabelctl` calls that bring the tables back to the boot's after `commands`: the
    /// default mapping first (a DOI a mapping uses cannot be removed), then each DOI and static
    /// label, then accept on.
    public static func reset(after commands: [NetLabelCommand]) -> [[String]] {
        let s = state(after: commands)
        var out: [[String]] = []
        if s.defaultMapping != nil || !s.addressMappings.isEmpty { out.append(["map", "del", "default"]) }
        out.append(["map", "add", "default", "protocol:unlbl"])
        out += s.cipsoPassDOIs.sorted().map { ["cipsov4", "del", "doi:\($0)"] }
        out += s.calipsoPassDOIs.sorted().map { ["calipso", "del", "doi:\($0)"] }
        out += s.staticLabels.map { ["unlbl", "del", "default", "address:\($0.prefix)"] }
        out.append(["unlbl", "accept", "on"])
        return out
    }
}

/// A `netlabel:` line the model does not understand.
public struct NetLabelSyntaxError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What was expected, and what was found.
    public var message: String
    public var description: String { message }
}

extension Scenario {
    /// Reads the top-level `netlabel:` list: one `netlabelctl` line each, for the whole kernel
    /// (NetLabel's tables are `init_net`'s and serve every namespace, so the field is the
    /// scenario's, not a host's). With `kernels: per_host` it is an error: the pair runner does
    /// not configure NetLabel.
    static func netLabelCommands(_ top: [String: Any], kernels: Kernels, fail: (String, String) -> Scenario.Error) throws(Scenario.Error) -> [NetLabelCommand] {
        guard let v = top["netlabel"] else { return [] }
        guard let list = v as? [Any] else { throw fail("netlabel", "expected a list of netlabelctl lines") }
        if kernels == .perHost {
            throw fail("netlabel", "not supported with kernels: per_host (NetLabel is one kernel's; the pair runner does not configure it)")
        }
        var out: [NetLabelCommand] = []
        for (i, item) in list.enumerated() {
            guard let line = item as? String else { throw fail("netlabel[\(i)]", "expected a netlabelctl line") }
            do { out.append(try NetLabelCommand.parse(line)) } catch { throw fail("netlabel[\(i)]", error.message) }
        }
        return out
    }

    /// The NetLabel tables the scenario's `netlabel:` lines leave (``NetLabelCommand/state(after:)``).
    public var netLabelState: NetLabelState { NetLabelCommand.state(after: netLabel) }
}
