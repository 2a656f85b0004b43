import IPsecModel
import XfrmManager
import XfrmWire

extension XfrmMirror {
    /// What applying an event did to the mirror.
    public enum EventEffect: Sendable, Hashable {
        case applied
        /// Nothing to change (an ACQUIRE, an EXPIRE that is soft, an event about something unknown).
        case ignored
        /// Notifications were lost (ENOBUFS): the mirror must be rebuilt from a fresh dump.
        case resynchronizationNeeded
    }

    /// Keeps the mirror current from the kernel's notifications (`salabel xfrm monitor`'s events):
    /// new and updated SAs and entries replace those with the same kernel key (SA: destination, SPI,
    /// protocol, mark; SPD entry: selector, direction, label, mark, if_id, type), deletions, hard
    /// expirations and flushes remove them. An overflow says the mirror may have missed changes.
    public mutating func apply(_ event: XfrmEvent) -> EventEffect {
        switch event {
        case .sa(let type, let sa):
            if type == .delSA {
                guard sas.contains(where: { $0.hasSameKernelKey(as: sa) }) else { return .ignored }
                sas.removeAll { $0.hasSameKernelKey(as: sa) }
            } else if let i = sas.firstIndex(where: { $0.hasSameKernelKey(as: sa) }) {
                sas[i] = sa
            } else {
                sas.append(sa)
            }
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
            guard hard, sas.contains(where: { $0.hasSameKernelKey(as: sa) }) else { return .ignored }
            sas.removeAll { $0.hasSameKernelKey(as: sa) }
            return .applied
        case .policyExpire(let p, let hard):
            guard hard, policies.contains(where: { $0.hasSameKernelKey(as: p) }) else { return .ignored }
            policies.removeAll { $0.hasSameKernelKey(as: p) }
            return .applied
        case .flushSA(let proto):
            sas.removeAll { proto.flushes($0.proto) }
            return .applied
        case .flushPolicy:
            policies.removeAll()
            return .applied
        case .overflow:
            return .resynchronizationNeeded
        case .acquire, .other:
            return .ignored
        }
    }
}
