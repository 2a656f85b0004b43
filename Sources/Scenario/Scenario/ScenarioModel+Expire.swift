import DecisionEngine
import IPsecModel
import SecurityContexts
import XfrmManager
import LinuxSystem  // Errno: the C names of error numbers

extension ScenarioModel {
    /// A hard `XFRM_MSG_EXPIRE` from userspace, after the socket's checks and CAP_NET_ADMIN (which
    /// every xfrm request passes first): `xfrm_add_sa_expire` (net/xfrm/xfrm_user.c) looks the SA
    /// up by destination, SPI, protocol and mark (ENOENT without one; a larval SA has SPI 0 and is
    /// not found by SPI), refuses one that is not VALID (EINVAL), tells the key managers, and
    /// deletes it with `__xfrm_state_delete`: no `association { setcontext }` on its label, unlike
    /// DELSA (Specs/kernel/labeled-ipsec.md, edge 35). The model's kernel removes it directly, past
    /// the manager, whose deletions are checked.
    ///
    /// A hard `XFRM_MSG_POLEXPIRE` (`xfrm_add_pol_expire`) names an SPD entry by index and
    /// direction, with no check at all, or by selector, direction and label: a label given is
    /// allocated as the sender's first (`security_xfrm_policy_alloc`: EINVAL for an invalid one,
    /// `association { setcontext }` on it, EACCES), then the entry with exactly that selector and
    /// label is found (ENOENT without one) and deleted by `xfrm_policy_delete`, with no
    /// `security_xfrm_policy_delete` (which DELPOLICY asks, edge 9).
    func expire(_ operation: XfrmOperation, by actor: SecurityContext, on host: String, records: inout [AuditRecord]) -> Result<String, Refusal> {
        if case .deletePolicy(let key, let mark, let policyType, _) = operation {
            return expirePolicy(key, mark: mark, policyType: policyType, by: actor, on: host, records: &records)
        }
        guard case .deleteSA(let id, let source, let mark) = operation else {
            return .failure(Refusal(errno: "EINVAL", why: "an EXPIRE names one SA"))
        }
        let kernel = kernels[host]!
        guard let sa = kernel.sas.first(where: { $0.identifier == id && $0.mark == mark }) else {
            return .failure(Refusal(errno: "ENOENT", why: "xfrm_add_sa_expire: no SA \(id)"))
        }
        do { _ = try kernel.perform(.deleteSA(id, source: source, mark: mark)) } catch {
            return .failure(Refusal(errno: Errno(rawValue: error.errno).name, why: "\(error)"))
        }
        return .success("hard EXPIRE: SA \(id) (\(sa.securityContext.map { "labeled \($0)" } ?? "unlabeled")) deleted with no setcontext check (edge 35)")
    }

    /// `xfrm_add_pol_expire` with `hard` = 1 (see ``expire(_:by:on:records:)``).
    private func expirePolicy(
        _ key: PolicyKey, mark: XfrmMark?, policyType: UInt8, by actor: SecurityContext, on host: String, records: inout [AuditRecord]
    ) -> Result<String, Refusal> {
        let kernel = kernels[host]!
        let found: PolicyEntry?
        switch key {
        case .index(let index, let direction):
            found = kernel.policies.first {
                !$0.isSocketPolicy && $0.index == index && $0.direction == direction && $0.policyType == policyType && $0.mark == mark
            }
        case .selector(let selector, let direction, let context):
            if let context, let refusal = allocateAsSender(context, by: actor, on: host, records: &records) {
                return .failure(Refusal(errno: refusal.errno, why: "the lookup's label (security_xfrm_policy_alloc): \(refusal.why)"))
            }
            found = kernel.policies.first {
                !$0.isSocketPolicy && $0.selector == selector && $0.direction == direction && $0.securityContext == context
                    && $0.policyType == policyType && $0.mark == mark
            }
        }
        guard let entry = found else { return .failure(Refusal(errno: "ENOENT", why: "xfrm_add_pol_expire: no such SPD entry")) }
        do {
            _ = try kernel.perform(.deletePolicy(.index(entry.index, entry.direction), mark: entry.mark, policyType: entry.policyType, interfaceID: nil))
        } catch {
            return .failure(Refusal(errno: Errno(rawValue: error.errno).name, why: "\(error)"))
        }
        return .success(
            "hard POLEXPIRE: SPD entry index \(entry.index) (\(entry.securityContext.map { "labeled \($0)" } ?? "unlabeled")) deleted with no check on its label (edge 35)"
        )
    }
}
