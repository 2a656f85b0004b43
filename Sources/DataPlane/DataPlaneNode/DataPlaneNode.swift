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
/// A node does no I/O (`DataPlaneHost` moves its packets over UDP sockets) and is not thread
/// safe: one thread owns it.
public final class DataPlaneNode {
    /// This host's address: the SAs' addresses are in this space.
    public let address: IPAddress
    /// What the node decides with: its SAs, SPD entries and pending ACQUIREs, the policy, and the
    /// one cache of decisions (Specs/dataplane/node.md, "The decision cache"). The node changes it
    /// only through its API (install, remove, ACQUIREs, the per-packet questions).
    ///
    /// This and the other tables a packet reads are `@exclusivity(unchecked)`: one thread owns a
    /// node and no access to them overlaps another, so the runtime's check on each is skipped.
    @exclusivity(unchecked) public private(set) var resolver: Resolver
    /// The SAs this host receives on (destination: this address, protocol ESP), by SPI.
    @exclusivity(unchecked) private var inbound = IntegerTable<UInt32, InboundSA>()
    private var outbound: [SADKey: ESPSecurityAssociation] = [:]
    /// The lifetimes of the SAs that have a limit (Specs/dataplane/node.md, "Lifetimes").
    private var lifetimes: [SADKey: SALifetime] = [:]
    /// Expiries not yet taken by ``takeExpireEvents()``.
    private var expired: [ExpireEvent] = []
    @exclusivity(unchecked) private var endpoints = IntegerTable<UInt16, Endpoint>()
    private var acquireSequence: UInt32 = 0
    private var nextEphemeral = Resolver.localPorts.lowerBound
    @exclusivity(unchecked) public private(set) var counters = DataPlaneCounters()
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
        /// Held once: each delivery on the SA carries a reference to it.
        let seen: SharedLabel?
        /// Its lifetime, when it has a limit (the same object as in `lifetimes`).
        let lifetime: SALifetime?

        init(model: SecurityAssociation, esp: ESPSecurityAssociation, key: SADKey, seen: SharedLabel?, lifetime: SALifetime?) {
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

    /// A node holding `sas` and `policies` (normally `ApplyPlanner.desired(file, host:, keys:)`).
    /// Every ESP SA must have algorithms the data plane runs; on any error nothing is built.
    public convenience init(
        address: IPAddress, sas: [SecurityAssociation], policies: [PolicyEntry], authorizer: AssociationAuthorizer,
        keyManagerListening: Bool = true
    ) throws(DataPlaneError) {
        var resolver = Resolver(mirror: XfrmMirror(sas: sas, policies: policies), authorizer: authorizer)
        resolver.keyManagerListening = keyManagerListening
        try self.init(address: address, resolver: resolver)
    }

    /// A node holding what `resolver` holds (its SAs, SPD entries, pending ACQUIREs and flags),
    /// deciding with its authorizer: for a host taken from a scenario's model at one step.
    public init(address: IPAddress, resolver: Resolver) throws(DataPlaneError) {
        self.address = address
        let sas = resolver.sas
        var seen = Set<SAIdentifier>()
        for sa in sas where !seen.insert(sa.identifier).inserted { throw .duplicateSA(sa.identifier) }
        self.resolver = resolver
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
            let seen = sa.securityContext.map { SharedLabel(resolver.evaluatedLabel($0)) }
            inboundSA = InboundSA(model: sa, esp: try Self.transform(sa), key: key, seen: seen, lifetime: lifetime)
        }
        let outboundSA = sa.source == address ? try Self.transform(sa) : nil
        if let inboundSA { inbound[sa.spi] = inboundSA }
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
        guard resolver.sa(sa.identifier) == nil else { throw .exists(sa.identifier) }
        try install(sa)
        lifetimes[SADKey(sa)]?.start(now())
        resolver.install(sa)
        return checks
    }

    /// Deletes an SA (`XFRM_MSG_DELSA`) in `subject`'s name: `association { setcontext }` on its
    /// label (`EACCES`); `ESRCH` when there is none.
    @discardableResult
    public func deleteSA(_ id: SAIdentifier, by subject: SecurityContext) throws(DataPlaneError) -> [ResolutionCheck] {
        guard let sa = resolver.sa(id) else { throw .noSuchSA(id) }
        let checks = try authorizeLabel(sa.securityContext, by: subject)
        remove(sa)
        return checks
    }

    private func remove(_ sa: SecurityAssociation) {
        resolver.remove(sa)
        let key = SADKey(sa)
        if sa.destination == address && sa.proto == .esp { inbound[sa.spi] = nil }
        outbound[key] = nil
        lifetimes[key] = nil
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

    /// The check before a packet on an SA with a lifetime (`xfrm_state_check_expire`): why the
    /// SA has just expired (hard) and the packet must not pass; `nil` when it passes (a soft expiry
    /// is reported).
    private func expiry(_ life: SALifetime) -> String? {
        let verdict = life.beforePacket(now: now())
        if verdict != .valid { expire(life.sa, verdict) }
        if case .hard(let why) = verdict { return why }
        return nil
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
        do { _ = try resolver.sid(for: label) } catch { throw .invalidContext(label, "\(error)") }
        let check = resolver.setcontextCheck(label, by: subject)
        guard check.passed else { throw .denied(check.what + ": " + check.reason, records: [check].compactMap(\.record)) }
        return [check]
    }

    // MARK: - Endpoints

    /// Binds `port` for an application in `context`, as `bind(2)` does (`selinux_socket_bind`:
    /// `name_bind` outside the local port range, then `node_bind`). Port 0 is the kernel's autobind
    /// (a socket that sends without binding): a free port of `Resolver/localPorts` and no check.
    /// Returns the port and the checks made; throws, changing nothing, when the port is taken, the
    /// context is not valid under the policy, or a check denies.
    @discardableResult
    public func bind(port: UInt16, context: SecurityContext) throws(DataPlaneError) -> (port: UInt16, checks: [ResolutionCheck]) {
        guard endpoints[port] == nil else { throw .portInUse(port) }
        let sid: SID
        do { sid = try resolver.sid(for: context) } catch { throw .invalidContext(context, "\(error)") }
        if port == 0 {
            guard
                let free = Resolver.localPorts.first(where: { endpoints[$0] == nil && $0 >= nextEphemeral })
                    ?? Resolver.localPorts.first(where: { endpoints[$0] == nil })
            else { throw .portInUse(0) }
            nextEphemeral = free == Resolver.localPorts.upperBound ? Resolver.localPorts.lowerBound : free + 1
            endpoints[free] = Endpoint(port: free, context: context, sid: sid)
            return (free, [])
        }
        let checks = resolver.bindChecks(context, port: port, protocol: "udp", family: address.family)
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
        // A flow whose SA the cache knows is sealed at once (the same SA; the checks reported are
        // the first datagram's).
        if let cached = resolver.route(
            source: address, destination: destination, sourcePort: sourcePort, destinationPort: destinationPort,
            sender: endpoint.sid),
            case .protected(_, let sa) = cached.resolution.outcome, cached.resolution.bundle.count <= 1, let esp = outbound[SADKey(sa)]
        {
            return seal(datagram, on: sa, esp, cached.resolution.checks)
        }
        let flow = Flow(
            context: endpoint.context, source: address, destination: destination, upperProtocol: UDPDatagram.udp,
            sourcePort: sourcePort, destinationPort: destinationPort)
        let generation = resolver.policyGeneration
        resolver.expireAcquires(now: now())
        let out = resolver.outbound(flow)
        var checks = out.checks
        switch out.outcome {
        case .bypass:
            guard egress(endpoint.context, destination, bundle: [], &checks) else { return refuse("ECONNREFUSED", "an egress check denied it", checks) }
            counters.sentClear += 1
            return OutboundResult(outcome: .clear(segment: datagram.segment(), destination: destination), checks: checks)
        case .protected(_, let sa):
            // One ESP transform per packet: an entry whose templates nest SAs (transport inside
            // tunnel) is refused rather than sealed on its innermost SA alone.
            guard out.bundle.count <= 1 else {
                return refuse(
                    "EOPNOTSUPP",
                    "the SPD entry's \(out.bundle.count) templates nest SAs ("
                        + out.bundle.map { "spi 0x\(String($0.spi, radix: 16)) \($0.mode)" }.joined(separator: " inside ")
                        + "): the data plane applies one SA per packet", checks)
            }
            guard let esp = outbound[SADKey(sa)] else {
                return refuse("EAFNOSUPPORT", "SA spi 0x\(String(sa.spi, radix: 16)) is \(sa.proto), which the data plane does not run", checks)
            }
            guard egress(endpoint.context, destination, bundle: [sa], &checks) else { return refuse("ECONNREFUSED", "an egress check denied it", checks) }
            // The cache keeps it when no check wrote a record.
            var resolved = out
            resolved.checks = checks
            resolver.remember(resolved, for: flow, sender: endpoint.sid, generation: generation)
            return seal(datagram, on: sa, esp, checks)
        case .acquire(let policy, let label):
            let t = policy.templates[out.template ?? 0]
            acquireSequence &+= 1
            let event = AcquireEvent(
                source: t.source == .any(t.family) ? address : t.source,
                destination: t.destination == .any(t.family) ? destination : t.destination,
                proto: t.proto, mode: t.mode, reqid: t.reqid, label: label, policyIndex: policy.index, flow: flow,
                sequence: acquireSequence)
            // The kernel's larval SA: further flows to these endpoints wait without a new ACQUIRE.
            resolver.recordAcquire(
                PendingAcquire(
                    source: event.source, destination: event.destination, proto: t.proto, mode: t.mode,
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
        if let life, let why = expiry(life) {
            return refuse("EINVAL", "SA spi 0x\(String(sa.spi, radix: 16)) expired: \(why)", checks)
        }
        let (payload, nextHeader) = sa.mode == .tunnel ? (datagram.packet(), datagram.tunnelNextHeader) : (datagram.segment(), UDPDatagram.udp)
        do {
            let packet = try esp.seal(payload, nextHeader: nextHeader)
            life?.count(payload.count)
            counters.sealed += 1
            return OutboundResult(outcome: .esp(packet: packet, sa: sa), checks: checks)
        } catch {
            return refuse("EOVERFLOW", "\(error)", checks)
        }
    }

    /// The postroute checks of a datagram the endpoint labeled `context` sends, carried by
    /// `bundle` (empty in the clear): the egress pair under `network_peer_controls`, else D4.
    private func egress(_ context: SecurityContext, _ destination: IPAddress, bundle: [SecurityAssociation], _ checks: inout [ResolutionCheck]) -> Bool {
        let e =
            resolver.egressChecks(context, destination: destination)
            + resolver.postrouteCompatChecks(context, bundle: bundle, upperProtocol: UDPDatagram.udp)
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
        guard let sa = inbound.unretained(spi) else { return drop(.noSA(spi: spi)) }
        // The SA is not retained: the table holds it for the rest of this packet's path. Its
        // lifetime is checked first, outside that path: a hard expiry deletes the SA.
        let life = sa._withUnsafeGuaranteedRef(\.lifetime)
        if let life, let why = expiry(life) { return drop(.expired(spi: spi, why)) }
        return sa._withUnsafeGuaranteedRef { receiveESP(datagram, on: $0, life: life) }
    }

    /// The rest of ``receiveESP(_:)``, on the SA with the packet's SPI and its lifetime (if it has
    /// a limit), which has not expired.
    @inline(__always)
    private func receiveESP(_ datagram: [UInt8], on sa: InboundSA, life: SALifetime?) -> InboundResult {
        var payload: ESPPayload
        switch sa.esp.open(datagram) {
        case .success(let p): payload = p
        case .failure(let d): return drop(.esp(d.reason))
        }
        life?.count(payload.data.count)
        guard sa.model.mode != .tunnel else {
            let inner: UDPDatagram
            do { inner = try UDPDatagram(packet: payload.data, nextHeader: payload.nextHeader) } catch { return drop(.inner(error)) }
            return admit(inner, sa: sa, sequence: payload.sequence)
        }
        guard payload.nextHeader == UDPDatagram.udp else { return drop(.inner(.notUDP(payload.nextHeader))) }
        // The data is the decrypted array itself, moved out of the payload.
        var data: [UInt8] = []
        swap(&data, &payload.data)
        guard let ports = Self.takeUDPHeader(&data) else {
            let inner: UDPDatagram
            do { inner = try UDPDatagram(segment: data, source: sa.model.source, destination: sa.model.destination, verifyingChecksum: false) } catch {
                return drop(.inner(error))
            }
            return admit(inner, sa: sa, sequence: payload.sequence)
        }
        // The delivery the datagram becomes, the SA's label by reference.
        let delivery = Delivery(
            port: ports.destination, source: sa.model.source, sourcePort: ports.source, data: consume data, spi: sa.model.spi,
            sequence: payload.sequence, peerLabel: sa.seen)
        return admit(delivery, destination: sa.model.destination, sa: sa)
    }

    /// The ports of a transport-mode payload's UDP segment, its header taken off the data in place
    /// (no copy); `nil` when its length field is wrong (`UDPDatagram` then gives the error). The
    /// ICV authenticated every byte: the UDP checksum is not checked again, as the kernel does for
    /// transport mode with UDP encapsulation (Specs/dataplane/node.md).
    @inline(__always)
    private static func takeUDPHeader(_ data: inout [UInt8]) -> (source: UInt16, destination: UInt16)? {
        guard data.count >= 8, Int(data[4]) << 8 | Int(data[5]) == data.count else { return nil }
        let ports = (UInt16(data[0]) << 8 | UInt16(data[1]), UInt16(data[2]) << 8 | UInt16(data[3]))
        // The data moved over the header with one memmove (the regions overlap), then the array
        // cut at its end (`removeFirst(8)` goes through the generic range replacement).
        data.withUnsafeMutableBytes { bytes in
            bytes.baseAddress!.copyMemory(from: bytes.baseAddress! + 8, byteCount: bytes.count - 8)
        }
        data.removeLast(8)
        return ports
    }

    /// Receives one clear datagram (a UDP segment) from `source`.
    public func receiveClear(_ segment: [UInt8], from source: IPAddress) -> InboundResult {
        let inner: UDPDatagram
        do { inner = try UDPDatagram(segment: segment, source: source, destination: address) } catch { return drop(.inner(error)) }
        return admit(inner, sa: nil, sequence: nil)
    }

    /// A datagram's admission (below). The label the endpoint sees is the SA's; none for unlabeled
    /// traffic (no SCM_SECURITY).
    @inline(__always)
    private func admit(_ d: consuming UDPDatagram, sa: InboundSA?, sequence: UInt64?) -> InboundResult {
        let delivery = Delivery(
            port: d.destinationPort, source: d.source, sourcePort: d.sourcePort, data: d.data, spi: sa?.model.spi, sequence: sequence,
            peerLabel: sa?.seen)
        return admit(delivery, destination: d.destination, sa: sa)
    }

    /// The inbound policy check, the endpoint, and delivery: one probe of the resolver's cache
    /// when it holds the answer, else the full resolver with its checks and reasons. The datagram
    /// comes as the ``Delivery`` it becomes (its data the decrypted array, the SA's label by
    /// reference), taken into the result, not copied.
    @inline(__always)
    private func admit(_ delivery: consuming Delivery, destination: IPAddress, sa: InboundSA?) -> InboundResult {
        let source = delivery.source, sourcePort = delivery.sourcePort, destinationPort = delivery.port
        let local = destination == address
        // The endpoint's SID, read without retaining the endpoint (the table holds it).
        let socket = local ? endpoints.unretained(destinationPort).map { $0._withUnsafeGuaranteedRef(\.sid) } : nil
        var checks: [ResolutionCheck] = []
        if let socket,
            resolver.admitsFromCache(
                source: source, destination: destination, sourcePort: sourcePort,
                destinationPort: destinationPort, through: sa?.key, socket: socket)
        {
            // Accepted and delivered before under this policy, writing no record: no check listed.
        } else {
            let endpoint = local ? endpoints[destinationPort] : nil
            let flow = Flow(
                context: nil, source: source, destination: destination, upperProtocol: UDPDatagram.udp,
                sourcePort: sourcePort, destinationPort: destinationPort)
            let a = resolver.admit(flow, secPath: sa.map { [$0.model] } ?? [], socket: endpoint?.context, sid: endpoint?.sid ?? SID(rawValue: 0))
            checks = a.checks
            switch a.outcome {
            case .delivered: break
            case .refused(let why): return drop(.policy(why), checks)
            case .noSocket: return drop(.noEndpoint(address: destination, port: destinationPort), checks)
            case .denied: return drop(.denied, checks)
            }
        }
        counters.delivered += 1
        return InboundResult(delivered: consume delivery, checks: checks)
    }

    private func drop(_ reason: InboundDrop, _ checks: [ResolutionCheck] = []) -> InboundResult {
        counters.dropped[reason.counterName, default: 0] += 1
        return InboundResult(outcome: .dropped(reason), checks: checks)
    }
}
