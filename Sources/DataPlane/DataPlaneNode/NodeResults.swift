public import DecisionEngine
public import ESPDataPlane
public import IPsecModel
public import Resolver
public import SecurityContexts

/// Why the data plane dropped an inbound datagram. Every reason has a counter
/// (``DataPlaneCounters``); the kernel's matching `/proc/net/xfrm_stat` counter or errno is named
/// where there is one.
public enum InboundDrop: Sendable, Hashable, CustomStringConvertible {
    /// Not an ESP packet on the ESP-in-UDP port: a keepalive, a non-ESP (IKE) message, or too short.
    case notESP(ESPInUDP.Datagram)
    /// No inbound SA with this SPI for this host (`XfrmInNoStates`).
    case noSA(spi: UInt32)
    /// The SA reached a hard lifetime limit before this packet (`XfrmInStateExpired`): it is deleted.
    case expired(spi: UInt32, String)
    /// The ESP transform refused the packet (`XfrmInStateProtoError`, `XfrmInStateSeqError`, …).
    case esp(ESPDropReason)
    /// The decrypted payload is not a UDP datagram the data plane can deliver.
    case inner(InnerPacketError)
    /// The inner packet does not match the SA's selector (`XfrmInStateMismatch`) or the inbound
    /// policy check refused the path (`XfrmInTmplMismatch`, `XfrmInPolBlock`, a polmatch denial).
    case policy(String)
    /// The datagram is for another address or a port no endpoint is bound to (ICMP port unreachable).
    case noEndpoint(address: IPAddress, port: UInt16)
    /// A delivery check denied it: the AVC records say which.
    case denied

    public var description: String {
        switch self {
        case .notESP(let k): "not ESP (\(k))"
        case .noSA(let spi): "no SA with SPI 0x\(String(spi, radix: 16)) (XfrmInNoStates)"
        case .expired(let spi, let why): "SA spi 0x\(String(spi, radix: 16)) expired (XfrmInStateExpired): \(why)"
        case .esp(let r): "ESP: \(r)"
        case .inner(let e): "inner packet: \(e)"
        case .policy(let why): "inbound policy: \(why)"
        case .noEndpoint(let a, let p): "no endpoint at \(a) port \(p)"
        case .denied: "delivery denied by the policy"
        }
    }

    /// A stable name for counters and JSON.
    public var counterName: String {
        switch self {
        case .notESP(let k): "not-esp-\(k)"
        case .noSA: "no-sa"
        case .expired: "expired"
        case .esp(let r): "esp-" + r.rawValue.replacingOccurrences(of: " ", with: "-")
        case .inner: "inner-packet"
        case .policy: "policy"
        case .noEndpoint: "no-endpoint"
        case .denied: "denied"
        }
    }
}

/// A datagram delivered to a local endpoint, with the label the endpoint sees for its sender.
public struct Delivery: Sendable, Hashable {
    /// The endpoint's port.
    public var port: UInt16
    public var source: IPAddress
    public var sourcePort: UInt16
    public var data: [UInt8]
    /// The peer label (`getpeercon`/`SCM_SECURITY`): the SA's label, or `nil` for unlabeled traffic.
    public var peer: SecurityContext? {
        get { peerLabel?.context }
        set { peerLabel = newValue.map(SharedLabel.init) }
    }
    /// The SA it arrived on (`nil`: it came in clear).
    public var spi: UInt32?
    /// The ESP sequence number (`nil`: clear).
    public var sequence: UInt64?
    /// The peer label as the node holds it, once per inbound SA: a delivery carries a reference to
    /// it, not a copy of the context's strings and arrays.
    var peerLabel: SharedLabel?
}

// In an extension, so that the struct keeps its memberwise initializer: the data plane builds a
// delivery with it as one value (an initializer of its own builds it on the stack and copies it).
extension Delivery {
    public init(port: UInt16, source: IPAddress, sourcePort: UInt16, data: [UInt8], peer: SecurityContext?, spi: UInt32?, sequence: UInt64?) {
        self.init(port: port, source: source, sourcePort: sourcePort, data: data, spi: spi, sequence: sequence, peerLabel: peer.map(SharedLabel.init))
    }

    /// Equal when every field is, the peer label compared by value.
    public static func == (a: Delivery, b: Delivery) -> Bool {
        a.port == b.port && a.source == b.source && a.sourcePort == b.sourcePort && a.data == b.data && a.spi == b.spi
            && a.sequence == b.sequence && (a.peerLabel === b.peerLabel || a.peer == b.peer)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(port)
        hasher.combine(source)
        hasher.combine(sourcePort)
        hasher.combine(data)
        hasher.combine(peer)
        hasher.combine(spi)
        hasher.combine(sequence)
    }
}

/// A security context held once and handed out by reference: the peer label of an inbound SA,
/// which every delivery on it carries (one retain per packet rather than a copy of five strings
/// and two arrays).
final class SharedLabel: Sendable {
    let context: SecurityContext
    init(_ context: SecurityContext) { self.context = context }
}

/// What happened to one inbound datagram, with the checks made and the AVC records written.
public struct InboundResult: Sendable, Hashable {
    public enum Outcome: Sendable, Hashable {
        case delivered(Delivery)
        case dropped(InboundDrop)
    }

    public var outcome: Outcome
    /// The checks, when the slow path ran (a first packet, a denial, anything audited); empty when
    /// the fast path delivered the packet.
    public var checks: [ResolutionCheck]
    /// The AVC records, in the kernel's format.
    public var records: [AuditRecord] { checks.compactMap(\.record) }

    public var delivery: Delivery? { if case .delivered(let d) = outcome { d } else { nil } }

    init(outcome: Outcome, checks: [ResolutionCheck]) {
        self.outcome = outcome
        self.checks = checks
    }

    /// A delivery, taken into the result (not copied).
    init(delivered delivery: consuming Delivery, checks: consuming [ResolutionCheck]) {
        outcome = .delivered(delivery)
        self.checks = checks
    }
}

/// An ACQUIRE as the kernel would send it (`XFRM_MSG_ACQUIRE`): an outbound flow needs an SA that does not
/// exist. It carries the flow's label for a labeled SPD entry (Specs/kernel/labeled-ipsec.md, edge 17).
public struct AcquireEvent: Sendable, Hashable, CustomStringConvertible {
    public var source: IPAddress
    public var destination: IPAddress
    public var proto: IPsecProtocol
    public var mode: XfrmMode
    public var reqid: UInt32
    /// The label the SA must carry: the flow's context (`nil` for an unlabeled entry).
    public var label: SecurityContext?
    /// The SPD entry's index.
    public var policyIndex: UInt32
    /// The flow that triggered it.
    public var flow: Flow
    /// A sequence number, as the kernel's `acquire_seq`.
    public var sequence: UInt32

    public var description: String {
        "ACQUIRE seq \(sequence) \(source) → \(destination) proto \(proto) mode \(mode) reqid \(reqid)"
            + (label.map { " ctx \($0)" } ?? " (unlabeled)") + " for \(flow)"
    }
}

/// What happened to one outbound datagram.
public struct OutboundResult: Sendable, Hashable {
    public enum Outcome: Sendable, Hashable {
        /// Sealed on an SA: `packet` is the ESP packet to send to the SA's destination over ESP in UDP.
        case esp(packet: [UInt8], sa: SecurityAssociation)
        /// No SPD entry applies: the UDP segment leaves in clear, to `destination`.
        case clear(segment: [UInt8], destination: IPAddress)
        /// No usable SA: an ACQUIRE went to the key managers and the datagram is dropped (EAGAIN).
        case acquire(AcquireEvent)
        /// Refused: the errno name the kernel's `sendmsg` would return, and why.
        case refused(errno: String, reason: String)
    }

    public var outcome: Outcome
    public var checks: [ResolutionCheck]
    public var records: [AuditRecord] { checks.compactMap(\.record) }
}

/// Counters of one node: datagrams sealed, delivered and dropped (per ``InboundDrop/counterName``).
public struct DataPlaneCounters: Sendable, Hashable {
    public var sealed = 0
    public var sentClear = 0
    public var acquires = 0
    public var refused = 0
    public var delivered = 0
    public var dropped: [String: Int] = [:]
    public init() {}
}

/// Why a node cannot be built or changed: nothing was changed.
public enum DataPlaneError: Error, Sendable, Hashable, CustomStringConvertible {
    case unusableSA(SAIdentifier, ESPConfigurationError)
    case duplicateSA(SAIdentifier)
    case portInUse(UInt16)
    case bindDenied(port: UInt16, reason: String, records: [AuditRecord])
    case invalidContext(SecurityContext, String)
    case exists(SAIdentifier)
    case noSuchSA(SAIdentifier)
    /// A check denied the request (EACCES): what, and the AVC records.
    case denied(String, records: [AuditRecord])

    public var description: String {
        switch self {
        case .unusableSA(let id, let e): "SA \(id): \(e)"
        case .duplicateSA(let id): "two SAs with the same identity: \(id)"
        case .portInUse(let p): "port \(p) is already bound (EADDRINUSE)"
        case .bindDenied(let p, let r, _): "binding port \(p) is denied (EACCES): \(r)"
        case .invalidContext(let c, let why): "\(c) is not a valid context under the loaded policy: \(why)"
        case .exists(let id): "an SA \(id) exists already (EEXIST)"
        case .noSuchSA(let id): "no SA \(id) (ESRCH)"
        case .denied(let what, _): "denied (EACCES): \(what)"
        }
    }
}
