public import IPsecModel
public import SecurityContexts

/// How an SPD entry is named for get and delete: by selector, direction and label (the label is
/// part of the kernel's key), or by the index the kernel assigned.
public enum PolicyKey: Sendable, Hashable {
    case selector(TrafficSelector, PolicyDirection, securityContext: SecurityContext?)
    case index(UInt32, PolicyDirection)
}

/// Which SAs or SPD entries a list or deleteall applies to; `nil` fields match everything.
public struct XfrmFilter: Sendable, Hashable {
    public var source: IPAddress?
    public var destination: IPAddress?
    public var proto: IPsecProtocol?
    public var spi: UInt32?
    public var mode: XfrmMode?
    public var reqid: UInt32?
    public var direction: PolicyDirection?
    public var index: UInt32?
    public var priority: UInt32?
    public var action: PolicyAction?

    public init() {}

    public var isEmpty: Bool { self == XfrmFilter() }

    /// Whether an SA passes the filter.
    public func matches(_ sa: SecurityAssociation) -> Bool {
        (source == nil || source == sa.source) && (destination == nil || destination == sa.destination)
            && (proto == nil || proto == sa.proto) && (spi == nil || spi == sa.spi)
            && (mode == nil || mode == sa.mode) && (reqid == nil || reqid == sa.reqid)
    }

    /// Whether an SPD entry passes the filter.
    public func matches(_ p: PolicyEntry) -> Bool {
        (source == nil || p.selector.source.address == source) && (destination == nil || p.selector.destination.address == destination)
            && (direction == nil || direction == p.direction) && (index == nil || index == p.index)
            && (priority == nil || priority == p.priority) && (action == nil || action == p.action)
    }
}

/// One operation of the xfrm manager, whatever front end produced it (CLI flags, an `ip xfrm`
/// batch line, `salabel apply`). Each maps to one kernel request (or a dump and requests).
public enum XfrmOperation: Sendable, Hashable {
    /// `XFRM_MSG_NEWSA`.
    case addSA(SecurityAssociation)
    /// `XFRM_MSG_UPDSA`.
    case updateSA(SecurityAssociation)
    /// `XFRM_MSG_DELSA`.
    case deleteSA(SAIdentifier, source: IPAddress?, mark: XfrmMark?)
    /// `XFRM_MSG_GETSA`.
    case getSA(SAIdentifier, source: IPAddress?, mark: XfrmMark?)
    /// `XFRM_MSG_ALLOCSPI`: a larval SA with an SPI from [min, max]; `sa` gives addresses, protocol,
    /// mode, reqid, the ACQUIRE sequence number and mark.
    case allocateSPI(SecurityAssociation, min: UInt32, max: UInt32)
    /// `XFRM_MSG_FLUSHSA` (all-or-nothing in the kernel when labeled SAs are involved).
    case flushSA(IPsecProtocol)
    /// A dump, then `XFRM_MSG_DELSA` for each SA that matches.
    case deleteAllSA(XfrmFilter)
    /// A dump, filtered.
    case listSA(XfrmFilter)
    /// `XFRM_MSG_NEWPOLICY`.
    case addPolicy(PolicyEntry)
    /// `XFRM_MSG_UPDPOLICY`.
    case updatePolicy(PolicyEntry)
    /// `XFRM_MSG_DELPOLICY`.
    case deletePolicy(PolicyKey, mark: XfrmMark?, policyType: UInt8, interfaceID: UInt32?)
    /// `XFRM_MSG_GETPOLICY`.
    case getPolicy(PolicyKey, mark: XfrmMark?, policyType: UInt8, interfaceID: UInt32?)
    /// `XFRM_MSG_FLUSHPOLICY`.
    case flushPolicy(policyType: UInt8)
    /// A dump, then `XFRM_MSG_DELPOLICY` for each entry that matches.
    case deleteAllPolicies(XfrmFilter)
    /// A dump, filtered.
    case listPolicies(XfrmFilter)

    /// The `XFRM_MSG_DELSA` that removes `sa` (named by its kernel key: destination, SPI,
    /// protocol, mark).
    public static func deleting(_ sa: SecurityAssociation) -> XfrmOperation {
        .deleteSA(sa.identifier, source: sa.source, mark: sa.mark)
    }

    /// The `XFRM_MSG_DELPOLICY` that removes `p`, named by selector, direction and label. A kernel
    /// without an xfrm security module turns the label of a lookup into none, as it did the
    /// entry's, so this finds the entry there too.
    public static func deleting(_ p: PolicyEntry) -> XfrmOperation {
        .deletePolicy(
            .selector(p.selector, p.direction, securityContext: p.securityContext), mark: p.mark, policyType: p.policyType,
            interfaceID: p.interfaceID)
    }

    /// The context this operation labels or unlabels with, if any (what `setcontext` is checked
    /// against before the kernel is asked).
    public var securityContext: SecurityContext? {
        switch self {
        case .addSA(let sa), .updateSA(let sa): return sa.securityContext
        case .addPolicy(let p), .updatePolicy(let p): return p.securityContext
        case .deletePolicy(.selector(_, _, let ctx), _, _, _), .getPolicy(.selector(_, _, let ctx), _, _, _): return ctx
        default: return nil
        }
    }

    /// Whether the operation changes the kernel's databases.
    public var isChange: Bool {
        switch self {
        case .getSA, .listSA, .getPolicy, .listPolicies: return false
        default: return true
        }
    }
}
