import IPsecModel
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
    func expire(_ operation: XfrmOperation, on host: String) -> Result<String, Refusal> {
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
}
