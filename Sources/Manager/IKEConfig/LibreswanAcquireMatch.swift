public import IPsecModel
public import SecurityContexts

/// Which of one host's conns would answer an ACQUIRE, predicted before any negotiation
/// (Specs/manager/apply.md, "Predicting the negotiation").
///
/// The kernel sends an ACQUIRE for a flow that matched a labeled SPD entry and found no SA with
/// its label; it carries the flow's selector and the flow's own context. pluto looks for the conn
/// whose ends and `leftprotoport`/`rightprotoport` hold the flow and whose `sec-label=` the
/// flow's context may `polmatch` (libreswan 4.10: `programs/pluto/kernel_xfrm.c` reads the ACQUIRE,
/// then its on-demand initiation looks for the routed conn). The SPD entry the kernel matched was installed from that
/// conn's `sec-label=`, so the prediction asks for a conn with the entry's label; the `polmatch`
/// itself the kernel has already checked before it sent the ACQUIRE.
public struct LibreswanAcquireMatch: Sendable, Hashable {
    /// Why one conn does not serve the flow.
    public enum Mismatch: Sendable, Hashable, CustomStringConvertible {
        /// The flow's source is not the conn's `left=` (this host's address in the conn).
        case source(conn: IPAddress, flow: IPAddress)
        /// The flow's destination is not the conn's `right=`.
        case destination(conn: IPAddress, flow: IPAddress)
        /// The flow's protocol or port is outside `leftprotoport=`/`rightprotoport=`.
        case protoPort(keyword: String, conn: String, flow: String)
        /// The conn's `sec-label=` is not the label of the SPD entry the flow matched.
        case label(conn: SecurityContext, entry: SecurityContext?)

        public var description: String {
            switch self {
            case .source(let c, let f): "left=\(c), the flow comes from \(f)"
            case .destination(let c, let f): "right=\(c), the flow goes to \(f)"
            case .protoPort(let k, let c, let f): "\(k)=\(c), the flow is \(f)"
            case .label(let c, let e): "sec-label=\(c), the SPD entry's label is \(e.map(\.description) ?? "none")"
            }
        }
    }

    /// One conn that does not serve the flow, and the first reason it does not.
    public struct Miss: Sendable, Hashable {
        public var conn: LibreswanConnName
        public var why: Mismatch
    }

    public enum Outcome: Sendable, Hashable {
        /// This conn answers: pluto negotiates a child SA labeled with the flow's context.
        case served(LibreswanConn)
        /// No conn answers: the ACQUIRE waits unanswered (unless a conn salabel did not write
        /// serves it), each conn with the first reason it does not.
        case unserved([Miss])
    }

    /// The flow's context, which the ACQUIRE carries and the negotiated SAs will carry.
    public var label: SecurityContext
    public var outcome: Outcome
}

extension LibreswanConn {
    /// The first reason this conn does not hold `flow` sent under an SPD entry labeled `entryLabel`;
    /// nil when it does.
    public func mismatch(_ flow: AcquireFlow, entryLabel: SecurityContext?) -> LibreswanAcquireMatch.Mismatch? {
        if flow.source != left { return .source(conn: left, flow: flow.source) }
        if flow.destination != right { return .destination(conn: right, flow: flow.destination) }
        for (keyword, protoPort, port) in [
            ("leftprotoport", leftProtoPort, flow.sourcePort), ("rightprotoport", rightProtoPort, flow.destinationPort),
        ] {
            guard let protoPort else { continue }
            if protoPort.proto != flow.upperProtocol || (protoPort.port != 0 && protoPort.port != port) {
                let shown = LibreswanConn.ProtoPort(proto: flow.upperProtocol, port: port).written
                return .protoPort(keyword: keyword, conn: protoPort.written, flow: shown)
            }
        }
        if entryLabel != secLabel { return .label(conn: secLabel, entry: entryLabel) }
        return nil
    }
}

/// The flow an ACQUIRE is for: its endpoints, protocol and ports, and its context.
public struct AcquireFlow: Sendable, Hashable {
    public var source: IPAddress
    public var destination: IPAddress
    public var upperProtocol: UInt8
    /// 0: any (an unbound socket's).
    public var sourcePort: UInt16
    public var destinationPort: UInt16
    public var context: SecurityContext

    public init(source: IPAddress, destination: IPAddress, upperProtocol: UInt8, sourcePort: UInt16, destinationPort: UInt16, context: SecurityContext) {
        self.source = source
        self.destination = destination
        self.upperProtocol = upperProtocol
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.context = context
    }
}

extension LibreswanConfiguration {
    /// Which conn answers the ACQUIRE of `flow`, sent under an SPD entry labeled `entryLabel`: the
    /// first conn by name that holds it (libreswan would refuse two conns with the same ends and
    /// label as overlapping; salabel writes at most one per association).
    public func acquireMatch(_ flow: AcquireFlow, entryLabel: SecurityContext?) -> LibreswanAcquireMatch {
        var misses: [LibreswanAcquireMatch.Miss] = []
        for conn in conns {
            guard let why = conn.mismatch(flow, entryLabel: entryLabel) else {
                return LibreswanAcquireMatch(label: flow.context, outcome: .served(conn))
            }
            misses.append(LibreswanAcquireMatch.Miss(conn: conn.name, why: why))
        }
        return LibreswanAcquireMatch(label: flow.context, outcome: .unserved(misses))
    }
}

extension LibreswanAcquireMatch {
    /// The prediction for people, one line, for the host named `host` of the apply file `file`.
    public func line(host: String, file: String) -> String {
        switch outcome {
        case .served(let conn):
            return "ike: the ACQUIRE carrying \(label) is answered by conn \(conn.name) (\(host) in \(file); sec-label=\(conn.secLabel)): "
                + "pluto negotiates a child SA pair labeled \(label)"
        case .unserved(let misses):
            let why = misses.isEmpty ? "it has no conn keyed by IKE" : misses.map { "\($0.conn): \($0.why)" }.joined(separator: "; ")
            return "ike: no conn of \(host) in \(file) answers the ACQUIRE carrying \(label), so it waits unanswered unless another conn does (\(why))"
        }
    }

    /// The prediction for scripts: `label`, `conn` and `sec_label` (absent when no conn answers),
    /// `mismatches` (conn → the reason it does not).
    public var json: [String: Any] {
        switch outcome {
        case .served(let conn):
            return ["label": label.description, "conn": conn.name.text, "sec_label": conn.secLabel.description, "mismatches": [String: String]()]
        case .unserved(let misses):
            var reasons: [String: String] = [:]
            for m in misses { reasons[m.conn.text] = m.why.description }
            return ["label": label.description, "mismatches": reasons]
        }
    }
}
