import Foundation
import IPsecModel
import NetlinkProtocol
public import NetlinkSocket
public import XfrmManager
import LinuxSystem
public import XfrmWire

/// The kernel's SAD and SPD over `NETLINK_XFRM`: each `XfrmOperation` becomes the request
/// `XfrmWire` encodes (byte for byte what iproute2 sends for the same command), sent through a
/// `NetlinkConnection` (sequence numbers, ACK/NACK with extended-ACK text, multipart dumps restarted
/// on `NLM_F_DUMP_INTR`). Deletes of several objects go out as one netlink batch.
public final class NetlinkXfrmKernel: XfrmKernel, @unchecked Sendable {
    private let connection: NetlinkConnection
    private let lock = NSLock()

    /// A kernel in the caller's network namespace, or in `netns`: a name (`/run/netns/NAME`) or a path.
    public convenience init(netns: String? = nil) throws(XfrmKernelError) {
        let namespace = netns.map(NetworkNamespace.init(nameOrPath:))
        do {
            self.init(connection: try NetlinkConnection(protocol: .xfrm, namespace: namespace))
        } catch {
            throw XfrmKernelError(errno: error.errno.rawValue, message: error.description)
        }
    }

    /// A kernel over an existing connection (a socket, or a fake kernel in tests).
    public init(connection: NetlinkConnection) {
        self.connection = connection
        // Let the trace show each message's fixed struct as a header, not as attributes.
        connection.extraHeaderSize = { type in
            switch XfrmMessageType(rawValue: type.rawValue) {
            case .newSA, .updSA: return XfrmUserSAInfo.size
            case .newPolicy, .updPolicy: return XfrmUserPolicyInfo.size
            case .delSA, .getSA: return XfrmUserSAID.size
            case .delPolicy, .getPolicy: return XfrmUserPolicyID.size
            case .allocSPI: return XfrmUserSPIInfo.size
            case .acquire: return XfrmUserAcquire.size
            case .expire: return XfrmUserExpire.size
            case .polExpire: return XfrmUserPolExpire.size
            default: return 0
            }
        }
    }

    /// The request an operation sends (what `--dry-run` shows). Dumps, deleteall and lists send a
    /// dump first; their deletes depend on its answer and are not included.
    public static func request(for op: XfrmOperation) throws(XfrmKernelError) -> XfrmMessage {
        do {
            switch op {
            case .addSA(let sa): return try XfrmRequest.addSA(sa)
            case .updateSA(let sa): return try XfrmRequest.addSA(sa, update: true)
            case .deleteSA(let id, let src, let mark): return XfrmRequest.deleteSA(id, source: src ?? .any(id.destination.family), mark: mark)
            case .getSA(let id, let src, let mark): return XfrmRequest.getSA(id, source: src ?? .any(id.destination.family), mark: mark)
            case .allocateSPI(let sa, let min, let max):
                return XfrmRequest.allocateSPI(
                    source: sa.source, destination: sa.destination, proto: sa.proto, mode: sa.mode, reqid: sa.reqid,
                    acquireSequence: sa.sequence, range: min...max, mark: sa.mark)
            case .flushSA(let proto): return XfrmRequest.flushSA(proto: proto.rawValue == 0 ? nil : proto)
            case .deleteAllSA, .listSA: return XfrmRequest.dumpSAs()
            case .addPolicy(let p): return try XfrmRequest.addPolicy(p)
            case .updatePolicy(let p): return try XfrmRequest.addPolicy(p, update: true)
            case .deletePolicy(.selector(let sel, let dir, let ctx), let mark, let type, let ifID):
                return try XfrmRequest.deletePolicy(selector: sel, direction: dir, securityContext: ctx, mark: mark, interfaceID: ifID, policyType: type)
            case .deletePolicy(.index(let i, let dir), let mark, let type, let ifID):
                return XfrmRequest.deletePolicy(index: i, direction: dir, mark: mark, interfaceID: ifID, policyType: type)
            case .getPolicy(.selector(let sel, let dir, let ctx), let mark, let type, let ifID):
                return try XfrmRequest.getPolicy(selector: sel, direction: dir, securityContext: ctx, mark: mark, interfaceID: ifID, policyType: type)
            case .getPolicy(.index(let i, let dir), let mark, let type, let ifID):
                return XfrmRequest.getPolicy(index: i, direction: dir, mark: mark, interfaceID: ifID, policyType: type)
            case .flushPolicy(let type): return XfrmRequest.flushPolicies(policyType: type)
            case .deleteAllPolicies, .listPolicies: return XfrmRequest.dumpPolicies()
            }
        } catch {
            throw XfrmKernelError(errno: 22, message: "not sent: \(error.message)")
        }
    }

    static func kernelError(_ error: any Error) -> XfrmKernelError {
        if let e = error as? NetlinkRequestError { return XfrmKernelError(errno: e.errno.rawValue, message: e.message) }
        if let e = error as? NetlinkSocketError { return XfrmKernelError(errno: e.errno.rawValue, message: e.description) }
        if let e = error as? XfrmKernelError { return e }
        if let e = error as? XfrmWireError { return XfrmKernelError(errno: 74, message: "the kernel's answer cannot be decoded: \(e)") }
        return XfrmKernelError(errno: 5, message: "\(error)")
    }

    private func send(_ message: XfrmMessage, dump: Bool = false) throws -> [XfrmMessage] {
        let payload = try message.payload()
        let replies: [NetlinkMessage]
        if dump {
            replies = try connection.dump(type: message.type.netlink, payload: payload, operation: message.type.description)
        } else {
            replies = try connection.request(
                type: message.type.netlink, flags: message.flags.subtracting([.request, .acknowledge]),
                payload: payload, operation: message.type.description)
        }
        // A dump's answers are decoded on every processor at once (a dump can hold 100,000).
        return try parallelMap(replies[...]) { reply in Result { () throws(XfrmWireError) in try XfrmMessage(decoding: reply) } }
            .map { r throws(XfrmWireError) in try r.get() }
    }

    private func sas(_ messages: [XfrmMessage]) throws -> [SecurityAssociation] {
        try parallelMap(messages[...]) { m in Result { () throws(XfrmWireError) in try m.securityAssociation() } }
            .compactMap { r throws(XfrmWireError) in try r.get() }
    }

    private func policies(_ messages: [XfrmMessage]) throws -> [PolicyEntry] {
        try parallelMap(messages[...]) { m in Result { () throws(XfrmWireError) in try m.policyEntry() } }
            .compactMap { r throws(XfrmWireError) in try r.get() }
    }

    /// Sends several requests in one netlink batch; the first refusal is thrown.
    private func batch(_ messages: [XfrmMessage]) throws {
        guard !messages.isEmpty else { return }
        let requests = try messages.map { m throws(XfrmWireError) in
            NetlinkRequest(
                .request, type: m.type.netlink, flags: m.flags.subtracting([.request, .acknowledge]), payload: try m.payload(),
                operation: m.type.description)
        }
        for result in try connection.requests(requests) {
            if case .failure(let e) = result { throw e }
        }
    }

    public func perform(_ op: XfrmOperation) throws(XfrmKernelError) -> XfrmResult {
        lock.lock()
        defer { lock.unlock() }
        let message = try NetlinkXfrmKernel.request(for: op)
        do {
            switch op {
            case .getSA, .allocateSPI:
                guard let sa = try sas(try send(message)).first else { throw XfrmKernelError(errno: 74, message: "no SA in the kernel's answer") }
                return .sa(sa)
            case .listSA(let f):
                return .sas(try sas(try send(message, dump: true)).filter { f.matches($0) })
            case .deleteAllSA(let f):
                let doomed = try sas(try send(message, dump: true)).filter { f.matches($0) }
                try batch(doomed.map { XfrmRequest.deleteSA($0.identifier, source: $0.source, mark: $0.mark) })
                return .done
            case .getPolicy:
                guard let p = try policies(try send(message)).first else { throw XfrmKernelError(errno: 74, message: "no policy in the kernel's answer") }
                return .policy(p)
            case .listPolicies(let f):
                return .policies(try policies(try send(message, dump: true)).filter { f.matches($0) })
            case .deleteAllPolicies(let f):
                let doomed = try policies(try send(message, dump: true)).filter { f.matches($0) }
                try batch(
                    doomed.map {
                        XfrmRequest.deletePolicy(
                            index: $0.index, direction: $0.direction, mark: $0.mark, interfaceID: $0.interfaceID, policyType: $0.policyType)
                    })
                return .done
            default:
                _ = try send(message)
                return .done
            }
        } catch {
            throw NetlinkXfrmKernel.kernelError(error)
        }
    }

    public func perform(batch operations: ArraySlice<XfrmOperation>) -> [Result<XfrmResult, XfrmKernelError>] {
        // Changes without an answer of their own travel together; the rest go one by one, in order.
        guard operations.allSatisfy(NetlinkXfrmKernel.travelsInBatch) else {
            return operations.map { op in Result { () throws(XfrmKernelError) in try perform(op) } }
        }
        return performBatch(operations).map { $0.map { XfrmResult.done } }
    }

    /// Reads a policy dump as it arrives: each datagram's entries are decoded where they were
    /// received (`XfrmPolicyDumpDecoder`) and visited, none collected.
    public func visitPolicies(matching filter: XfrmFilter, restart: () -> Void, _ visit: (PolicyEntry) -> Void) throws(XfrmKernelError) {
        lock.lock()
        defer { lock.unlock() }
        let message = XfrmRequest.dumpPolicies()
        do {
            var decoder = XfrmPolicyDumpDecoder()
            try connection.dump(
                type: message.type.netlink, payload: try message.payload(), operation: message.type.description,
                restart: restart
            ) { header, payload in
                if let entry = try decoder.policyEntry(header: header, payload: payload), filter.matches(entry) { visit(entry) }
            }
        } catch {
            throw NetlinkXfrmKernel.kernelError(error)
        }
    }

    /// Whether an operation is one request answered by an ACK alone (adds, updates, deletes by
    /// key, flushes), so that it can share a datagram with others.
    static func travelsInBatch(_ op: XfrmOperation) -> Bool {
        switch op {
        case .addSA, .updateSA, .deleteSA, .addPolicy, .updatePolicy, .deletePolicy, .flushSA, .flushPolicy: return true
        case .getSA, .getPolicy, .listSA, .listPolicies, .deleteAllSA, .deleteAllPolicies, .allocateSPI: return false
        }
    }

    /// Which security modules this kernel runs, read from securityfs (`/sys/kernel/security/lsm`)
    /// and selinuxfs: only SELinux implements the xfrm hooks that store a context.
    public var securityModuleSummary: String? {
        var parts: [String] = []
        if let lsm = try? String(contentsOfFile: "/sys/kernel/security/lsm", encoding: .utf8) {
            parts.append("active security modules: \(lsm.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        parts.append(
            FileManager.default.fileExists(atPath: "/sys/fs/selinux/enforce")
                ? "SELinux is enabled (selinuxfs is mounted), so the kernel may lack CONFIG_SECURITY_NETWORK_XFRM"
                : "SELinux is not enabled in this kernel (no /sys/fs/selinux)")
        return parts.joined(separator: "; ")
    }

    /// Performs many changes as netlink batches (one datagram per part), as `ip -batch` would send
    /// them one by one; returns each one's result in order.
    public func performBatch(_ ops: ArraySlice<XfrmOperation>) -> [Result<Void, XfrmKernelError>] {
        lock.lock()
        defer { lock.unlock() }
        var results: [Result<Void, XfrmKernelError>?] = Array(repeating: nil, count: ops.count)
        var requests: [NetlinkRequest] = []
        var positions: [Int] = []
        requests.reserveCapacity(ops.count)
        positions.reserveCapacity(ops.count)
        for (i, encoded) in NetlinkXfrmKernel.encode(ops).enumerated() {
            switch encoded {
            case .success(let request): requests.append(request); positions.append(i)
            case .failure(let error): results[i] = .failure(error)
            }
        }
        do {
            for (k, r) in try connection.requests(requests).enumerated() {
                switch r {
                case .success: results[positions[k]] = .success(())
                case .failure(let e): results[positions[k]] = .failure(NetlinkXfrmKernel.kernelError(e))
                }
            }
        } catch {
            for i in positions where results[i] == nil { results[i] = .failure(NetlinkXfrmKernel.kernelError(error)) }
        }
        return results.map { $0 ?? .failure(XfrmKernelError(errno: 5, message: "no answer")) }
    }

    /// Each operation's request, in order. Encoding is pure, so a long batch is encoded on every
    /// processor at once (it is most of the work of sending one).
    static func encode(_ ops: ArraySlice<XfrmOperation>) -> [Result<NetlinkRequest, XfrmKernelError>] {
        @Sendable func one(_ op: XfrmOperation) -> Result<NetlinkRequest, XfrmKernelError> {
            do {
                let m = try NetlinkXfrmKernel.request(for: op)
                return .success(
                    NetlinkRequest(
                        op.changesWithoutReply ? .change : .request, type: m.type.netlink,
                        flags: m.flags.subtracting([.request, .acknowledge]),
                        payload: try m.payload(), operation: m.type.description))
            } catch {
                return .failure(NetlinkXfrmKernel.kernelError(error))
            }
        }
        return parallelMap(ops, one)
    }
}

extension XfrmOperation {
    /// Whether the kernel answers the operation's request only with an ACK or a refusal (NEW, UPD,
    /// DEL and FLUSH of SAs and policies): in a batch it goes as a ``NetlinkRequest/Kind/change``.
    var changesWithoutReply: Bool {
        switch self {
        case .addSA, .updateSA, .deleteSA, .flushSA, .addPolicy, .updatePolicy, .deletePolicy, .flushPolicy: true
        case .getSA, .allocateSPI, .deleteAllSA, .listSA, .getPolicy, .deleteAllPolicies, .listPolicies: false
        }
    }
}
