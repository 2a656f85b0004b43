import DecisionEngine
import IPsecModel
import Resolver
import SecurityContexts
import XfrmManager

extension ScenarioModel {
    /// An `XFRM_MSG_MIGRATE` from userspace, after the socket's checks and CAP_NET_ADMIN, as
    /// `xfrm_migrate` (net/xfrm/xfrm_policy.c) plays it (Specs/kernel/labeled-ipsec.md, edge 36):
    /// 1. the SPD entry is found by direction and type, and (`xfrm_migrate_policy_find`) before
    ///    Linux 6.12 by selector, with no check on its label; from 6.12 on by a flow built from the
    ///    selector, without a label, as the packet path looks up: a labeled entry is found only when
    ///    the unlabeled context may `polmatch` its label (the denial is audited). None is ENOENT;
    /// 2. the SA is found by mode, protocol, old endpoints and reqid (`xfrm_migrate_state_find`);
    ///    none is no error. Found, it is cloned (`xfrm_state_clone`), and a labeled SA's label is
    ///    allocated again as the sender's (`clone_security` → `selinux_xfrm_alloc_user`): the
    ///    sender needs `association { setcontext }` on it (C6). A refused clone, or a clone whose
    ///    new key is taken (`xfrm_state_add`), fails the migration with ENODATA;
    /// 3. the entry's templates that match are rewritten (`xfrm_policy_migrate`; tunnel and BEET
    ///    templates get the new endpoints); none matching is ENODATA and the clone is removed;
    /// 4. the old SA is deleted (`xfrm_states_delete`: no SELinux check).
    ///
    /// The model's kernel is changed directly, past the manager, whose changes are checked as DELSA,
    /// NEWSA and UPDPOLICY would be.
    func migrate(
        _ operation: XfrmOperation, _ m: SAMigration, by actor: SecurityContext, on host: String, records: inout [AuditRecord]
    ) -> Result<String, Refusal> {
        guard case .deletePolicy(.selector(let selector, let direction, _), _, let policyType, _) = operation else {
            return .failure(Refusal(errno: "EINVAL", why: "a MIGRATE names an SPD entry by selector"))
        }
        let kernel = kernels[host]!
        var notes: [String] = []
        let found: PolicyEntry?
        if linux >= Self.migrateLooksUpByFlow {
            // A flow from the selector, without a label: each labeled candidate needs polmatch from
            // the unlabeled context, and a denial hides it (ESRCH), as on the packet path.
            let flow = Flow(
                context: nil, source: selector.source.address, destination: selector.destination.address,
                upperProtocol: selector.upperProtocol, sourcePort: selector.upperProtocol == 0 ? 0 : selector.sourcePort,
                destinationPort: selector.upperProtocol == 0 ? 0 : selector.destinationPort)
            let (entry, checks) = resolver(host).lookup(direction, flow, policyType: policyType)
            records += checks.compactMap(\.record)
            notes += checks.map(\.description)
            found = entry
        } else {
            found = kernel.policies.first {
                !$0.isSocketPolicy && $0.direction == direction && $0.policyType == policyType
                    && Self.migrateSelectorMatches(selector, $0.selector)
            }
        }
        guard var entry = found else {
            return .failure(
                Refusal(
                    errno: "ENOENT",
                    why: "xfrm_migrate_policy_find: no \(direction) SPD entry "
                        + (linux >= Self.migrateLooksUpByFlow ? "found by a flow without a label (Linux ≥ 6.12)" : "with this selector")))
        }
        notes.append(
            "the \(direction) SPD entry "
                + (linux >= Self.migrateLooksUpByFlow ? "found by a flow without a label" : "found by selector, no check on its label")
                + " (\(entry.securityContext.map { "labeled \($0)" } ?? "unlabeled"))")

        // Stage 2: the SA and its clone.
        var moved: (old: SecurityAssociation, clone: SecurityAssociation)?
        if let old = kernel.sas.first(where: m.finds) {
            if let label = old.securityContext, let refusal = allocateAsSender(label, by: actor, on: host, records: &records) {
                return .failure(Refusal(errno: "ENODATA", why: "clone_security: \(refusal.why) (xfrm_state_migrate fails, edge 36)"))
            }
            var clone = old
            clone.source = m.newSource
            clone.destination = m.newDestination
            if old.destination != m.newDestination, kernel.sas.contains(where: { $0.hasSameKernelKey(as: clone) }) {
                return .failure(Refusal(errno: "ENODATA", why: "xfrm_state_add: the clone's key \(clone.identifier) is taken"))
            }
            moved = (old, clone)
            notes.append(
                "SA \(old.identifier) cloned to \(m.newSource) → \(m.newDestination)\(old.securityContext.map { ", label \($0) allocated again" } ?? "")")
        } else {
            notes.append("no SA with these endpoints: none cloned")
        }

        // Stage 3: the templates.
        let matching = entry.templates.indices.filter { m.matches(entry.templates[$0]) }
        guard !matching.isEmpty else {
            return .failure(Refusal(errno: "ENODATA", why: "xfrm_policy_migrate: no template of the entry matches (mode, protocol, reqid, endpoints)"))
        }
        for i in matching where entry.templates[i].mode == .tunnel || entry.templates[i].mode == .beet {
            entry.templates[i].source = m.newSource
            entry.templates[i].destination = m.newDestination
        }

        // Stage 4: commit.
        do {
            if let moved {
                _ = try kernel.perform(.deleteSA(moved.old.identifier, source: moved.old.source, mark: moved.old.mark))
                _ = try kernel.perform(.addSA(moved.clone))
            }
            _ = try kernel.perform(.updatePolicy(entry))
        } catch {
            return .failure(Refusal(errno: "EIO", why: "the model's kernel refused the migration: \(error)"))
        }
        return .success(notes.joined(separator: "; "))
    }

    /// The first version whose `xfrm_migrate_policy_find` looks the entry up as the packet path
    /// does (`xfrm_policy_lookup_bytype` with a flow built from the selector and no label) rather
    /// than by selector: upstream "xfrm: switch migrate to xfrm_policy_lookup_bytype", in Linux 6.12.
    static let migrateLooksUpByFlow = LinuxVersion.debian13

    /// `xfrm_migrate_selector_match` (Linux before 6.12): without an upper-layer protocol, family, addresses and prefix
    /// lengths; with one, the whole selector.
    static func migrateSelectorMatches(_ asked: TrafficSelector, _ entry: TrafficSelector) -> Bool {
        guard asked.upperProtocol == 0 else { return asked == entry }
        return asked.family == entry.family && asked.source == entry.source && asked.destination == entry.destination
    }
}
