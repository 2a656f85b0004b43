import Synchronization
public import IPsecModel

/// An in-memory SAD and SPD with the kernel's identity rules (Specs/kernel/labeled-ipsec.md §g): an SA
/// is keyed by (destination, SPI, protocol, mark), labels aside (edge 11); an SPD entry by
/// (selector, direction, label, mark, if_id, type), so entries differing only in label coexist;
/// NEWSA/NEWPOLICY on an occupied key fail with EEXIST, deletes of missing objects with ESRCH or
/// ENOENT; UPDSA never relabels an existing SA (edge 19). It makes no SELinux check (that is the
/// kernel's, and the manager's before it). For tests and `--dry-run`; a failure can be injected.
public final class SimulatedXfrmKernel: XfrmKernel {
    private struct State {
        var sas: [SecurityAssociation] = []
        var policies: [PolicyEntry] = []
        var nextIndex: UInt32 = 8
        var nextSPI: UInt32 = 0xC000_0000
        var operations: [XfrmOperation] = []
        var failAt: Int?
        var failWith = XfrmKernelError(errno: 22)
    }

    private let state = Mutex(State())

    public init(sas: [SecurityAssociation] = [], policies: [PolicyEntry] = []) {
        state.withLock {
            $0.sas = sas; $0.policies = policies
        }
    }

    /// Every operation performed so far (changes and queries).
    public var operations: [XfrmOperation] { state.withLock { $0.operations } }

    /// Makes the `n`-th (0-based, counting from now) changing operation fail with `error`.
    public func failChange(after n: Int, with error: XfrmKernelError) {
        state.withLock {
            $0.failAt = n; $0.failWith = error
        }
    }

    public var sas: [SecurityAssociation] { state.withLock { $0.sas } }
    public var policies: [PolicyEntry] { state.withLock { $0.policies } }

    public func perform(_ op: XfrmOperation) throws(XfrmKernelError) -> XfrmResult {
        try state.withLock { (s: inout State) throws(XfrmKernelError) -> XfrmResult in
            s.operations.append(op)
            if op.isChange, let n = s.failAt {
                if n == 0 { s.failAt = nil; throw s.failWith }
                s.failAt = n - 1
            }
            return try SimulatedXfrmKernel.apply(op, &s)
        }
    }

    private static func slot(_ sa: SecurityAssociation, _ id: SAIdentifier, _ mark: XfrmMark?) -> Bool {
        sa.identifier == id && sa.mark == mark
    }

    private static func policyMatches(_ p: PolicyEntry, _ key: PolicyKey, _ mark: XfrmMark?, _ type: UInt8, _ ifID: UInt32?) -> Bool {
        switch key {
        case .index(let i, let dir): return p.index == i && p.direction == dir
        case .selector(let sel, let dir, let ctx):
            return p.selector == sel && p.direction == dir && p.securityContext == ctx && p.mark == mark && p.policyType == type && p.interfaceID == ifID
        }
    }

    private static func apply(_ op: XfrmOperation, _ s: inout State) throws(XfrmKernelError) -> XfrmResult {
        switch op {
        case .addSA(let sa):
            guard !s.sas.contains(where: { $0.hasSameKernelKey(as: sa) }) else { throw XfrmKernelError(errno: 17) }
            s.sas.append(sa)
            return .done
        case .updateSA(let sa):
            guard let i = s.sas.firstIndex(where: { $0.hasSameKernelKey(as: sa) }) else { throw XfrmKernelError(errno: 3) }
            var updated = sa
            updated.securityContext = s.sas[i].securityContext  // UPDSA on a valid SA never relabels it
            s.sas[i] = updated
            return .done
        case .deleteSA(let id, _, let mark):
            guard let i = s.sas.firstIndex(where: { slot($0, id, mark) }) else { throw XfrmKernelError(errno: 3) }
            s.sas.remove(at: i)
            return .done
        case .getSA(let id, _, let mark):
            guard let sa = s.sas.first(where: { slot($0, id, mark) }) else { throw XfrmKernelError(errno: 3) }
            return .sa(sa)
        case .allocateSPI(var sa, let min, let max):
            var spi = Swift.max(min, s.nextSPI)
            while s.sas.contains(where: { $0.destination == sa.destination && $0.proto == sa.proto && $0.spi == spi }) { spi += 1 }
            guard spi <= max else { throw XfrmKernelError(errno: 2) }
            s.nextSPI = spi + 1
            sa.spi = spi
            s.sas.append(sa)
            return .sa(sa)
        case .flushSA(let proto):
            s.sas.removeAll { proto.flushes($0.proto) }
            return .done
        case .deleteAllSA(let f):
            s.sas.removeAll { f.matches($0) }
            return .done
        case .listSA(let f):
            return .sas(s.sas.filter { f.matches($0) })
        case .addPolicy(var p):
            guard !s.policies.contains(where: { $0.hasSameKernelKey(as: p) }) else {
                throw XfrmKernelError(errno: 17)
            }
            if p.index == 0 { p.index = s.nextIndex + UInt32(p.direction.rawValue); s.nextIndex += 8 }
            s.policies.append(p)
            return .done
        case .updatePolicy(var p):
            if let i = s.policies.firstIndex(where: { $0.hasSameKernelKey(as: p) }) {
                p.index = s.policies[i].index
                s.policies[i] = p
            } else {
                if p.index == 0 { p.index = s.nextIndex + UInt32(p.direction.rawValue); s.nextIndex += 8 }
                s.policies.append(p)
            }
            return .done
        case .deletePolicy(let key, let mark, let type, let ifID):
            guard let i = s.policies.firstIndex(where: { policyMatches($0, key, mark, type, ifID) }) else { throw XfrmKernelError(errno: 2) }
            s.policies.remove(at: i)
            return .done
        case .getPolicy(let key, let mark, let type, let ifID):
            guard let p = s.policies.first(where: { policyMatches($0, key, mark, type, ifID) }) else { throw XfrmKernelError(errno: 2) }
            return .policy(p)
        case .flushPolicy(let type):
            s.policies.removeAll { $0.policyType == type }
            return .done
        case .deleteAllPolicies(let f):
            s.policies.removeAll { f.matches($0) }
            return .done
        case .listPolicies(let f):
            return .policies(s.policies.filter { f.matches($0) })
        }
    }
}
