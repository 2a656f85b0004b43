import IPsecModel
import SecurityContexts

/// The SAD and SPD of a kernel at one moment, kept so that a failed transaction can put them back
/// (Specs/manager/batch.md, "Rollback"). It holds SA keys in memory only; nothing prints it.
struct XfrmSnapshot: Sendable {
    /// How the kernel tells SAs apart: destination, SPI, protocol and mark (labels aside).
    struct SAKey: Hashable, Sendable {
        var id: SAIdentifier
        var mark: XfrmMark?
    }

    /// How the kernel tells SPD entries apart: selector, direction, label, mark, interface ID and
    /// policy type.
    struct PolicyKey: Hashable, Sendable {
        var selector: TrafficSelector
        var direction: PolicyDirection
        var label: SecurityContext?
        var mark: XfrmMark?
        var interfaceID: UInt32?
        var policyType: UInt8
    }

    /// Objects named by key.
    struct Keys: Sendable {
        var sas = Set<SAKey>()
        var policies = Set<PolicyKey>()
    }

    var sas: [SecurityAssociation]
    var policies: [PolicyEntry]

    static func key(_ sa: SecurityAssociation) -> SAKey { SAKey(id: sa.identifier, mark: sa.mark) }

    static func key(_ p: PolicyEntry) -> PolicyKey {
        PolicyKey(
            selector: p.selector, direction: p.direction, label: p.securityContext, mark: p.mark, interfaceID: p.interfaceID,
            policyType: p.policyType)
    }

    /// Whether undoing `op` needs the state before it: anything that removes or replaces (the
    /// removed object is known only from a dump), or creates what no add names (allocspi).
    static func needsSnapshot(_ op: XfrmOperation) -> Bool {
        switch op {
        case .addSA, .addPolicy, .getSA, .getPolicy, .listSA, .listPolicies: return false
        case .updateSA, .updatePolicy, .deleteSA, .deletePolicy, .flushSA, .flushPolicy, .deleteAllSA, .deleteAllPolicies, .allocateSPI:
            return true
        }
    }

    /// Dumps both databases.
    static func take(of kernel: any XfrmKernel) throws(XfrmKernelError) -> XfrmSnapshot {
        XfrmSnapshot(sas: try kernel.allSAs(), policies: try kernel.allPolicies())
    }

    /// The changes that make `kernel` hold this snapshot again, from a fresh dump: deletes of what
    /// is there and was not before, then adds of what was there and is not, then the objects an
    /// update replaced, put back as they were. Policies keep their index (the kernel reuses a free
    /// index it is given); SAs come back with their keys, lifetimes and label, but their counters
    /// (bytes, packets, replay state) start again.
    func restoringChanges(in kernel: any XfrmKernel, updated: Keys) throws(XfrmKernelError) -> [XfrmOperation] {
        let now = try XfrmSnapshot.take(of: kernel)
        let beforeSAs = Dictionary(sas.map { (XfrmSnapshot.key($0), $0) }, uniquingKeysWith: { a, _ in a })
        let beforePolicies = Dictionary(policies.map { (XfrmSnapshot.key($0), $0) }, uniquingKeysWith: { a, _ in a })
        let nowSAs = Set(now.sas.map(XfrmSnapshot.key))
        let nowPolicies = Set(now.policies.map(XfrmSnapshot.key))
        var ops: [XfrmOperation] = []
        for p in now.policies where beforePolicies[XfrmSnapshot.key(p)] == nil {
            ops.append(.deletePolicy(.index(p.index, p.direction), mark: p.mark, policyType: p.policyType, interfaceID: p.interfaceID))
        }
        for sa in now.sas where beforeSAs[XfrmSnapshot.key(sa)] == nil {
            ops.append(.deleting(sa))
        }
        for sa in sas {
            let k = XfrmSnapshot.key(sa)
            if !nowSAs.contains(k) { ops.append(.addSA(sa)) } else if updated.sas.contains(k) { ops.append(.updateSA(sa)) }
        }
        for p in policies {
            let k = XfrmSnapshot.key(p)
            if !nowPolicies.contains(k) { ops.append(.addPolicy(p)) } else if updated.policies.contains(k) { ops.append(.updatePolicy(p)) }
        }
        return ops
    }
}
