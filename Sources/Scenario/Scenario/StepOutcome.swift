/// One AVC record reduced to what a scenario compares: the result, the permissions, the two
/// contexts, the class and (for denials) `permissive=`. `pid=`, `comm=` and the network fields
/// (`saddr=`, `netif=`, …) depend on the run and are left out. In a scenario whose hosts are
/// kernels of their own (``Scenario/Kernels/perHost``), `host=` names the kernel that wrote it.
///
///     denied { setcontext } scontext=system_u:system_r:echoclient_t:s0 tcontext=… tclass=association permissive=0
///     denied { recv } scontext=… tcontext=… tclass=peer permissive=0 host=server
public struct AVCLine: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public var result: String
    /// The permissions, sorted.
    public var permissions: [String]
    public var scontext: String
    public var tcontext: String
    public var tclass: String
    /// `permissive=` of a denial; nil for a grant.
    public var permissive: Bool?
    /// The host whose kernel wrote the record, in a scenario whose hosts are kernels of their own;
    /// nil when the hosts share one kernel.
    public var host: String?

    public init(
        result: String, permissions: [String], scontext: String, tcontext: String, tclass: String, permissive: Bool?, host: String? = nil
    ) {
        self.result = result
        self.permissions = permissions.sorted()
        self.scontext = scontext
        self.tcontext = tcontext
        self.tclass = tclass
        self.permissive = result == "denied" ? (permissive ?? false) : nil
        self.host = host
    }

    /// Reads the normalized form, a kernel log line (`audit: type=1400 audit(…): avc:  denied  { … } for  pid=…`)
    /// or an engine record. Nil when the text is not an AVC record.
    public init?(parsing text: String) {
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard let r = words.firstIndex(where: { $0 == "denied" || $0 == "granted" }),
            r + 1 < words.count, words[r + 1] == "{", let close = words[(r + 1)...].firstIndex(of: "}"), close > r + 2
        else { return nil }
        var fields: [String: String] = [:]
        for w in words[close...] {
            guard let eq = w.firstIndex(of: "=") else { continue }
            fields[String(w[..<eq])] = String(w[w.index(after: eq)...])
        }
        guard let s = fields["scontext"], let t = fields["tcontext"], let c = fields["tclass"] else { return nil }
        var permissive: Bool?
        if let p = fields["permissive"] {
            guard p == "0" || p == "1" else { return nil }
            permissive = p == "1"
        }
        // `host=` is the scenario's own field; no kernel record has one.
        self.init(
            result: words[r], permissions: Array(words[(r + 2)..<close]), scontext: s, tcontext: t, tclass: c, permissive: permissive,
            host: fields["host"])
    }

    public var description: String {
        "\(result) { \(permissions.joined(separator: " ")) } scontext=\(scontext) tcontext=\(tcontext) tclass=\(tclass)"
            + (permissive.map { " permissive=\($0 ? 1 : 0)" } ?? "") + (host.map { " host=\($0)" } ?? "")
    }

    /// The same line, written by `host`'s kernel.
    public func on(_ host: String?) -> AVCLine {
        var line = self
        line.host = host
        return line
    }

    /// The same line with both contexts rewritten by `canonical` (e.g. `c0,c1` and `c0.c1` alike).
    public func canonical(_ canonical: (String) -> String) -> AVCLine {
        var line = self
        line.scontext = canonical(scontext)
        line.tcontext = canonical(tcontext)
        return line
    }

    public static func < (a: AVCLine, b: AVCLine) -> Bool { a.description < b.description }
}

/// What one step did, as the model predicts it or as the kernel showed it. The two are compared
/// field by field; `notes` (the model's reasons, the kernel's raw answers) are for people only.
public struct StepOutcome: Sendable, Hashable, Codable {
    /// `ok` or the errno name of the call that failed.
    public var result: String
    /// The call that failed: `socket`, `send`, `recv`, `bind`, `connect`, `sendto`; nil on success
    /// and for a refused netlink request (the kernel's answer in the ACK).
    public var stage: String?
    /// Traffic steps: the request reached the server's socket.
    public var delivered: Bool?
    /// Traffic steps: the label the server saw (getpeercon, SCM_SECURITY), `none` when it saw none.
    public var peer: String?
    public var replyDelivered: Bool?
    public var replyPeer: String?
    /// ACQUIREs the step caused, by host: the context they carried or `unlabeled`.
    public var acquire: [String: String]
    /// The AVC records the step caused, sorted, each once.
    public var avc: [AVCLine]
    public var notes: [String]
    /// Kernel runs: the step's AVC records as the kernel wrote them (its log lines, from `avc:`
    /// on), for `salabel why` and people; never compared. Nil from the model.
    public var records: [String]?

    public init(
        result: String, stage: String? = nil, delivered: Bool? = nil, peer: String? = nil, replyDelivered: Bool? = nil,
        replyPeer: String? = nil, acquire: [String: String] = [:], avc: [AVCLine] = [], notes: [String] = []
    ) {
        self.result = result
        self.stage = stage
        self.delivered = delivered
        self.peer = peer
        self.replyDelivered = replyDelivered
        self.replyPeer = replyPeer
        self.acquire = acquire
        self.avc = Array(Set(avc)).sorted()
        self.notes = notes
    }

    /// Every field on which `self` and `other` differ, as `field: self ≠ other` lines; an AVC line
    /// one side lacks is `avc only in the NAME: …` with the sides named `names`. Labels are
    /// compared through `canonical`.
    public func differences(
        from other: StepOutcome, canonical: (String) -> String = { $0 },
        names: (String, String) = ("first", "second")
    ) -> [String] {
        var d: [String] = []
        func label(_ s: String?) -> String? { Self.labelKey(s, canonical) }
        if result != other.result || stage != other.stage {
            d.append("result: \(resultText) ≠ \(other.resultText)")
        }
        if delivered != other.delivered { d.append("delivered: \(text(delivered)) ≠ \(text(other.delivered))") }
        if label(peer) != label(other.peer) { d.append("peer: \(peer ?? "-") ≠ \(other.peer ?? "-")") }
        if replyDelivered != other.replyDelivered { d.append("reply_delivered: \(text(replyDelivered)) ≠ \(text(other.replyDelivered))") }
        if label(replyPeer) != label(other.replyPeer) { d.append("reply_peer: \(replyPeer ?? "-") ≠ \(other.replyPeer ?? "-")") }
        let a = acquire.mapValues { label($0)! }, b = other.acquire.mapValues { label($0)! }
        if a != b { d.append("acquire: \(Self.acquireText(acquire)) ≠ \(Self.acquireText(other.acquire))") }
        let mine = Set(avc.map { $0.canonical(canonical) }), theirs = Set(other.avc.map { $0.canonical(canonical) })
        for line in mine.subtracting(theirs).sorted() { d.append("avc only in the \(names.0): \(line)") }
        for line in theirs.subtracting(mine).sorted() { d.append("avc only in the \(names.1): \(line)") }
        return d
    }

    /// The expectations this outcome does not meet, one line each.
    public func unmet(_ e: StepExpectation, canonical: (String) -> String = { $0 }) -> [String] {
        var d: [String] = []
        func label(_ s: String?) -> String? { Self.labelKey(s, canonical) }
        if let r = e.result, r != result { d.append("result: expected \(r), got \(resultText)") }
        if let v = e.delivered, v != delivered { d.append("delivered: expected \(v), got \(text(delivered))") }
        if let v = e.peer, label(v) != label(peer ?? "none") { d.append("peer: expected \(v), got \(peer ?? "none")") }
        if let v = e.replyDelivered, v != replyDelivered { d.append("reply_delivered: expected \(v), got \(text(replyDelivered))") }
        if let v = e.replyPeer, label(v) != label(replyPeer ?? "none") { d.append("reply_peer: expected \(v), got \(replyPeer ?? "none")") }
        if let v = e.acquire, v.mapValues({ label($0)! }) != acquire.mapValues({ label($0)! }) {
            d.append("acquire: expected \(Self.acquireText(v)), got \(Self.acquireText(acquire))")
        }
        if let v = e.avc {
            let want = Set(v.map { $0.canonical(canonical) }), got = Set(avc.map { $0.canonical(canonical) })
            for line in want.subtracting(got).sorted() { d.append("avc expected, missing: \(line)") }
            for line in got.subtracting(want).sorted() { d.append("avc not expected: \(line)") }
        }
        return d
    }

    /// A label as compared: `none` and `unlabeled` as they are, a context in its canonical form.
    static func labelKey(_ s: String?, _ canonical: (String) -> String) -> String? {
        s.map { $0 == "none" || $0 == "unlabeled" ? $0 : canonical($0) }
    }

    /// `ok`, or `EACCES` with the failing call: `EACCES (connect)`.
    public var resultText: String { result + (stage.map { " (\($0))" } ?? "") }

    static func acquireText(_ a: [String: String]) -> String {
        a.isEmpty ? "none" : a.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
    }

    private func text(_ b: Bool?) -> String { b.map { $0 ? "yes" : "no" } ?? "-" }

    /// The outcome's fields for people, one per line (no AVC lines and notes).
    public var summaryLines: [String] {
        var s = ["result: \(resultText)"]
        if let delivered { s.append("delivered: \(delivered ? "yes" : "no")" + (peer.map { ", peer \($0)" } ?? "")) }
        if let replyDelivered { s.append("reply: \(replyDelivered ? "delivered" : "not delivered")" + (replyPeer.map { ", peer \($0)" } ?? "")) }
        if !acquire.isEmpty { s.append("acquire: \(Self.acquireText(acquire))") }
        return s
    }
}
