public import DecisionEngine
public import IPsecModel
public import XfrmManager
public import XfrmWire

/// One host's half of an apply file against the kernel a live manager holds (`salabel apply`,
/// Specs/manager/apply.md): the steps from the kernel's SAD and SPD as they are to the host's half
/// (or to the tables without it), a dry run that makes every check the real run makes before the
/// kernel, and the real run as one transaction (`XfrmManager/transact(_:)`).
public struct ApplyRun {
    public let manager: XfrmManager
    /// The host's half: its SAs and SPD entries with their keys (`ApplyPlanner/desired(_:host:keys:ikeRoutes:)`).
    public let desired: (sas: [SecurityAssociation], policies: [PolicyEntry])
    /// Take the half away instead of installing it.
    public let remove: Bool

    public init(manager: XfrmManager, desired: (sas: [SecurityAssociation], policies: [PolicyEntry]), remove: Bool) {
        self.manager = manager
        self.desired = desired
        self.remove = remove
    }

    /// The steps from the kernel's tables as they are now; empty when nothing is to change.
    public func steps() throws(XfrmKernelError) -> [ApplyStep] {
        let current = (sas: try manager.kernel.allSAs(), policies: try manager.kernel.allPolicies())
        return remove ? ApplyPlanner.removal(desired: desired, current: current) : ApplyPlanner.plan(desired: desired, current: current)
    }

    /// What a dry run found: the audit records of the setcontext checks, and each step's message.
    public struct DryRun {
        public var authorizations: [Authorization]
        public var messages: [(step: ApplyStep, message: XfrmMessage, bytes: [UInt8])]

        /// What `salabel apply --dry-run` prints: the AVC records of the checks, then per step
        /// `would STEP` and its message's type and size, with `showKeys` its bytes in rows of 16
        /// (they hold the keys).
        public func lines(showKeys: Bool) -> [String] {
            var lines = authorizations.compactMap { $0.record?.description }
            for (s, m, bytes) in messages {
                lines.append("would \(s.summary)")
                lines.append("    \(m.type), \(bytes.count) bytes")
                guard showKeys else { continue }
                for row in stride(from: 0, to: bytes.count, by: 16) {
                    let hex = bytes[row..<min(row + 16, bytes.count)].map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }
                    let offset = String(row, radix: 16)
                    lines.append("    " + String(repeating: "0", count: max(0, 4 - offset.count)) + offset + ": " + hex.joined(separator: " "))
                }
            }
            return lines
        }
    }

    /// Why a dry run would fail as the real run would: the engine refused a step, or its message
    /// cannot be built.
    public enum DryRunFailure: Error, CustomStringConvertible {
        case refused(ApplyStep, XfrmManagerError)
        case unencodable(ApplyStep, any Error)

        /// The step and why: `STEP: ERROR`, or `STEP: the message cannot be built: ERROR`.
        public var description: String {
            switch self {
            case .refused(let s, let e): "\(s.summary): \(e)"
            case .unencodable(let s, let e): "\(s.summary): the message cannot be built: \(e)"
            }
        }

        /// The AVC records of the engine's refusal (none when the message cannot be built).
        public var records: [AuditRecord] {
            guard case .refused(_, let e) = self else { return [] }
            return e.records
        }
    }

    /// Every check the real run makes before the kernel, with the same outcome: the setcontext
    /// authorization of every step (the transaction's first pass) and the encoding of every
    /// message. Nothing is sent.
    public func dryRun(_ steps: [ApplyStep]) throws(DryRunFailure) -> DryRun {
        var run = DryRun(authorizations: [], messages: [])
        for s in steps {
            do throws(XfrmManagerError) { run.authorizations += try manager.authorize(s.operation) } catch { throw .refused(s, error) }
        }
        for s in steps {
            do {
                let m = try NetlinkXfrmKernel.request(for: s.operation)
                run.messages.append((s, m, try m.encoded()))
            } catch {
                throw .unencodable(s, error)
            }
        }
        return run
    }
}
