public import DecisionEngine
import Foundation
import IKEConfig
import IPsecModel
import Resolver
import SecurityContexts
import XfrmManager
import LinuxSystem  // Errno: the C names of error numbers

/// A scenario played through salabel's model, without a kernel: the decision engine for every permission
/// check, the manager's rules for xfrm requests, the resolver for traffic. By default the hosts are network
/// namespaces of one kernel, as in the VM: they share one policy, one access vector cache and the kernel-wide
/// count of labeled xfrm objects (Specs/kernel/labeled-ipsec.md, edge 26). Hosts on kernels of their own
/// (``Scenario/Kernels/perHost``) have one of each apiece, and each AVC record names the host whose kernel
/// wrote it. The rules are in Specs/scenarios/README.md,
/// "What the model predicts". "edge N" in this file's comments and refusal reasons is edge N of
/// Specs/kernel/labeled-ipsec.md §g.
public struct ScenarioModel: StepPlayer {
    public let scenario: Scenario
    /// The security server of the first host's kernel: every host's, when they share one. Boolean
    /// and enforcing steps change its booleans and mode as the model plays them
    /// (``booleansAtStart(of:)`` keeps the values it started with).
    public let server: SecurityServer
    /// Each host's kernel: its security server, and the authorizer over its access vector cache
    /// (the same for every host when they share one kernel).
    let servers: [String: SecurityServer]
    let authorizers: [String: AssociationAuthorizer]
    var kernels: [String: SimulatedXfrmKernel] = [:]
    var acquires: [String: [PendingAcquire]] = [:]
    /// Each host's kernel's booleans before the first step: what the kernel run sets at load
    /// (boolean steps change the servers' as the model plays).
    let startingBooleans: [String: [String: Bool]]
    /// How many SAs the model's IKE daemons have installed (their SPIs' source).
    var negotiatedSPIs: UInt32 = 0
    /// Each IKE host's conns (``Scenario/ikeConfiguration(host:)``), made once.
    var ikeConfigurations: [String: LibreswanConfiguration] = [:]
    /// The policy of each reload step, compiled when the model is made (ScenarioModel+Reload.swift).
    let reloadPolicies: [ScenarioStep.PolicyReload: PolicyDB]

    /// The Linux version played: where kernels differ (Specs/scenarios/README.md, "Two kernels"),
    /// the model follows this one, and a step's expectation is the one for it
    /// (``ScenarioStep/expectation(on:)``).
    public let linux: LinuxVersion

    /// The client's source port in the model (the kernel picks one from the local range).
    static let clientPort: UInt16 = 40000

    /// The model of `scenario` on Linux `linux` (Debian 12's 6.1 unless told).
    public init(_ scenario: Scenario, linux: LinuxVersion = .debian12) throws(Scenario.Error) {
        self.scenario = scenario
        self.linux = linux
        var servers: [String: SecurityServer] = [:]
        for group in scenario.kernelGroups {
            let server: SecurityServer
            do { server = try scenario.securityServer(host: group[0]) } catch {
                let path = scenario.kernels == .shared ? "policy" : "hosts.\(group[0]).policy_rules"
                throw Scenario.Error(file: scenario.name, path: path, message: "\(error)")
            }
            for host in group { servers[host] = server }
        }
        self.servers = servers
        authorizers = Self.authorizers(servers, groups: scenario.kernelGroups)
        server = servers[scenario.hosts[0]]!
        startingBooleans = servers.mapValues(\.booleans)
        // Each reload's policy compiles, and a boolean step names booleans of the policy in force
        // then (the parser has not seen the policies).
        reloadPolicies = try scenario.reloadPolicies()
        try scenario.checkBooleanSteps(server.policy, reloads: reloadPolicies)
        for host in scenario.hosts {
            let (sas, policies) = try scenario.contents(host: host)
            kernels[host] = SimulatedXfrmKernel(sas: sas, policies: policies)
        }
        for host in scenario.ikeHosts { ikeConfigurations[host] = try scenario.ikeConfiguration(host: host) }
    }

    /// A context in the kernel's form (primary names, `c0.c3` category ranges); the text itself
    /// when the policy in force does not know it. Read from the policy, not the SID table, so that
    /// a label a reload left without meaning (judged as the unlabeled context) keeps its own text.
    public func canonical(_ text: String) -> String {
        let policy = server.policy
        guard let context = try? SecurityContext(parsing: text), let resolved = try? policy.resolve(context) else { return text }
        return policy.context(resolved).description
    }

    /// The security server of `host`'s kernel.
    public func server(of host: String) -> SecurityServer { servers[host]! }

    /// The values of every boolean of `host`'s kernel before the first step (the scenario's
    /// `booleans` over the policy's defaults): what the kernel run sets when it loads the policy.
    public func booleansAtStart(of host: String) -> [String: Bool] { startingBooleans[host]! }

    /// Authorizers over new access vector caches, one per kernel: what another player of the same
    /// hosts needs to keep an AVC of its own (DataPlanePlayer).
    func newAuthorizers() -> [String: AssociationAuthorizer] { Self.authorizers(servers, groups: scenario.kernelGroups) }

    /// One authorizer over one new cache per group of hosts sharing a kernel, for each host.
    static func authorizers(_ servers: [String: SecurityServer], groups: [[String]]) -> [String: AssociationAuthorizer] {
        var out: [String: AssociationAuthorizer] = [:]
        for group in groups {
            let authorizer = AssociationAuthorizer(cache: AccessVectorCache(server: servers[group[0]]!))
            for host in group { out[host] = authorizer }
        }
        return out
    }

    /// An engine record as a scenario line, naming `host` when the hosts have kernels of their own.
    func line(_ record: AuditRecord, on host: String) -> AVCLine {
        AVCLine(record).on(scenario.kernels == .perHost ? host : nil)
    }

    /// Plays every step, in order.
    public mutating func run() -> [StepOutcome] {
        play(scenario.steps)
    }

    /// Plays one step; steps must be played in the scenario's order.
    public mutating func play(_ step: ScenarioStep) -> StepOutcome {
        switch step.action {
        case .xfrm(let command): xfrm(command)
        case .traffic(let traffic): self.traffic(traffic)
        case .booleans(let values): setBooleans(values)
        case .enforcing(let on): setEnforcing(on)
        case .reload(let r): reload(r)
        }
    }

    // MARK: - The policy's state

    /// A boolean step: the harness sets the booleans and commits them (`sel_commit_bools_write` →
    /// `security_set_bools`). The kernel makes a new policy with the values, whether or not one
    /// changed, and tells everyone (`selinux_notify_policy_change`): `avc_ss_reset` empties the
    /// access vector cache, so a permissive denial cached as granted is audited again, and
    /// `selinux_xfrm_notify_policyload` bumps every namespace's route generation, so flows are
    /// looked up again (`polmatch` on the new rules). `SecurityServer.setBooleans` does the
    /// same: a new sequence number, told to every cache over the server (this model's, and a data
    /// plane player's). The harness's own checks are not the scenario's: no record.
    mutating func setBooleans(_ values: [String: Bool]) -> StepOutcome {
        let text = values.keys.sorted().map { "\($0)=\(values[$0]! ? 1 : 0)" }.joined(separator: " ")
        for group in scenario.kernelGroups {
            // Names were checked against the policy when the model was made.
            do { try servers[group[0]]!.setBooleans(values) } catch {
                return StepOutcome(result: "EINVAL", stage: "model", notes: ["setsebool \(text): \(error)"])
            }
        }
        return StepOutcome(result: "ok", notes: ["setsebool \(text): committed; the access vector cache is reset (security_set_bools)"])
    }

    /// The hosts whose kernels' access vector cache `step` resets by switching the mode: an
    /// `enforcing: true` step on a kernel in permissive mode (`setEnforcing`). A player
    /// that keeps caches of its own over the same servers (DataPlanePlayer) resets them too.
    func modeFlushes(_ step: ScenarioStep) -> [String] {
        guard case .enforcing(true) = step.action else { return [] }
        return scenario.kernelGroups.filter { !servers[$0[0]]!.enforcing }.flatMap { $0 }
    }

    /// An enforcing step: the harness writes `/sys/fs/selinux/enforce` (`sel_write_enforce`).
    /// Nothing happens when the mode does not change. Switched to enforcing, the kernel resets the
    /// access vector cache (`avc_ss_reset(0)`), so the permissive denials cached as granted are
    /// denied again; switched to permissive, it does not: decisions cached while enforcing are
    /// still there, and a denial among them is audited once more, with permissive=1, when it is
    /// next met (then cached as granted, `avc_denied` → `avc_update_node(AVC_CALLBACK_GRANT)`).
    /// The same in Linux 6.1 and 6.12.
    mutating func setEnforcing(_ on: Bool) -> StepOutcome {
        var notes: [String] = []
        for group in scenario.kernelGroups {
            let server = servers[group[0]]!
            guard server.enforcing != on else {
                notes.append("enforce=\(on ? 1 : 0): already; nothing changes")
                continue
            }
            server.setEnforcing(on)
            if on {
                authorizers[group[0]]!.cache.reset(seqno: 0)
                notes.append("enforce=1: the access vector cache is reset (sel_write_enforce → avc_ss_reset)")
            } else {
                notes.append("enforce=0: the cached decisions stay")
            }
        }
        return StepOutcome(result: "ok", notes: notes)
    }

    /// What `host` holds now (SAs, SPD entries, pending ACQUIREs, whether labels exist on other
    /// hosts), as the resolver sees it.
    public func resolver(_ host: String) -> Resolver {
        func mirror(_ name: String) -> XfrmMirror {
            XfrmMirror(sas: kernels[name]!.sas, policies: kernels[name]!.policies, acquires: acquires[name] ?? [])
        }
        // The count of labeled xfrm objects is a kernel's: only the hosts that share this one add to it.
        return scenario.resolver(
            host: host, mirror: mirror(host), authorizer: authorizers[host]!,
            labeledXfrmElsewhere: scenario.kernelNeighbours(of: host).contains { mirror($0).hasLabels })
    }

    // MARK: - xfrm requests

    /// An `ip xfrm` request by `actor` over NETLINK_XFRM, in the kernel's order: the socket's own checks
    /// (`netlink_xfrm_socket` create, bind, getattr, setopt as libmnl opens it; write and nlmsg_write on
    /// send; EACCES), CAP_NET_ADMIN's `capability net_admin` (EPERM; Specs/kernel/labeled-ipsec.md, edge 30),
    /// the SA's shape (``newSAShapeError(_:hasContext:)``: EINVAL, edges 31 and 32), the context's
    /// length (ENOMEM at 4096 with the NUL, edge 4) and validity (EINVAL, edge 8), then
    /// `association setcontext` on every label the request creates, looks up or removes (EACCES, edges 9 and
    /// 12), then the SAD/SPD rules (EEXIST, ESRCH, ENOENT), then `read` of the answer.
    mutating func xfrm(_ command: ScenarioStep.XfrmCommand) -> StepOutcome {
        let r = resolver(command.host)
        let actor = command.actorContext
        let server = servers[command.host]!, authorizer = authorizers[command.host]!
        var records: [AuditRecord] = []
        var notes: [String] = []
        func lines() -> [AVCLine] { records.map { line($0, on: command.host) } }
        func refused(_ errno: String, _ why: String) -> StepOutcome {
            StepOutcome(result: errno, avc: lines(), notes: notes + [why])
        }
        for perm in ["create", "bind", "getattr", "setopt", "write", "nlmsg_write"] {
            let c = r.check(actor, actor, "netlink_xfrm_socket", perm, what: "netlink_xfrm_socket { \(perm) }")
            if let rec = c.record { records.append(rec) }
            if !c.passed { return refused("EACCES", "\(c.what): \(c.reason)") }
        }
        let cap = r.check(actor, actor, "capability", "net_admin", what: "capability { net_admin }")
        if let rec = cap.record { records.append(rec) }
        if !cap.passed { return refused("EPERM", "\(cap.what): \(cap.reason)") }
        // The messages iproute2 cannot send: the model's kernel is changed past the manager.
        let unchecked: Result<String, Refusal>? =
            switch command.request {
            case .line: nil
            case .hardExpire: expire(command.operation, by: actor, on: command.host, records: &records)
            case .migrate(let m): migrate(command.operation, m, by: actor, on: command.host, records: &records)
            }
        if let done = unchecked {
            switch done {
            case .success(let note): notes.append(note)
            case .failure(let refusal): return refused(refusal.errno, refusal.why)
            }
            let read = r.check(actor, actor, "netlink_xfrm_socket", "read", what: "netlink_xfrm_socket { read }")
            if let rec = read.record { records.append(rec) }
            if !read.passed { return refused("EACCES", "the change is made; reading the answer: \(read.reason)") }
            return StepOutcome(result: "ok", avc: lines(), notes: notes)
        }
        if let why = Self.newSAShapeError(command.operation, hasContext: command.rawContext != nil) { return refused("EINVAL", why) }

        var operation = command.operation
        if let raw = command.rawContext {
            switch allocateContext(raw, server: server) {
            case .success(let context): operation = operation.replacingContext(with: context)
            case .failure(let refusal): return refused(refusal.errno, refusal.why)
            }
        }
        let kernel = kernels[command.host]!
        let manager = XfrmManager(kernel: kernel, authorizer: authorizer, subject: actor)
        // A flush also removes (and so checks) the larval SAs of ACQUIREs in progress.
        if case .flushSA = operation {
            for label in Set((acquires[command.host] ?? []).compactMap(\.label)) {
                let a = authorizer.setcontext(subject: actor, label: label)
                if let rec = a.record { records.append(rec) }
                if !a.granted { return refused("EACCES", "association { setcontext } on a larval SA's \(label): \(a.reason)") }
            }
        }
        do {
            let (_, auths) = try manager.perform(operation)
            records += auths.compactMap(\.record)
            notes += auths.map { "association { setcontext } \(actor) → \($0.target): \($0.reason)" }
        } catch {
            switch error {
            case .denied(let auths):
                records += auths.compactMap(\.record)
                return refused("EACCES", error.description)
            case .kernel(let k, let auths):
                records += auths.compactMap(\.record)
                return refused(Errno(rawValue: k.errno).name, error.description)
            case .labelNotStored:
                // The model's kernel stores every label; a kernel that drops them is no SELinux host.
                return refused("EOPNOTSUPP", error.description)
            case .engineUnavailable:
                // The model's engine is made before the steps run.
                return refused("EACCES", error.description)
            }
        }
        switch operation {
        case .flushSA, .deleteAllSA: acquires[command.host] = []
        case .addSA(let sa), .updateSA(let sa):
            acquires[command.host]?.removeAll { $0.source == sa.source && $0.destination == sa.destination && $0.proto == sa.proto }
        default: break
        }
        let read = r.check(actor, actor, "netlink_xfrm_socket", "read", what: "netlink_xfrm_socket { read }")
        if let rec = read.record { records.append(rec) }
        if !read.passed { return refused("EACCES", "the change was made; reading the answer: \(read.reason)") }
        return StepOutcome(result: "ok", avc: lines(), notes: notes)
    }

    /// Why `verify_newsa_info` refuses an SA (NEWSA or UPDSA) before SELinux reads its context, for
    /// the shapes a scenario's `ip xfrm` line can give: a ROUTING (`route2`, 43) or DSTOPTS (`hao`,
    /// 60) SA may carry no algorithm and no security context ("Invalid attributes for
    /// DSTOPTS/ROUTING", Specs/kernel/labeled-ipsec.md, edge 31), and it needs a care-of address,
    /// which the syntax cannot give (`coa` is refused by name). Either way EINVAL, before any
    /// setcontext check (edge 32). nil for every other request.
    static func newSAShapeError(_ operation: XfrmOperation, hasContext: Bool) -> String? {
        let sa: SecurityAssociation
        switch operation {
        case .addSA(let s), .updateSA(let s): sa = s
        default: return nil
        }
        guard sa.proto.rawValue == 43 || sa.proto.rawValue == 60 else { return nil }
        return hasContext
            ? "a \(sa.proto) SA with a security context: Invalid attributes for DSTOPTS/ROUTING (edge 31), before SELinux sees it (edge 32)"
            : "a \(sa.proto) SA without a care-of address: Missing required COADDR attribute for DSTOPTS/ROUTING"
    }

    /// A call the model refuses: the errno's name and the reason.
    struct Refusal: Error {
        var errno: String
        var why: String
    }

    /// The context of an xfrm request or a socket policy as `selinux_xfrm_alloc_user` takes it, before
    /// any setcontext check: `ctx_len` (the text and iproute2's NUL) of PAGE_SIZE or more is ENOMEM
    /// (Specs/kernel/labeled-ipsec.md, edge 4), a string `server`'s policy does not accept as a
    /// context is EINVAL (edge 8).
    func allocateContext(_ raw: String, server: SecurityServer) -> Result<SecurityContext, Refusal> {
        if raw.utf8.count + 1 >= 4096 { return .failure(Refusal(errno: "ENOMEM", why: "ctx_len \(raw.utf8.count + 1) ≥ PAGE_SIZE (edge 4)")) }
        guard let context = try? SecurityContext(parsing: raw), (try? server.validate(context)) != nil else {
            return .failure(Refusal(errno: "EINVAL", why: "the policy does not accept the context \(raw) (edge 8)"))
        }
        return .success(context)
    }

    /// `selinux_xfrm_alloc_user` for a label an xfrm request makes the kernel allocate as
    /// `actor` on `host` (a POLEXPIRE's lookup label, a MIGRATE's clone): the context's length and
    /// validity (``allocateContext(_:server:)``), then `association { setcontext }` on it (EACCES; its
    /// record appended to `records`). Nil when the label is allocated.
    func allocateAsSender(_ label: SecurityContext, by actor: SecurityContext, on host: String, records: inout [AuditRecord]) -> Refusal? {
        if case .failure(let refusal) = allocateContext(label.description, server: servers[host]!) { return refusal }
        let a = authorizers[host]!.setcontext(subject: actor, label: label)
        if let rec = a.record { records.append(rec) }
        return a.granted ? nil : Refusal(errno: "EACCES", why: "association { setcontext } on \(label): \(a.reason)")
    }

    // MARK: - Traffic

    /// A TCP connection or UDP datagram and its answer, as the resolver traces it, with the socket checks
    /// around it: the server's `name_bind` (ports outside the local range) and `node_bind`, the client's
    /// `name_connect` (TCP), and, when the peer checks are on (Specs/kernel/labeled-ipsec.md, edge 26), each
    /// packet's `netif { egress }` and `node { sendto }` with the sending socket's (or TCP connection's)
    /// context as subject.
    mutating func traffic(_ t: ScenarioStep.Traffic) -> StepOutcome {
        let sender = resolver(t.from), receiver = resolver(t.to)
        let cls = t.proto == .tcp ? "tcp_socket" : "udp_socket"
        var records: [AVCLine] = []
        var notes: [String] = []
        func run(_ c: ResolutionCheck, on host: String) -> Bool {
            if let rec = c.record { records.append(line(rec, on: host)) }
            notes.append(c.description)
            return c.passed
        }
        func outcome(
            _ result: String, stage: String? = nil, delivered: Bool? = nil, peer: String? = nil, replyDelivered: Bool? = nil,
            replyPeer: String? = nil, acquire: [String: String] = [:]
        ) -> StepOutcome {
            StepOutcome(
                result: result, stage: stage, delivered: delivered, peer: peer, replyDelivered: replyDelivered, replyPeer: replyPeer,
                acquire: acquire, avc: records, notes: notes)
        }
        guard let src = scenario.layout.hosts[t.from]?.address, let dst = scenario.layout.hosts[t.to]?.address else {
            return outcome("EINVAL", stage: "model")
        }
        // Each socket is labeled through `sockcreate` first (the server's, then the client's).
        if sockcreateRefuses(t.serverContext, on: t.to) { return outcome("EINVAL", stage: "server sockcreate", delivered: false) }
        // The server's socket: bind to the port on any address.
        for c in receiver.bindChecks(t.serverContext, port: t.port, protocol: t.proto.rawValue, family: dst.family) where !run(c, on: t.to) {
            return outcome("EACCES", stage: "bind", delivered: false)
        }
        if sockcreateRefuses(t.actorContext, on: t.from) { return outcome("EINVAL", stage: "client sockcreate", delivered: false) }
        // The client's socket policy, set before it connects or sends.
        var socketPolicy: PolicyEntry?
        if let sp = t.socketPolicy {
            switch setSocketPolicy(sp, t, resolver: sender, run: { run($0, on: t.from) }) {
            case .success(let entry): socketPolicy = entry
            case .failure(let refusal):
                notes.append(refusal.why)
                return outcome(refusal.errno, stage: "setsockopt", delivered: false)
            }
        }
        if t.proto == .tcp, let port = sender.portLabel(t.port, protocol: "tcp") {
            if !run(sender.check(t.actorContext, port, cls, "name_connect", what: "tcp_socket { name_connect } port \(t.port)"), on: t.from) {
                return outcome("EACCES", stage: "connect", delivered: false)
            }
        }
        let flow = Flow(
            context: t.actorContext, source: src, destination: dst, upperProtocol: t.proto == .tcp ? 6 : 17,
            sourcePort: Self.clientPort, destinationPort: t.port)
        var trace = path(flow, t, reply: t.reply || t.proto == .tcp, socketPolicy: socketPolicy)
        // A PF_KEY socket policy (the labeled kind) has an all-zero selector (`pfkey_compile_policy`
        // sets none), and `xfrm_bundle_create` allocates the bundle in `policy->selector.family`:
        // AF_UNSPEC has no afinfo, so once its SAs are found the call fails with EINVAL, nothing sent.
        if t.socketPolicy?.rawContext != nil, case .protected(let entry, _) = trace.outbound, entry.isSocketPolicy {
            for c in trace.legs.first?.checks ?? [] { _ = run(c, on: t.from) }
            notes.append("the socket policy's SAs are found, but PF_KEY left its selector's family AF_UNSPEC: xfrm_bundle_create fails (EINVAL)")
            return outcome("EINVAL", stage: t.proto == .tcp ? "connect" : "sendto", delivered: false)
        }
        var acquire: [String: String] = [:]
        // The hosts whose packet a postroute check refused: `NF_DROP_ERR(-ECONNREFUSED)`, which
        // `ip_local_out` hands back to the call that sent it (`udp_send_skb`, `tcp_connect`).
        var refusedAtPostroute: Set<String> = []
        // Each leg's checks, then the egress checks of each packet sent; with `register`, the
        // ACQUIRE a leg raises leaves a larval SA.
        func account(_ p: PathTrace, from: String, to: String, senderResolver: Resolver, register: Bool = true) -> Bool {
            var ok = true
            for leg in p.legs {
                // A failed check inside a leg may be a skip (a polmatch denial hides an entry); the
                // leg says whether the packet went on. Each leg's checks are its host's kernel's.
                let at = scenario.host(with: leg.host) ?? (leg.stage == .outbound ? from : to)
                for c in leg.checks { _ = run(c, on: at) }
                if !leg.passed { ok = false }
                if leg.stage == .outbound, leg.passed, let ctx = p.flow.context {
                    // selinux_ip_postroute: under network_peer_controls the secmark and egress
                    // checks, else (selinux_ip_postroute_compat) the secmark check and D4.
                    let postroute =
                        senderResolver.egressChecks(ctx, destination: p.flow.destination)
                        + senderResolver.postrouteCompatChecks(ctx, bundle: p.outboundBundle, upperProtocol: p.flow.upperProtocol)
                    for c in postroute where !run(c, on: from) {
                        ok = false
                        refusedAtPostroute.insert(from)
                    }
                }
                if !ok { break }
            }
            switch p.outbound {
            case .acquire(let entry, let label) where register:
                acquire[from] = label?.description ?? "unlabeled"
                // An ACQUIRE that pluto answered leaves no larval SA: its SAs replaced it.
                if let label, established.contains(IKEAnswer(host: from, label: label)) { break }
                let template = p.outboundTemplate.map { entry.templates[$0] } ?? entry.templates.first
                acquires[from, default: []].append(
                    PendingAcquire(
                        source: template?.source ?? p.flow.source, destination: template?.destination ?? p.flow.destination,
                        proto: template?.proto ?? .esp, mode: template?.mode, reqid: template?.reqid, label: label))
            default: break
            }
            return ok
        }
        // The hosts' plutos answer the ACQUIREs their conns hold; TCP sends the SYN (or SYN-ACK)
        // again once the SAs are in, a UDP datagram that raised an ACQUIRE is lost.
        var established: Set<IKEAnswer> = []
        if scenario.usesIKE {
            for _ in 0..<4 {
                guard let (host, leg, entry, label) = Self.acquiring(trace, from: t.from, to: t.to) else { break }
                _ = account(trace, from: t.from, to: t.to, senderResolver: resolver(t.from), register: false)
                if let r = trace.reply.first, trace.delivered { _ = account(r, from: t.to, to: t.from, senderResolver: resolver(t.to), register: false) }
                acquire[host] = label.description
                guard let n = negotiate(host: host, flow: leg.flow, entry: entry, label: label) else { break }
                records += n.records
                notes += n.notes
                guard n.established else { break }
                established.insert(IKEAnswer(host: host, label: label))
                if t.proto == .udp { break }
                notes.append("sent again once the SAs are in:")
                trace = path(flow, t, reply: true, socketPolicy: socketPolicy)
            }
        }
        var delivered = trace.delivered
        var replyDelivered: Bool?
        var replyPeer: String?
        let requestOK = account(trace, from: t.from, to: t.to, senderResolver: resolver(t.from))
        delivered = delivered && requestOK
        let sendError: String?
        switch trace.outbound {
        case .blocked: sendError = "EPERM"
        case .invalid: sendError = "EINVAL"
        case .noKeyManager: sendError = "EAGAIN"
        // A socket policy's missing SA fails the call itself: `xfrm_lookup_with_ifid` returns the
        // bundle's -EAGAIN for it (`dropdst`), where an SPD entry's makes a dummy bundle and, with
        // `xfrm_larval_drop`, a blackhole route (the packet lost, the call successful).
        case .acquire(let entry, _) where entry.isSocketPolicy: sendError = "EAGAIN"
        case .acquireInProgress(let entry, _) where entry.isSocketPolicy: sendError = "EAGAIN"
        default: sendError = nil
        }
        if let reply = trace.reply.first, delivered {
            let ok = account(reply, from: t.to, to: t.from, senderResolver: resolver(t.to))
            replyDelivered = reply.delivered && ok
            if replyDelivered == true { replyPeer = Self.peerRead(peerContext(reply.peerSeen, on: t.from), proto: t.proto, family: src.family) }
        }
        switch t.proto {
        case .tcp:
            if let e = sendError { return outcome(e, stage: "connect", delivered: false, acquire: acquire) }
            if refusedAtPostroute.contains(t.from) { return outcome("ECONNREFUSED", stage: "connect", delivered: false, acquire: acquire) }
            // The server sees the connection only once the handshake completes.
            guard delivered, replyDelivered == true else {
                return outcome("ETIMEDOUT", stage: "connect", delivered: false, acquire: acquire)
            }
            return outcome(
                "ok", delivered: true, peer: peerContext(trace.peerSeen, on: t.to)?.description ?? "none", replyDelivered: t.reply ? true : nil,
                replyPeer: t.reply ? replyPeer : nil, acquire: acquire)
        case .udp:
            if let e = sendError { return outcome(e, stage: "sendto", delivered: false, acquire: acquire) }
            if refusedAtPostroute.contains(t.from) { return outcome("ECONNREFUSED", stage: "sendto", delivered: false, acquire: acquire) }
            return outcome(
                "ok", delivered: delivered, peer: delivered ? Self.peerRead(peerContext(trace.peerSeen, on: t.to), proto: .udp, family: dst.family) : nil,
                replyDelivered: delivered && t.reply ? replyDelivered : nil, replyPeer: delivered && t.reply ? replyPeer : nil,
                acquire: acquire)
        }
    }
}

/// An ACQUIRE a host's pluto answered with SAs, in one step.
struct IKEAnswer: Hashable {
    var host: String
    var label: SecurityContext
}

extension ScenarioModel {
    /// The peer label a socket of the step reads: getpeercon for TCP; for UDP the `SCM_SECURITY`
    /// message, which only IPv4 datagrams carry (`udpv6_recvmsg` passes IPv4 control messages for
    /// v4-mapped datagrams only; Specs/kernel/labeled-ipsec.md, edge 25), so an IPv6 datagram is
    /// read with none, whatever SA it came on. `none` when there is no label.
    static func peerRead(_ label: SecurityContext?, proto: ScenarioStep.Traffic.Proto, family: IPAddress.Family) -> String {
        guard proto == .tcp || family == .inet else { return "none" }
        return label?.description ?? "none"
    }

    /// The first leg of `trace` that raises a labeled ACQUIRE: the request (sent by `from`), else
    /// the reply of a delivered request (sent by `to`); with the entry it matched and its label.
    static func acquiring(_ trace: PathTrace, from: String, to: String) -> (String, PathTrace, PolicyEntry, SecurityContext)? {
        if case .acquire(let entry, let label?) = trace.outbound { return (from, trace, entry, label) }
        if trace.delivered, let r = trace.reply.first, case .acquire(let entry, let label?) = r.outbound { return (to, r, entry, label) }
        return nil
    }
}

extension AVCLine {
    /// The scenario form of an engine record.
    public init(_ record: AuditRecord) {
        self.init(
            result: record.result.rawValue, permissions: record.permissions, scontext: record.scontext.description,
            tcontext: record.tcontext.description, tclass: record.tclass, permissive: record.result == .denied ? record.permissive : nil)
    }
}
