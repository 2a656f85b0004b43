import DecisionEngine
import IPsecModel
import Resolver
import SecurityContexts

extension ScenarioModel {
    /// The client's `setsockopt(SOL_IP, IP_IPSEC_POLICY | IP_XFRM_POLICY)` of a traffic step, as the
    /// actor, in the kernel's order: `security_socket_setsockopt` (`{tcp,udp}_socket { setopt }` on
    /// the socket, labeled the actor), then `do_ip_setsockopt`'s `CAP_NET_ADMIN` (`capability
    /// { net_admin }`, EPERM), then `xfrm_user_policy` → `pfkey_compile_policy` →
    /// `selinux_xfrm_alloc_user` for a labeled one: ctx_len ≥ PAGE_SIZE ENOMEM, a context the
    /// policy does not accept EINVAL (Specs/kernel/labeled-ipsec.md, edge 8), `association
    /// { setcontext }` on the label EACCES (edge 9). `run` records each check and says whether it
    /// passed. The entry, labeled, on success.
    func setSocketPolicy(
        _ sp: ScenarioStep.SocketPolicy, _ t: ScenarioStep.Traffic, resolver r: Resolver, run: (ResolutionCheck) -> Bool
    ) -> Result<PolicyEntry, Refusal> {
        let actor = t.actorContext
        let cls = t.proto == .tcp ? "tcp_socket" : "udp_socket"
        let setopt = r.check(actor, actor, cls, "setopt", what: "\(cls) { setopt }")
        if !run(setopt) { return .failure(Refusal(errno: "EACCES", why: "\(setopt.what): \(setopt.reason)")) }
        let cap = r.check(actor, actor, "capability", "net_admin", what: "capability { net_admin }")
        if !run(cap) { return .failure(Refusal(errno: "EPERM", why: "\(cap.what): \(cap.reason)")) }
        var entry = sp.entry
        guard let raw = sp.rawContext else { return .success(entry) }
        let context: SecurityContext
        switch allocateContext(raw, server: servers[t.from]!) {
        case .success(let c): context = c
        case .failure(let refusal): return .failure(refusal)
        }
        let authorizer = authorizers[t.from]!
        let a = authorizer.setcontext(subject: actor, label: context)
        if !run(Resolver.check(a, "association { setcontext } \(actor) → \(context)")) {
            return .failure(Refusal(errno: "EACCES", why: "association { setcontext } on the socket policy's \(context): \(a.reason)"))
        }
        entry.securityContext = context
        return .success(entry)
    }
}
