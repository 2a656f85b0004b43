// What `salabel xfrm` prints of the manager's answers: a result, an error, a batch's report, as
// text for people and as JSON-ready dictionaries (strings, numbers, booleans, arrays), which the
// caller serializes.

extension XfrmFormatter {
    /// A result in `ip xfrm` layout: SAs one after the other, a newline between two, and SPD
    /// entries the same way; nothing for ``XfrmResult/done``. Keys only with `showKeys`.
    public static func text(_ result: XfrmResult, showKeys: Bool = false) -> String {
        switch result {
        case .done: ""
        case .sa(let sa): text(sa, showKeys: showKeys)
        case .sas(let list): list.map { text($0, showKeys: showKeys) }.joined(separator: "\n")
        case .policy(let p): text(p)
        case .policies(let list): text(list)
        }
    }

    /// A result as JSON: `{"ok": true}` for ``XfrmResult/done``, an object for one SA or SPD
    /// entry, an array for a dump. Keys only with `showKeys`.
    public static func json(_ result: XfrmResult, showKeys: Bool = false) -> Any {
        switch result {
        case .done: ["ok": true]
        case .sa(let sa): json(sa, showKeys: showKeys)
        case .sas(let list): list.map { json($0, showKeys: showKeys) }
        case .policy(let p): json(p)
        case .policies(let list): list.map { json($0) }
        }
    }

    /// Why the manager did not carry out an operation, as JSON: `error` (its description) and
    /// `avc` (the AVC records of the checks, possibly none).
    public static func json(_ error: XfrmManagerError) -> [String: Any] {
        ["error": error.description, "avc": error.records.map(\.description)]
    }

    /// Which command of a batch of `total` failed, for the line above its error: `command N of
    /// TOTAL (line L):`, or what failed before the first command.
    public static func heading(_ failure: XfrmBatchFailure, total: Int) -> String {
        guard let index = failure.index else { return "before the first command, the state to restore on failure could not be read:" }
        return "command \(index + 1) of \(total)" + (failure.line > 0 ? " (line \(failure.line))" : "") + ":"
    }

    /// A batch's last line: how many commands took effect, and what restoring the state before it
    /// did (the kernel's refusals when it could not restore everything).
    public static func summary(_ report: XfrmBatchReport) -> String {
        var summary = "\(report.effective) of \(report.total) command(s) took effect"
        if let rollback = report.rollback {
            summary +=
                rollback.complete
                ? (rollback.changes == 0 ? "; nothing had changed" : "; the state before the batch was restored (\(rollback.changes) change(s) undone)")
                : "; restoring the state before the batch failed for \(rollback.errors.count) of \(rollback.changes) change(s), the kernel now differs from before: "
                    + rollback.errors.map(\.description).joined(separator: "; ")
        }
        return summary
    }

    /// A batch's counts as JSON: `total`, `effective`, `failed`, `rolledBack`, `rollbackComplete`.
    public static func json(_ report: XfrmBatchReport) -> [String: Any] {
        [
            "total": report.total, "effective": report.effective, "failed": report.failures.count,
            "rolledBack": report.rollback != nil, "rollbackComplete": report.rollback?.complete ?? true,
        ]
    }
}

extension XfrmManager {
    /// The SPD entries that pass `filter` in `ip xfrm policy` layout, each followed by a newline,
    /// as UTF-8 in parts of about `partSize` bytes: formatted as the kernel's dump is read
    /// (``visitPolicies(matching:restart:_:)``), none collected as values. A dump the kernel
    /// interrupts and starts again starts the text again; a dump that fails gives no text at all.
    /// - Throws: ``XfrmManagerError/kernel(_:authorizations:)`` when the kernel refuses the dump.
    public func policyText(matching filter: XfrmFilter, partSize: Int = 256 << 10) throws(XfrmManagerError) -> [[UInt8]] {
        var parts: [[UInt8]] = []
        var text = XfrmPolicyText(capacity: partSize + 4096)
        try visitPolicies(
            matching: filter,
            restart: {
                parts.removeAll()
                text.removeAll()
            }
        ) { entry in
            text.append(entry)
            text.appendNewline()
            if text.count >= partSize { parts.append(text.takeBytes()) }
        }
        parts.append(text.bytes)
        return parts
    }
}
