public import DecisionEngine
import ESPDataPlane
public import IPsecModel
public import Resolver
public import SecurityContexts

/// One host of the userspace data plane: its SAs and SPD entries (the same descriptions the xfrm
/// manager installs in a kernel), the ESP transform of each SA, and the endpoints bound on it, each
/// with the context it stated. It makes every decision the kernel makes for a UDP datagram, in the
/// kernel's order, with the shared decision engine (Specs/dataplane/node.md):
///
/// - **Out:** the bind checks when an endpoint binds; then per datagram the SPD lookup and SA
///   selection by the flow's label (the resolver's `outbound`), the egress checks, and the seal;
///   no usable SA gives an ``AcquireEvent`` carrying the flow's label.
/// - **In:** ESP-in-UDP classification, the SA by SPI, the ESP transform (replay window, ICV,
///   padding), the inner datagram, the SA's selector and the inbound policy check, the peer label
///   from the SA (the resolver's `inbound`), then delivery to the endpoint's context (`peer recv`
///   and the netif/node checks, or `association recvfrom`), or a drop with its AVC records.
///
/// A node does no I/O (``DataPlaneHost`` moves its packets over UDP sockets) and is not thread
/// safe: one thread owns it.
public final class DataPlaneNode {
    /// This host's address: the SAs' addresses are in this space.
    public let address: IPAddress
    public private(set) var resolver: Resolver
    private var fast: InboundFastPath
    private var inbound: [SADKey: InboundSA] = [:]
    private var outbound: [SADKey: ESPSecurityAssociation] = [:]
    /// The lifetimes of the SAs that have a limit (Specs/dataplane/node.md, "Lifetimes").
    private var lifetimes: [SADKey: SALifetime] = [:]
    /// Expiries not yet taken by ``takeExpireEvents()``.
    private var expired: [ExpireEvent] = []
    private var endpoints: [UInt16: Endpoint] = [:]
    /// Inbound policy decisions that wrote no record, per SA and flow, valid for one AVC
    /// generation (a reload or boolean change empties it).
    private var policyMemo: [FlowKey: UInt32] = [:]
    private var acquireSequence: UInt32 = 0
    private var nextEphemeral = Resolver.localPorts.lowerBound
    public private(set) var counters = DataPlaneCounters()
    /// The clock for ACQUIRE expiry (seconds); the host passes the monotonic clock.
    public var now: () -> Double = { 0 }

    /// An inbound SA: a class, so that a lookup per packet retains one object rather than copying
    /// the SA's many fields.
    private final class InboundSA {
        let model: SecurityAssociation
        let esp: ESPSecurityAssociation
        let key: SADKey
        /// The label an endpoint sees for traffic on it: the SA's, or `unlabeled` when the policy does not
        /// know the SA's label (Specs/kernel/labeled-ipsec.md, edge 29); `nil` for an unlabeled SA.
        let seen: SecurityContext?
        /// Its lifetime, when it has a limit (the same object as in `lifetimes`).
        let lifetime: SALifetime?

        init(model: SecurityAssociation, esp: ESPSecurityAssociation, key: SADKey, seen: SecurityContext?, lifetime: SALifetime?) {
            self.model = model
            self.esp = esp
            self.key = key
            self.seen = seen
            self.lifetime = lifetime
        }
    }

    /// An endpoint: a port and the context its application stated.
    /// A class, so that a lookup per packet retains one object rather than copying the context.
    public final class Endpoint: Sendable {
        public let port: UInt16
        public let context: SecurityContext
        let sid: SID

        init(port: UInt16, context: SecurityContext, sid: SID) {
            self.port = port
            self.context = context
            self.sid = sid
        }
    }

    /// A flow as memo keys hold it: addresses as fixed-width words (hashing two integers, not two
    /// arrays), ports, and the SPI (0 for clear traffic) or the sending endpoint's port.
    private struct FlowKey: Hashable {
        var source: SADKey
        var destination: SADKey
        var ports: UInt32
        var extra: UInt32

        init(_ source: IPAddress, _ destination: IPAddress, _ sourcePort: UInt16, _ destinationPort: UInt16, _ extra: UInt32) {
            self.source = SADKey(destination: source, spi: 0, proto: .esp)
            self.destination = SADKey(destination: destination, spi: 0, proto: .esp)
            ports = UInt32(sourcePort) << 16 | UInt32(destinationPort)
            self.extra = extra
        }
    }

    /// An outbound decision that wrote no record: the SA that serves the flow, valid for one AVC
    /// generation and while the SAD/SPD do not change.
    private final class OutboundMemo {
        let generation: UInt32
        let sa: SecurityAssociation
        let esp: ESPSecurityAssociation
        let checks: [ResolutionCheck]

        init(generation: UInt32, sa: SecurityAssociation, esp: ESPSecurityAssociation, checks: [ResolutionCheck]) {
            self.generation = generation
            self.sa = sa
            self.esp = esp
            self.checks = checks
        }
    }
    private var outboundMemo: [FlowKey: OutboundMemo] = [:]

    /// A node holding `sas` and `policies` (normally `ApplyPlanner.desired(file, host:, keys:)`).
    /// Every ESP SA must have algorithms the data plane runs; on any error nothing is built.
    public convenience init(address: IPAddress, sas: [SecurityAssociation], policies: [PolicyEntry], authorizer: AssociationAuthorizer,
                            keyManagerListening: Bool = true) throws(DataPlaneError) {
        var resolver = Resolver(mirror: XfrmMirror(sas: sas, policies: policies), authorizer: authorizer)
        resolver.keyManagerListening = keyManagerListening
        try self.init(address: address, resolver: resolver)
    }

    /// A node holding what `resolver` holds (its SAs, SPD entries, pending ACQUIREs and flags),
    /// deciding with its authorizer: for a host taken from a scenario's model at one step.
    public init(address: IPAddress, resolver: Resolver) throws(DataPlaneError) {
        self.address = address
        let sas = resolver.mirror.sas
        var seen = Set<SAIdentifier>()
        for sa in sas where !seen.insert(sa.identifier).inserted { throw .duplicateSA(sa.identifier) }
        self.resolver = resolver
        fast = InboundFastPath(resolver)
        for sa in sas { try install(sa) }
    }

    /// Builds the ESP transforms of an SA this host sends or receives on (both before either is
    /// stored, so an unusable SA changes nothing).
    private func install(_ sa: SecurityAssociation) throws(DataPlaneError) {
        guard sa.proto == .esp, sa.spi != 0, sa.destination == address || sa.source == address else { return }
        let key = SADKey(sa)
        let lifetime = SALifetime.limited(sa.lifetime) ? SALifetime(sa) : nil
        var inboundSA: InboundSA?
        if sa.destination == address {
            let server = resolver.authorizer.cache.server
            let seen = sa.securityContext.map { (try? server.sid(for: $0)) != nil ? $0 : (resolver.unlabeled ?? $0) }
            inboundSA = InboundSA(model: sa, esp: try Self.transform(sa), key: key, seen: seen, lifetime: lifetime)
        }
        let outboundSA = sa.source == address ? try Self.transform(sa) : nil
        if let inboundSA { inbound[key] = inboundSA }
        if let outboundSA { outbound[key] = outboundSA }
        if let lifetime { lifetimes[key] = lifetime }
    }

    private static func transform(_ sa: SecurityAssociation) throws(DataPlaneError) -> ESPSecurityAssociation {
        do { return try ESPSecurityAssociation(sa) } catch { throw .unusableSA(sa.identifier, error) }
    }

    // MARK: - SAs from a key manager

    /// Adds an SA while the node runs, as a key manager answering an ACQUIRE does with
    /// `XFRM_MSG_NEWSA`, in `subject`'s name: the label must be valid under the policy (`EINVAL`)
    /// and `subject` needs `association { setcontext }` on it (`EACCES`, with the AVC record), the
    /// SA must be new (`EEXIST`) and its algorithms ones the data plane runs. A pending ACQUIRE
    /// for its endpoints is answered (the kernel's larval SA is replaced). On any error nothing
    /// changes. Returns the checks made.
    @discardableResult
    public func addSA(_ sa: SecurityAssociation, by subject: SecurityContext) throws(DataPlaneError) -> [ResolutionCheck] {
        let checks = try authorizeLabel(sa.securityContext, by: subject)
        guard resolver.mirror.sa(destination: sa.destination, spi: sa.spi, proto: sa.proto) == nil else { throw .exists(sa.identifier) }
        try install(sa)
        lifetimes[SADKey(sa)]?.start(now())
        resolver.mirror.insert(sa)
        resolver.mirror.acquires.removeAll { $0.source == sa.source && $0.destination == sa.destination && $0.proto == sa.proto }
        stateChanged()
        return checks
    }

    /// Deletes an SA (`XFRM_MSG_DELSA`) in `subject`'s name: `association { setcontext }` on its
    /// label (`EACCES`); `ESRCH` when there is none.
    @discardableResult
    public func deleteSA(_ id: SAIdentifier, by subject: SecurityContext) throws(DataPlaneError) -> [ResolutionCheck] {
        guard let sa = resolver.mirror.sa(destination: id.destination, spi: id.spi, proto: id.proto) else { throw .noSuchSA(id) }
        let checks = try authorizeLabel(sa.securityContext, by: subject)
        remove(sa)
        return checks
    }

    private func remove(_ sa: SecurityAssociation) {
        _ = resolver.mirror.remove(sa)
        let key = SADKey(sa)
        inbound[key] = nil
        outbound[key] = nil
        lifetimes[key] = nil
        stateChanged()
    }

    // MARK: - Lifetimes

    /// The SAs' lifetime expiries since the last call, after checking the clock's limits
    /// (`xfrm_timer_handler`): a hard expiry has deleted its SA. The host calls it at least once a
    /// second and after each datagram, and reports each event as the kernel's `XFRM_MSG_EXPIRE`.
    public func takeExpireEvents() -> [ExpireEvent] {
        if !lifetimes.isEmpty {
            let t = now()
            for life in Array(lifetimes.values) {
                let verdict = life.onClock(now: t)
                if verdict != .valid { expire(life.sa, verdict) }
            }
        }
        defer { expired.removeAll() }
        return expired
    }

    /// The check before a packet on `sa` (`xfrm_state_check_expire`): the lifetime to count the
    /// packet in, or why the SA has just expired (hard) and the packet must not pass.
    private func admitByLifetime(_ life: SALifetime?) -> (SALifetime?, String?) {
        guard let life else { return (nil, nil) }
        let verdict = life.beforePacket(now: now())
        if case .hard(let why) = verdict { expire(life.sa, verdict); return (nil, why) }
        if case .soft = verdict { expire(life.sa, verdict) }
        return (life, nil)
    }

    private func expire(_ sa: SecurityAssociation, _ verdict: SALifetime.Verdict) {
        let (hard, why): (Bool, String)
        switch verdict {
        case .valid: return
        case .soft(let reason): (hard, why) = (false, reason)
        case .hard(let reason): (hard, why) = (true, reason)
        }
        expired.append(ExpireEvent(source: sa.source, sa: sa.identifier, label: sa.securityContext, hard: hard, reason: why))
        if hard { remove(sa) }
    }

    private func authorizeLabel(_ label: SecurityContext?, by subject: SecurityContext) throws(DataPlaneError) -> [ResolutionCheck] {
        guard let label else { return [] }
        do { _ = try resolver.authorizer.cache.server.sid(for: label) } catch { throw .invalidContext(label, "\(error)") }
        let check = Resolver.check(resolver.authorizer.setcontext(subject: subject, label: label), "association { setcontext } \(subject) → \(label)")
        guard check.passed else { throw .denied(check.what + ": " + check.reason, records: [check].compactMap(\.record)) }
        return [check]
    }

    /// The SAD changed: the fast path's table and every remembered decision start again.
    private func stateChanged() {
        fast = InboundFastPath(resolver)
        outboundMemo.removeAll()
        policyMemo.removeAll()
    }

    // MARK: - Endpoints

    /// Binds `port` for an application in `context`, as `bind(2)` does (`selinux_socket_bind`:
    /// `name_bind` outside the local port range, then `node_bind`). Port 0 is the kernel's autobind
    /// (a socket that sends without binding): a free port of ``Resolver/localPorts`` and no check.
    /// Returns the port and the checks made; throws, changing nothing, when the port is taken, the
    /// context is not valid under the policy, or a check denies.
    @discardableResult
    public func bind(port: UInt16, context: SecurityContext) throws(DataPlaneError) -> (port: UInt16, checks: [ResolutionCheck]) {
        guard endpoints[port] == nil else { throw .portInUse(port) }
        let sid: SID
        do { sid = try resolver.authorizer.cache.server.sid(for: context) } catch { throw .invalidContext(context, "\(error)") }
        if port == 0 {
            guard let free = Resolver.localPorts.first(where: { endpoints[$0] == nil && $0 >= nextEphemeral })
                ?? Resolver.localPorts.first(where: { endpoints[$0] == nil }) else { throw .portInUse(0) }
            nextEphemeral = free == Resolver.localPorts.upperBound ? Resolver.localPorts.lowerBound : free + 1
            endpoints[free] = Endpoint(port: free, context: context, sid: sid)
            return (free, [])
        }
        let checks = resolver.bindChecks(context, port: port, protocol: "udp")
        if let denied = checks.first(where: { !$0.passed }) {
            throw .bindDenied(port: port, reason: "\(denied.what): \(denied.reason)", records: checks.compactMap(\.record))
        }
        endpoints[port] = Endpoint(port: port, context: context, sid: sid)
        return (port, checks)
    }

    /// Releases a port.
    public func unbind(port: UInt16) { endpoints[port] = nil }

    /// The endpoint bound to a port.
    public func endpoint(at port: UInt16) -> Endpoint? { endpoints[port] }

    // MARK: - Out

    /// Sends `data` from the endpoint at `sourcePort` to `destination`:`destinationPort`. The
    /// outcome says what to put on the wire (an ESP packet for the SA's destination, or a clear
    /// segment), or why nothing goes out.
    public func send(_ data: [UInt8], from sourcePort: UInt16, to destination: IPAddress, port destinationPort: UInt16) -> OutboundResult {
        guard let endpoint = endpoints[sourcePort] else {
            return refuse("EBADF", "no endpoint is bound to port \(sourcePort)", [])
        }
        guard data.count <= UDPDatagram.maximumData else { return refuse("EMSGSIZE", "\(data.count) bytes exceed a UDP datagram", []) }
        let datagram = UDPDatagram(source: address, destination: destination, sourcePort: sourcePort, destinationPort: destinationPort, data: data)
        let generation = resolver.authorizer.cache.generation
        let memoKey = FlowKey(address, destination, sourcePort, destinationPort, endpoint.sid.rawValue)
        if let m = outboundMemo[memoKey], m.generation == generation {
            return seal(datagram, on: m.sa, m.esp, m.checks)
        }
        let flow = Flow(context: endpoint.context, source: address, destination: destination, upperProtocol: UDPDatagram.udp,
                        sourcePort: sourcePort, destinationPort: destinationPort)
        resolver.mirror.expireAcquires(now: now())
        let out = resolver.outbound(flow)
        var checks = out.checks
        switch out.outcome {
        case .bypass:
            guard egress(endpoint.context, destination, &checks) else { return refuse("ECONNREFUSED", "an egress check denied it", checks) }
            counters.sentClear += 1
            return OutboundResult(outcome: .clear(segment: datagram.segment(), destination: destination), checks: checks)
        case .protected(_, let sa):
            guard let esp = outbound[SADKey(sa)] else {
                return refuse("EAFNOSUPPORT", "SA spi 0x\(String(sa.spi, radix: 16)) is \(sa.proto), which the data plane does not run", checks)
            }
            guard egress(endpoint.context, destination, &checks) else { return refuse("ECONNREFUSED", "an egress check denied it", checks) }
            // A decision that wrote no record is remembered: the next datagram of the flow is sealed
            // at once (the same SA; the checks reported are the first datagram's).
            if checks.allSatisfy({ $0.record == nil }) {
                if outboundMemo.count > 4096 { outboundMemo.removeAll(keepingCapacity: true) }
                outboundMemo[memoKey] = OutboundMemo(generation: generation, sa: sa, esp: esp, checks: checks)
            }
            return seal(datagram, on: sa, esp, checks)
        case .acquire(let policy, let label):
            let t = policy.templates[0]
            acquireSequence &+= 1
            let event = AcquireEvent(source: t.source == .any(t.family) ? address : t.source,
                                     destination: t.destination == .any(t.family) ? destination : t.destination,
                                     proto: t.proto, mode: t.mode, reqid: t.reqid, label: label, policyIndex: policy.index, flow: flow,
                                     sequence: acquireSequence)
            // The kernel's larval SA: further flows to these endpoints wait without a new ACQUIRE.
            resolver.mirror.acquires.append(PendingAcquire(source: event.source, destination: event.destination, proto: t.proto, mode: t.mode,
                                                           reqid: t.reqid, label: label, sequence: event.sequence, seenAt: now()))
            counters.acquires += 1
            return OutboundResult(outcome: .acquire(event), checks: checks)
        case .acquireInProgress(_, let pending):
            return refuse("EAGAIN", "an ACQUIRE (seq \(pending.sequence)) is in progress for these endpoints", checks)
        case .noKeyManager:
            return refuse("EAGAIN", "no usable SA and no key manager listening", checks)
        case .blocked(let p):
            return refuse("EPERM", "SPD entry index \(p.index) blocks the flow", checks)
        case .invalid:
            return refuse("EINVAL", "a labeled SPD entry and a flow without a label", checks)
        }
    }

    private func seal(_ datagram: UDPDatagram, on sa: SecurityAssociation, _ esp: ESPSecurityAssociation, _ checks: [ResolutionCheck]) -> OutboundResult {
        let life = lifetimes.isEmpty ? nil : lifetimes[SADKey(sa)]
        let (counted, expiredBecause) = admitByLifetime(life)
        if let why = expiredBecause {
            return refuse("EINVAL", "SA spi 0x\(String(sa.spi, radix: 16)) expired: \(why)", checks)
        }
        let (payload, nextHeader) = sa.mode == .tunnel ? (datagram.packet(), datagram.tunnelNextHeader) : (datagram.segment(), UDPDatagram.udp)
        do {
            let packet = try esp.seal(payload, nextHeader: nextHeader)
            counted?.count(payload.count)
            counters.sealed += 1
            return OutboundResult(outcome: .esp(packet: packet, sa: sa), checks: checks)
        } catch {
            return refuse("EOVERFLOW", "\(error)", checks)
        }
    }

    private func egress(_ context: SecurityContext, _ destination: IPAddress, _ checks: inout [ResolutionCheck]) -> Bool {
        let e = resolver.egressChecks(context, destination: destination)
        checks += e
        return e.allSatisfy(\.passed)
    }

    private func refuse(_ errno: String, _ reason: String, _ checks: [ResolutionCheck]) -> OutboundResult {
        counters.refused += 1
        return OutboundResult(outcome: .refused(errno: errno, reason: reason), checks: checks)
    }

    // MARK: - In

    /// Receives one datagram from the ESP-in-UDP port.
    public func receiveESP(_ datagram: [UInt8]) -> InboundResult {
        let kind = ESPInUDP.classify(datagram)
        guard kind == .esp else { return drop(.notESP(kind)) }
        let spi = UInt32(datagram[0]) << 24 | UInt32(datagram[1]) << 16 | UInt32(datagram[2]) << 8 | UInt32(datagram[3])
        let key = SADKey(destination: address, spi: spi, proto: .esp)
        guard let sa = inbound[key] else { return drop(.noSA(spi: spi)) }
        let (life, expiredBecause) = admitByLifetime(sa.lifetime)
        if let why = expiredBecause { return drop(.expired(spi: spi, why)) }
        let payload: ESPPayload
        switch sa.esp.open(datagram) {
        case .success(let p): payload = p
        case .failure(let d): return drop(.esp(d.reason))
        }
        life?.count(payload.data.count)
        let inner: UDPDatagram
        do throws(InnerPacketError) {
            switch sa.model.mode {
            case .tunnel:
                inner = try UDPDatagram(packet: payload.data, nextHeader: payload.nextHeader)
            default:
                guard payload.nextHeader == UDPDatagram.udp else { throw .notUDP(payload.nextHeader) }
                // The ICV authenticated every byte: the UDP checksum is not checked again, as the
                // kernel does for transport mode with UDP encapsulation (Specs/dataplane/node.md).
                inner = try UDPDatagram(segment: payload.data, source: sa.model.source, destination: sa.model.destination, verifyingChecksum: false)
            }
        } catch {
            return drop(.inner(error))
        }
        return admit(inner, sa: sa, sequence: payload.sequence)
    }

    /// Receives one clear datagram (a UDP segment) from `source`.
    public func receiveClear(_ segment: [UInt8], from source: IPAddress) -> InboundResult {
        let inner: UDPDatagram
        do { inner = try UDPDatagram(segment: segment, source: source, destination: address) } catch { return drop(.inner(error)) }
        return admit(inner, sa: nil, sequence: nil)
    }

    /// The inbound policy check, the endpoint, and delivery.
    private func admit(_ d: UDPDatagram, sa: InboundSA?, sequence: UInt64?) -> InboundResult {
        var checks: [ResolutionCheck] = []
        let flow = Flow(context: nil, source: d.source, destination: d.destination, upperProtocol: UDPDatagram.udp,
                        sourcePort: d.sourcePort, destinationPort: d.destinationPort)
        let generation = resolver.authorizer.cache.generation
        let memoKey = FlowKey(d.source, d.destination, d.sourcePort, d.destinationPort, sa?.model.spi ?? 0)
        if policyMemo[memoKey] != generation {
            let check = resolver.inboundPolicy(flow, secPath: sa.map { [$0.model] } ?? [])
            checks += check.checks
            guard check.accepted else {
                return drop(.policy(check.checks.last(where: { !$0.passed })?.reason ?? "refused"), checks)
            }
            if check.checks.allSatisfy({ $0.record == nil }) {
                if policyMemo.count > 4096 { policyMemo.removeAll(keepingCapacity: true) }
                policyMemo[memoKey] = generation
            }
        }
        guard d.destination == address, let endpoint = endpoints[d.destinationPort] else {
            return drop(.noEndpoint(address: d.destination, port: d.destinationPort), checks)
        }
        let delivered: Bool
        if let sa, let v = fast.quietVerdict(sa.key, socket: endpoint.sid) {
            delivered = v.outcome == .delivered
        } else {
            // A first or audited decision, or clear traffic: the full resolver, with reasons.
            let r = resolver.deliver(resolver.inbound(secPath: sa.map { [$0.model] } ?? []), to: endpoint.context, source: d.source)
            checks += r.checks
            delivered = r.delivered
        }
        guard delivered else { return drop(.denied, checks) }
        counters.delivered += 1
        // The label the endpoint sees: the SA's; none for unlabeled traffic (no SCM_SECURITY).
        return InboundResult(outcome: .delivered(Delivery(port: endpoint.port, source: d.source, sourcePort: d.sourcePort, data: d.data,
                                                          peer: sa?.seen, spi: sa?.model.spi, sequence: sequence)), checks: checks)
    }

    private func drop(_ reason: InboundDrop, _ checks: [ResolutionCheck] = []) -> InboundResult {
        counters.dropped[reason.counterName, default: 0] += 1
        return InboundResult(outcome: .dropped(reason), checks: checks)
    }
}
