import IPsecModel
import Resolver
import XfrmManager
import XfrmWire

extension XfrmMirror {
    /// What applying an event did to the mirror.
    public enum EventEffect: Sendable, Hashable {
        case applied
        /// Nothing to change (an EXPIRE that is soft, an event about something unknown).
        case ignored
        /// Notifications were lost (ENOBUFS): the mirror must be rebuilt from a fresh dump.
        case resynchronizationNeeded
    }

    /// Keeps the mirror current from the kernel's notifications (`salabel xfrm monitor`'s events):
    /// new and updated SAs and entries replace those with the same kernel key (SA: destination, SPI,
    /// protocol, mark; SPD entry: selector, direction, label, mark, if_id, type), deletions, hard
    /// expirations and flushes remove them. An overflow says the mirror may have missed changes.
    ///
    /// An ACQUIRE records a larval SA (`PendingAcquire`) seen at `now` on the caller's clock;
    /// installing an SA for its endpoints, a flush, or `expireAcquires(now:)` ends it.
    public mutating func apply(_ event: XfrmEvent, now: Double? = nil) -> EventEffect {
        switch event {
        case .sa(let type, let sa):
            if type == .delSA { return remove(sa) ? .applied : .ignored }
            insert(sa)
            return .applied
        case .policy(let type, let p):
            if type == .delPolicy {
                guard policies.contains(where: { $0.hasSameKernelKey(as: p) }) else { return .ignored }
                policies.removeAll { $0.hasSameKernelKey(as: p) }
            } else if let i = policies.firstIndex(where: { $0.hasSameKernelKey(as: p) }) {
                policies[i] = p
            } else {
                policies.append(p)
            }
            return .applied
        case .expire(let sa, let hard):
            guard hard else { return .ignored }
            return remove(sa) ? .applied : .ignored
        case .policyExpire(let p, let hard):
            guard hard, policies.contains(where: { $0.hasSameKernelKey(as: p) }) else { return .ignored }
            policies.removeAll { $0.hasSameKernelKey(as: p) }
            return .applied
        case .flushSA(let proto):
            removeSAs { proto.flushes($0.proto) }
            acquires.removeAll { proto.flushes($0.proto) }
            return .applied
        case .flushPolicy:
            policies.removeAll()
            return .applied
        case .acquire(let source, let destination, let proto, let sequence, _, let policy, let label):
            let t = policy?.templates.first { $0.proto == proto }
            acquires.append(
                PendingAcquire(
                    source: source, destination: destination, proto: proto, mode: t?.mode, reqid: t?.reqid,
                    label: label?.context, sequence: sequence, seenAt: now))
            return .applied
        case .overflow:
            return .resynchronizationNeeded
        case .other:
            return .ignored
        }
    }
}
