import IPsecModel
public import SecurityContexts
public import XfrmManager

/// One step of a scenario (Specs/scenarios/README.md, "Steps"): what an actor does on a host, and
/// what the scenario expects to happen.
public struct ScenarioStep: Sendable, Hashable {
    /// What the step does.
    public enum Action: Sendable, Hashable {
        /// An `ip xfrm` command (add, update, delete, flush, deleteall) sent over NETLINK_XFRM by a
        /// process running as `actor` on `host`.
        case xfrm(XfrmCommand)
        /// A TCP connection (`proto: tcp`) or a UDP datagram (`proto: udp`) from a socket labeled
        /// `actor` on `from` to a server socket labeled `serverActor` on `to`, and the server's
        /// answer back (the echo).
        case traffic(Traffic)
        /// Booleans set and committed at once, by the harness (`setsebool` without `-P`: each
        /// `/sys/fs/selinux/booleans/NAME` written, then `commit_pending_bools`). The kernel's
        /// `security_set_bools` makes a new policy with the values and resets the access vector
        /// cache (`selinux_notify_policy_change` → `avc_ss_reset`), whether or not a value changed.
        case booleans([String: Bool])
        /// The global mode switched by the harness (`/sys/fs/selinux/enforce`). The kernel's
        /// `sel_write_enforce` resets the access vector cache only when the mode changes to
        /// enforcing (`avc_ss_reset(0)`); back to permissive, the cached decisions stay.
        case enforcing(Bool)
        /// Another policy loaded by the harness (`/sys/fs/selinux/load`, `sel_write_load` →
        /// `security_load_policy`): the scenario's policy with other `policy_rules`. The kernel keeps
        /// the booleans' values by name (`security_preserve_bools`), converts the SID table (a
        /// label the new policy no longer knows keeps its SID and is judged as the unlabeled
        /// context), resets the access vector cache and bumps every namespace's route generation
        /// (`selinux_notify_policy_change`).
        case reload(PolicyReload)
    }

    /// A `reload` step: the statements that take the place of the scenario's `policy_rules`.
    public struct PolicyReload: Sendable, Hashable {
        /// The new policy's rules, inserted where the scenario's `policy_rules` are (nil: the
        /// scenario's policy without them).
        public var policyRules: String?

        public init(policyRules: String?) { self.policyRules = policyRules }
    }

    /// An `ip xfrm` command whose context is kept as written: the kernel sees exactly these bytes
    /// (plus iproute2's NUL), whether or not they form a valid context.
    public struct XfrmCommand: Sendable, Hashable {
        public var host: String
        /// The actor's name and context.
        public var actor: String
        public var actorContext: SecurityContext
        /// The line as written.
        public var line: String
        /// The operation, with a placeholder where the line has a `ctx` (see `rawContext`).
        public var operation: XfrmOperation
        /// The `ctx` word as written (padded to `contextLength` when given), or nil.
        public var rawContext: String?
        /// What is sent: the line's own request, or a message iproute2 has no command for.
        public var request: Request = .line

        /// The message an xfrm step sends.
        public enum Request: Sendable, Hashable {
            /// An `xfrm` step: the request of `operation`, as iproute2 sends it.
            case line
            /// An `xfrm_expire` step: a hard `XFRM_MSG_EXPIRE` for the SA `operation` (a `deleteSA`)
            /// names, or a hard `XFRM_MSG_POLEXPIRE` for the SPD entry it names (a `deletePolicy`),
            /// which the kernel takes as a deletion with no SELinux check on the object's label
            /// (`xfrm_add_sa_expire`, `xfrm_add_pol_expire`; Specs/kernel/labeled-ipsec.md, edge 35).
            case hardExpire
            /// An `xfrm_migrate` step: an `XFRM_MSG_MIGRATE` for the SPD entry `operation` (a
            /// `deletePolicy` by selector, without a label) names, moving one SA and the entry's
            /// matching templates to new addresses (`xfrm_do_migrate`; edge 36).
            case migrate(SAMigration)
        }

        /// An `xfrm_expire` step.
        public var hardExpire: Bool { request == .hardExpire }

        /// The message's name: `XFRM_MSG_EXPIRE`, `XFRM_MSG_POLEXPIRE` or `XFRM_MSG_MIGRATE`; nil for
        /// an `xfrm` step's line, which iproute2 can send.
        public var messageName: String? {
            switch (request, operation) {
            case (.line, _): nil
            case (.hardExpire, .deletePolicy): "XFRM_MSG_POLEXPIRE"
            case (.hardExpire, _): "XFRM_MSG_EXPIRE"
            case (.migrate, _): "XFRM_MSG_MIGRATE"
            }
        }
    }

    /// Traffic between two hosts.
    public struct Traffic: Sendable, Hashable {
        public enum Proto: String, Sendable, Hashable { case tcp, udp }
        public var proto: Proto
        public var from: String
        public var to: String
        public var port: UInt16
        public var actor: String
        public var actorContext: SecurityContext
        public var serverActor: String
        public var serverContext: SecurityContext
        /// Whether the server answers (the echo); default true.
        public var reply: Bool
        /// The client socket's outbound per-socket policy, set before it connects or sends; nil: none.
        public var socketPolicy: SocketPolicy? = nil
    }

    public var name: String
    public var action: Action
    public var expect: StepExpectation
    /// Other expectations from a Linux version on (`expect_since: { "6.12": {…} }`), for a step whose
    /// kernel behaviour changed: each replaces `expect` whole on that version and later ones.
    public var expectSince: [LinuxVersion: StepExpectation] = [:]

    /// What the step expects on `linux`: the `expect_since` entry of the highest version at or
    /// below it, else `expect`.
    public func expectation(on linux: LinuxVersion) -> StepExpectation {
        expectSince.filter { $0.key <= linux }.max { $0.key < $1.key }?.value ?? expect
    }
}

/// What a scenario says a step does; `nil` fields are not checked.
public struct StepExpectation: Sendable, Hashable {
    /// `ok` or an errno name (`EACCES`, `EINVAL`, `ETIMEDOUT`, …).
    public var result: String?
    public var delivered: Bool?
    /// The label the server sees: a context, or `none`.
    public var peer: String?
    public var replyDelivered: Bool?
    public var replyPeer: String?
    /// ACQUIREs by host: a context, or `unlabeled`. An empty map expects none.
    public var acquire: [String: String]?
    /// The AVC lines, in the normalized form of ``AVCLine``. An empty list expects none.
    public var avc: [AVCLine]?

    public init() {}
}

/// The context placeholder used to parse an `ip xfrm` line whose `ctx` may be invalid.
let placeholderContext = "system_u:object_r:salabel_placeholder_t:s0"

extension XfrmOperation {
    /// The same operation with every label it carries replaced by `context`.
    public func replacingContext(with context: SecurityContext) -> XfrmOperation {
        switch self {
        case .addSA(var sa): sa.securityContext = context; return .addSA(sa)
        case .updateSA(var sa): sa.securityContext = context; return .updateSA(sa)
        case .addPolicy(var p): p.securityContext = context; return .addPolicy(p)
        case .updatePolicy(var p): p.securityContext = context; return .updatePolicy(p)
        case .deletePolicy(.selector(let sel, let dir, _), let mark, let type, let ifID):
            return .deletePolicy(.selector(sel, dir, securityContext: context), mark: mark, policyType: type, interfaceID: ifID)
        case .getPolicy(.selector(let sel, let dir, _), let mark, let type, let ifID):
            return .getPolicy(.selector(sel, dir, securityContext: context), mark: mark, policyType: type, interfaceID: ifID)
        default: return self
        }
    }
}

extension ScenarioStep {
    /// Parses `steps[index]`; `fail` builds the error for a path and message.
    static func parse(
        _ value: Any, index: Int, hosts: Set<String>, actors: [String: SecurityContext], addresses: [String: IPAddress] = [:],
        fail: (String, String) -> Scenario.Error
    ) throws(Scenario.Error) -> ScenarioStep {
        let path = "steps[\(index)]"
        guard let map = value as? [String: Any] else {
            throw fail(path, "expected a mapping (name, one of xfrm/xfrm_expire/xfrm_migrate/tcp/udp/boolean/enforcing/reload, expect)")
        }
        let known: Set<String> = [
            "name", "host", "as", "xfrm", "xfrm_expire", "xfrm_migrate", "context_length", "tcp", "udp", "boolean", "enforcing", "reload", "expect",
            "expect_since",
        ]
        if let unknown = map.keys.filter({ !known.contains($0) }).sorted().first {
            throw fail("\(path).\(unknown)", "unknown field (expected one of \(known.sorted().joined(separator: ", ")))")
        }
        let kinds = ["xfrm", "xfrm_expire", "xfrm_migrate", "tcp", "udp", "boolean", "enforcing", "reload"].filter { map[$0] != nil }
        guard kinds.count == 1 else {
            throw fail(
                path,
                "expected exactly one of xfrm, xfrm_expire, xfrm_migrate, tcp, udp, boolean, enforcing, reload; found \(kinds.isEmpty ? "none" : kinds.joined(separator: ", "))"
            )
        }
        // `host`, `as` and `context_length` belong to xfrm requests only (`context_length` to lines with a ctx).
        if kinds[0] == "xfrm_expire", map["context_length"] != nil { throw fail("\(path).context_length", "an EXPIRE carries no context") }
        if kinds[0] == "xfrm_migrate", map["context_length"] != nil { throw fail("\(path).context_length", "a MIGRATE carries no context") }
        if !kinds[0].hasPrefix("xfrm"), let field = ["host", "as", "context_length"].first(where: { map[$0] != nil }) {
            let who =
                ["boolean", "enforcing", "reload"].contains(kinds[0])
                ? "the harness makes this change, as no actor on no host" : "not a field of a \(kinds[0]) step"
            throw fail("\(path).\(field)", who)
        }
        let name = (map["name"] as? String) ?? "step \(index + 1)"

        func actor(_ field: String, _ value: Any?) throws(Scenario.Error) -> (String, SecurityContext) {
            guard let name = value as? String else {
                throw fail("\(path).\(field)", "expected an actor name (one of actors: \(actors.keys.sorted().joined(separator: ", ")))")
            }
            guard let context = actors[name] else {
                throw fail("\(path).\(field)", "no actor '\(name)' (actors: \(actors.keys.sorted().joined(separator: ", ")))")
            }
            return (name, context)
        }
        func host(_ field: String, _ value: Any?) throws(Scenario.Error) -> String {
            guard let name = value as? String, hosts.contains(name) else {
                throw fail("\(path).\(field)", "expected a host (one of \(hosts.sorted().joined(separator: ", ")))")
            }
            return name
        }

        let action: Action
        if let line = map["xfrm_expire"] {
            // The SA as `ip xfrm state delete` names it (src, dst, proto, spi[, mark]), or after
            // `policy` the SPD entry as `ip xfrm policy delete` names it (POLEXPIRE).
            let expected =
                "expected `src ADDR dst ADDR proto PROTO spi SPI [mark …]` (an SA) or `policy SELECTOR dir DIR [ctx CONTEXT]` / `policy index N dir DIR` (an SPD entry)"
            guard let line = line as? String else { throw fail("\(path).xfrm_expire", expected) }
            let h = try host("host", map["host"])
            let (actorName, actorContext) = try actor("as", map["as"])
            let operation: XfrmOperation
            do {
                let words = try IPXfrmSyntax.words(line)
                operation =
                    words.first == "policy"
                    ? try IPXfrmSyntax.parse(words: ["policy", "delete"] + words.dropFirst())
                    : try IPXfrmSyntax.parse(words: ["state", "delete"] + words)
            } catch {
                throw fail("\(path).xfrm_expire", "\(error)")
            }
            switch operation {
            case .deleteSA(_, let source, _) where source != nil: break
            case .deleteSA: throw fail("\(path).xfrm_expire", "\(expected) (the SA's source too: the EXPIRE names it)")
            case .deletePolicy(_, _, _, let ifID) where ifID == nil: break
            default: throw fail("\(path).xfrm_expire", expected)
            }
            action = .xfrm(
                XfrmCommand(host: h, actor: actorName, actorContext: actorContext, line: line, operation: operation, rawContext: nil, request: .hardExpire))
        } else if let line = map["xfrm_migrate"] {
            guard let line = line as? String else { throw fail("\(path).xfrm_migrate", "expected `\(Self.migrateSyntax)`") }
            let h = try host("host", map["host"])
            let (actorName, actorContext) = try actor("as", map["as"])
            let (operation, migration) = try Self.parseMigrate(line) { message throws(Scenario.Error) in throw fail("\(path).xfrm_migrate", message) }
            action = .xfrm(
                XfrmCommand(
                    host: h, actor: actorName, actorContext: actorContext, line: line, operation: operation, rawContext: nil,
                    request: .migrate(migration)))
        } else if let line = map["xfrm"] {
            guard let line = line as? String else { throw fail("\(path).xfrm", "expected an `ip xfrm` line") }
            let h = try host("host", map["host"])
            let (actorName, actorContext) = try actor("as", map["as"])
            var words: [String]
            do { words = try IPXfrmSyntax.words(line) } catch { throw fail("\(path).xfrm", "\(error)") }
            var raw: String?
            if let i = words.firstIndex(of: "ctx"), i + 1 < words.count {
                raw = words[i + 1]
                words[i + 1] = placeholderContext
            }
            if let length = map["context_length"] {
                guard let n = length as? Int, n >= 2, n <= 60000, let r = raw else {
                    throw fail("\(path).context_length", "expected a length from 2 to 60000 bytes (with the NUL) for a line with a ctx")
                }
                // Padded with 'x' so that ctx_len (text + NUL) is exactly n.
                let text = Array(r.utf8.prefix(n - 1))
                raw = String(decoding: text + Array(repeating: UInt8(ascii: "x"), count: n - 1 - text.count), as: UTF8.self)
            }
            let operation: XfrmOperation
            do { operation = try IPXfrmSyntax.parse(words: words) } catch { throw fail("\(path).xfrm", "\(error)") }
            switch operation {
            case .addSA, .updateSA, .deleteSA, .flushSA, .deleteAllSA, .addPolicy, .updatePolicy, .deletePolicy, .flushPolicy, .deleteAllPolicies: break
            default: throw fail("\(path).xfrm", "expected a command that changes the SAD or SPD (add, update, delete, deleteall, flush)")
            }
            action = .xfrm(XfrmCommand(host: h, actor: actorName, actorContext: actorContext, line: line, operation: operation, rawContext: raw))
        } else if let b = map["boolean"] {
            // The names are checked against the policy when it is loaded (ScenarioModel).
            guard let m = b as? [String: Any], !m.isEmpty else { throw fail("\(path).boolean", "expected { NAME: true|false, … } with at least one boolean") }
            var values: [String: Bool] = [:]
            for (k, v) in m {
                guard let value = v as? Bool else { throw fail("\(path).boolean.\(k)", "expected true or false") }
                values[k] = value
            }
            action = .booleans(values)
        } else if let e = map["enforcing"] {
            guard let value = e as? Bool else { throw fail("\(path).enforcing", "expected true or false") }
            action = .enforcing(value)
        } else if let r = map["reload"] {
            // The rules are compiled with the scenario's policy when the model is made (ScenarioModel).
            guard let m = r as? [String: Any] else {
                throw fail("\(path).reload", "expected { policy_rules: TEXT }: the scenario's policy with these rules in place of its policy_rules")
            }
            if let unknown = m.keys.filter({ $0 != "policy_rules" }).sorted().first {
                throw fail("\(path).reload.\(unknown)", "unknown field (expected policy_rules)")
            }
            switch m["policy_rules"] {
            case nil: throw fail("\(path).reload.policy_rules", "required: the rules in place of the scenario's policy_rules (\"\" for none)")
            case let text as String: action = .reload(PolicyReload(policyRules: text.isEmpty ? nil : text))
            default: throw fail("\(path).reload.policy_rules", "expected policy statements as text (a YAML block: policy_rules: |)")
            }
        } else {
            let proto: Traffic.Proto = map["tcp"] != nil ? .tcp : .udp
            let field = proto.rawValue
            guard let t = map[field] as? [String: Any] else {
                throw fail("\(path).\(field)", "expected { from, to, port, as, server_as[, reply][, socket_policy] }")
            }
            let knownTraffic: Set<String> = ["from", "to", "port", "as", "server_as", "reply", "socket_policy"]
            if let unknown = t.keys.filter({ !knownTraffic.contains($0) }).sorted().first {
                throw fail("\(path).\(field).\(unknown)", "unknown field (expected one of \(knownTraffic.sorted().joined(separator: ", ")))")
            }
            let from = try host("\(field).from", t["from"]), to = try host("\(field).to", t["to"])
            guard from != to else { throw fail("\(path).\(field)", "from and to must be different hosts") }
            guard let port = t["port"] as? Int, (1...65535).contains(port) else { throw fail("\(path).\(field).port", "expected a port 1-65535") }
            let (a, ac) = try actor("\(field).as", t["as"])
            let (s, sc) = try actor("\(field).server_as", t["server_as"])
            var reply = true
            if let r = t["reply"] {
                guard let b = r as? Bool else { throw fail("\(path).\(field).reply", "expected true or false") }
                reply = b
            }
            var socketPolicy: SocketPolicy?
            if let sp = t["socket_policy"] {
                guard let text = sp as? String else { throw fail("\(path).\(field).socket_policy", "expected `[ctx CONTEXT] tmpl …`") }
                do { socketPolicy = try SocketPolicy.parse(text) } catch { throw fail("\(path).\(field).socket_policy", error.description) }
                let family = socketPolicy?.entry.selector.source.address.family
                if let to = addresses[to], to.family != family {
                    throw fail("\(path).\(field).socket_policy", "its templates are \(family.map { "\($0)" } ?? "-"), the hosts \(to.family)")
                }
            }
            action = .traffic(
                Traffic(
                    proto: proto, from: from, to: to, port: UInt16(port), actor: a, actorContext: ac,
                    serverActor: s, serverContext: sc, reply: reply, socketPolicy: socketPolicy))
        }
        let expect = try StepExpectation.parse(map["expect"], path: "\(path).expect", hosts: hosts, fail: fail)
        var since: [LinuxVersion: StepExpectation] = [:]
        if let value = map["expect_since"] {
            guard let versions = value as? [String: Any], !versions.isEmpty else {
                throw fail("\(path).expect_since", "expected { VERSION: { result, …, avc }, … }: the expectation from that Linux version on")
            }
            for (text, e) in versions {
                guard let version = LinuxVersion(text), text == version.description else {
                    throw fail("\(path).expect_since.\(text)", "expected a Linux version as MAJOR.MINOR, such as 6.12")
                }
                since[version] = try StepExpectation.parse(e, path: "\(path).expect_since.\(text)", hosts: hosts, fail: fail)
            }
        }
        return ScenarioStep(name: name, action: action, expect: expect, expectSince: since)
    }
}

extension StepExpectation {
    static func parse(_ value: Any?, path: String, hosts: Set<String>, fail: (String, String) -> Scenario.Error) throws(Scenario.Error) -> StepExpectation {
        var e = StepExpectation()
        guard let value else { return e }
        guard let map = value as? [String: Any] else { throw fail(path, "expected a mapping") }
        let known: Set<String> = ["result", "delivered", "peer", "reply_delivered", "reply_peer", "acquire", "avc"]
        if let unknown = map.keys.filter({ !known.contains($0) }).sorted().first {
            throw fail("\(path).\(unknown)", "unknown field (expected one of \(known.sorted().joined(separator: ", ")))")
        }
        func bool(_ k: String) throws(Scenario.Error) -> Bool? {
            guard let v = map[k] else { return nil }
            guard let b = v as? Bool else { throw fail("\(path).\(k)", "expected true or false") }
            return b
        }
        func label(_ k: String) throws(Scenario.Error) -> String? {
            guard let v = map[k] else { return nil }
            guard let s = v as? String else { throw fail("\(path).\(k)", "expected a context or none") }
            if s != "none" {
                do { _ = try SecurityContext(parsing: s) } catch { throw fail("\(path).\(k)", "expected a context or none: \(error)") }
            }
            return s
        }
        if let r = map["result"] {
            guard let s = r as? String, s == "ok" || (s.hasPrefix("E") && s.allSatisfy({ $0.isUppercase || $0.isNumber })) else {
                throw fail("\(path).result", "expected ok or an errno name such as EACCES")
            }
            e.result = s
        }
        e.delivered = try bool("delivered")
        e.replyDelivered = try bool("reply_delivered")
        e.peer = try label("peer")
        e.replyPeer = try label("reply_peer")
        if let a = map["acquire"] {
            guard let m = a as? [String: Any] else { throw fail("\(path).acquire", "expected { HOST: context or unlabeled }, or {} for none") }
            var acquire: [String: String] = [:]
            for (h, v) in m {
                guard hosts.contains(h) else { throw fail("\(path).acquire.\(h)", "no such host") }
                guard let s = v as? String else { throw fail("\(path).acquire.\(h)", "expected a context or unlabeled") }
                acquire[h] = s
            }
            e.acquire = acquire
        }
        if let a = map["avc"] {
            guard let list = a as? [Any] else { throw fail("\(path).avc", "expected a list of AVC lines, [] for none") }
            var lines: [AVCLine] = []
            for (i, item) in list.enumerated() {
                guard let text = item as? String, let line = AVCLine(parsing: text) else {
                    throw fail("\(path).avc[\(i)]", "expected `denied|granted { perm … } scontext=… tcontext=… tclass=…[ permissive=0|1][ host=HOST]`")
                }
                lines.append(line)
            }
            e.avc = lines
        }
        return e
    }
}
