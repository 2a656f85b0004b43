/// One SA's move to new endpoints in an `XFRM_MSG_MIGRATE` (the kernel's `struct xfrm_migrate`,
/// sent as `struct xfrm_user_migrate` in `XFRMA_MIGRATE`; Specs/kernel/layouts.md §1.3).
///
/// The kernel (`xfrm_migrate`, net/xfrm/xfrm_policy.c) finds the SA by mode, protocol, its old
/// destination and source, and `reqid` when non-zero (`xfrm_migrate_state_find`), clones it to the
/// new addresses, and rewrites the addresses of the SPD entry's templates that match (tunnel and
/// BEET templates; a transport template matches on mode and protocol alone and keeps no addresses).
/// The clone's label is allocated again as the caller's (Specs/kernel/labeled-ipsec.md, edge 36).
public struct SAMigration: Sendable, Hashable {
    public var proto: IPsecProtocol
    public var mode: XfrmMode
    /// 0 matches any reqid.
    public var reqid: UInt32
    public var oldSource: IPAddress
    public var oldDestination: IPAddress
    public var newSource: IPAddress
    public var newDestination: IPAddress

    public init(
        proto: IPsecProtocol, mode: XfrmMode, reqid: UInt32 = 0, oldSource: IPAddress, oldDestination: IPAddress,
        newSource: IPAddress, newDestination: IPAddress
    ) {
        self.proto = proto
        self.mode = mode
        self.reqid = reqid
        self.oldSource = oldSource
        self.oldDestination = oldDestination
        self.newSource = newSource
        self.newDestination = newDestination
    }

    /// `old_family`: the old destination's.
    public var oldFamily: IPAddress.Family { oldDestination.family }
    /// `new_family`: the new destination's.
    public var newFamily: IPAddress.Family { newDestination.family }

    /// Whether `sa` is the one the kernel migrates (`xfrm_migrate_state_find`): the same mode and
    /// protocol, the old destination and source, and the reqid unless this one is 0.
    public func finds(_ sa: SecurityAssociation) -> Bool {
        sa.mode == mode && sa.proto == proto && (reqid == 0 || sa.reqid == reqid)
            && sa.destination == oldDestination && sa.source == oldSource
    }

    /// Whether the kernel rewrites (or, for transport mode, counts) `template`
    /// (`migrate_tmpl_match`): mode, protocol and reqid (unless 0), and for tunnel and BEET
    /// templates the old endpoints.
    public func matches(_ template: PolicyTemplate) -> Bool {
        guard template.mode == mode, template.proto == proto, reqid == 0 || template.reqid == reqid else { return false }
        switch template.mode {
        case .tunnel, .beet: return template.destination == oldDestination && template.source == oldSource
        case .transport: return true
        default: return false
        }
    }
}
