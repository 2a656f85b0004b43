public import DataPlaneNode
import DecisionEngine
import ESPDataPlane
import Glibc
import SELinuxKernel
public import IPsecModel
public import LinuxSystem
import Resolver
import SecurityContexts
import Synchronization
import XfrmManager

/// One running host of the userspace data plane: a ``DataPlaneNode`` with its wire and its local
/// socket (Specs/dataplane/endpoints.md).
///
/// - The wire: two UDP sockets. ESP travels as ESP in UDP (RFC 3948) between the hosts' ESP
///   sockets; a datagram no SPD entry protects travels as its bare UDP segment between their clear
///   sockets. ``Peer`` maps an SA-space address to the peer's two socket addresses (the same
///   addresses in network namespaces; loopback ports when the hosts share one).
/// - The local socket: a `SOCK_SEQPACKET` Unix socket where applications bind a port in the
///   context they state, send and receive (``EndpointMessage``; ``LabeledSocket`` is the Swift
///   client). When SELinux is active the stated context must be the connecting process's own
///   (`SO_PEERSEC`).
///
/// One thread runs ``run()``; ``stop()`` may be called from any thread.
public final class DataPlaneHost: @unchecked Sendable {
    /// Where a peer host's sockets are.
    public struct Peer: Sendable, Hashable {
        public var esp: SocketAddress
        public var clear: SocketAddress
        public init(esp: SocketAddress, clear: SocketAddress) {
            self.esp = esp
            self.clear = clear
        }
    }

    /// Something that happened, for logs and monitors.
    public enum Event: Sendable {
        case received(InboundResult, wire: SocketAddress)
        case sent(OutboundResult, from: UInt16)
        case local(String)
        /// An SA reached a lifetime limit (the kernel's `XFRM_MSG_EXPIRE`).
        case expired(ExpireEvent)

        /// The event as log lines: a summary, then the AVC records.
        public var lines: [String] {
            switch self {
            case .received(let r, let wire):
                switch r.outcome {
                case .delivered(let d):
                    return [
                        "delivered \(d.data.count) bytes from \(d.source):\(d.sourcePort) to port \(d.port)"
                            + (d.spi.map { " via SA spi 0x\(String($0, radix: 16)) seq \(d.sequence ?? 0)" } ?? " in clear")
                            + ", peer " + (d.peer?.description ?? "unlabeled")
                    ] + r.records.map(\.description)
                case .dropped(let why):
                    return ["dropped a datagram from \(wire): \(why)"] + r.records.map(\.description)
                }
            case .sent(let r, let port):
                switch r.outcome {
                case .esp(let packet, let sa):
                    return [
                        "sent \(packet.count) bytes of ESP from port \(port) on SA spi 0x\(String(sa.spi, radix: 16))"
                            + (sa.securityContext.map { " labeled \($0)" } ?? " (unlabeled)")
                    ] + r.records.map(\.description)
                case .clear(let segment, let destination):
                    return ["sent \(segment.count) bytes in clear from port \(port) to \(destination) (no SPD entry applies)"] + r.records.map(\.description)
                case .acquire(let event):
                    return ["\(event)"] + r.records.map(\.description)
                case .refused(let errno, let reason):
                    return ["refused a send from port \(port): \(errno) \(reason)"] + r.records.map(\.description)
                }
            case .local(let line):
                return [line]
            case .expired(let e):
                return ["\(e)"]
            }
        }
    }

    public let node: DataPlaneNode
    /// Whether the kernel runs SELinux: then a context stated on the local socket is checked
    /// against the caller's own (`SO_PEERSEC`).
    private let selinuxActive = KernelBackend.isActive
    private let esp: UDPSocket
    private let clear: UDPSocket
    private let listener: SeqPacketSocket
    public let controlPath: String
    /// The local socket's file, removed by ``removeControlSocket()`` and when the host is freed.
    private let controlFile: ControlSocketFile
    /// The peers, by their SA-space address. Set before ``run()``.
    public var peers: [IPAddress: Peer] = [:]
    /// Called on the run thread for every event.
    public var log: (Event) -> Void = { _ in }
    private let wake: (read: Int32, write: Int32)
    /// The capture file (`capture(to:)`), or -1.
    private var captureFD: Int32 = -1
    private let stopping = Atomic<Bool>(false)

    private final class Client {
        let socket: SeqPacketSocket
        var port: UInt16?
        var monitor = false
        init(_ socket: SeqPacketSocket) { self.socket = socket }
    }
    private var clients: [Client] = []

    /// The ESP-in-UDP socket's address (its port is chosen by the kernel when 0 was asked).
    public var espAddress: SocketAddress { esp.local }
    /// The clear socket's address.
    public var clearAddress: SocketAddress { clear.local }

    /// Opens the host's sockets: the ESP and clear UDP sockets (in `namespace` when given: they are
    /// created on a helper thread that enters it, and stay there) and the local socket at
    /// `controlPath`. A file at `controlPath` is never replaced, except a stale socket no process
    /// listens on: another file is refused with `EEXIST`, another host's socket with `EADDRINUSE`.
    public init(
        node: DataPlaneNode, esp espAddress: SocketAddress, clear clearAddress: SocketAddress, controlPath: String,
        namespace: NetworkNamespace? = nil
    ) throws(HostError) {
        self.node = node
        self.controlPath = controlPath
        // The clock of ACQUIRE expiry and SA lifetimes: monotonic seconds.
        node.now = {
            var t = timespec()
            clock_gettime(CLOCK_MONOTONIC, &t)
            return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
        }
        let opened: Result<(UDPSocket, UDPSocket), HostError>
        if let namespace {
            // The sockets are made on a helper thread inside the namespace (`NetworkNamespace.run`).
            do {
                opened = try namespace.run {
                    Result { () throws(HostError) in (try UDPSocket(binding: espAddress), try UDPSocket(binding: clearAddress)) }
                }
            } catch {
                // The words of the time when NetlinkSocket entered namespaces, kept as they were.
                opened = .failure(HostError("setns", errno: 0, "netlink: \(error)"))
            }
        } else {
            opened = Result { () throws(HostError) in (try UDPSocket(binding: espAddress), try UDPSocket(binding: clearAddress)) }
        }
        (esp, clear) = try opened.get()
        (listener, controlFile) = try SeqPacketSocket.listen(at: controlPath)
        var fds: [Int32] = [0, 0]
        if case .failure(let code) = valueOrErrno({ pipe(&fds) }) {
            controlFile.remove()
            throw HostError("pipe", code)
        }
        for fd in fds { _ = fcntl(fd, F_SETFL, O_NONBLOCK); _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        wake = (fds[0], fds[1])
    }

    deinit {
        if captureFD >= 0 { close(captureFD) }
        close(wake.read)
        close(wake.write)
        controlFile.remove()
    }

    /// Removes the local socket's file (when it is still this host's): call it when ``run()``
    /// has returned and the process is about to end, as a host stopped by a signal does. Clients
    /// can no longer connect; the connected ones stay until the host is freed.
    public func removeControlSocket() {
        controlFile.remove()
    }

    /// Writes every datagram this host sends or receives to a pcap file at `path` (mode 0600;
    /// `LINKTYPE_RAW`): ESP packets as ESP in UDP between the SAs' addresses on port 4500, clear
    /// datagrams as UDP between the hosts' addresses, whatever sockets carried them, so that
    /// Wireshark dissects them and decrypts the ESP given the keys (Specs/dataplane/endpoints.md).
    /// Call it before ``run()``. The keys are not in the file.
    public func capture(to path: String) throws(HostError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw HostError("open", errno: errno, path) }
        captureFD = fd
        write(Pcap.fileHeader())
    }

    private func write(_ bytes: [UInt8]) {
        guard captureFD >= 0 else { return }
        _ = bytes.withUnsafeBytes { Glibc.write(captureFD, $0.baseAddress, $0.count) }
    }

    private func captureFrame(_ frame: [UInt8]) {
        guard captureFD >= 0 else { return }
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        write(Pcap.record(frame, seconds: UInt32(truncatingIfNeeded: now.tv_sec), microseconds: UInt32(now.tv_nsec / 1000)))
    }

    /// The SA-space address of the peer whose socket `wire` is (its ESP or clear socket).
    private func peerAddress(_ wire: SocketAddress) -> IPAddress {
        peers.first { $0.value.esp == wire || $0.value.clear == wire }?.key ?? wire.address
    }

    private func captureClear(_ segment: [UInt8], from source: IPAddress, to destination: IPAddress) {
        guard captureFD >= 0, let d = try? UDPDatagram(segment: segment, source: source, destination: destination, verifyingChecksum: false) else { return }
        captureFrame(d.packet())
    }

    /// Puts `bytes` on the wire from this host's ESP socket as they are, with no SA and no check:
    /// for tests and the demo (a captured packet replayed, a forged one). Safe from any thread.
    public func injectESP(_ bytes: [UInt8], to destination: SocketAddress) throws(HostError) {
        try esp.send(bytes, to: destination)
    }

    /// Asks ``run()`` to return.
    public func stop() {
        stopping.store(true, ordering: .releasing)
        var b: UInt8 = 1
        _ = Glibc.write(wake.write, &b, 1)
    }

    /// Moves datagrams until ``stop()``.
    public func run() {
        var buffer = [UInt8](repeating: 0, count: 65_536 + 64)
        var control = [UInt8](repeating: 0, count: EndpointMessage.maximumSize)
        while !stopping.load(ordering: .acquiring) {
            var fds = [
                pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0), pollfd(fd: esp.fd, events: Int16(POLLIN), revents: 0),
                pollfd(fd: clear.fd, events: Int16(POLLIN), revents: 0), pollfd(fd: listener.fd, events: Int16(POLLIN), revents: 0),
            ]
            let polled = clients
            fds += polled.map { pollfd(fd: $0.socket.fd, events: Int16(POLLIN), revents: 0) }
            let n: Int32
            switch valueOrErrno(retryOnInterrupt: false, { poll(&fds, nfds_t(fds.count), 500) }) {
            case .success(let ready): n = ready
            case .failure(.interrupted): n = -1
            case .failure(let code):
                log(.local("poll failed: \(code.message); stopping"))
                return
            }
            // SA lifetimes: the clock's limits at least twice a second, and what the last round's
            // datagrams reached.
            defer { for e in node.takeExpireEvents() { emit(.expired(e)) } }
            if n <= 0 { continue }
            if fds[1].revents != 0 {
                while let (count, from) = esp.receive(into: &buffer) { receivedESP(Array(buffer[..<count]), from: from) }
            }
            if fds[2].revents != 0 {
                while let (count, from) = clear.receive(into: &buffer) { receivedClear(Array(buffer[..<count]), from: from) }
            }
            if fds[3].revents != 0 {
                while let c = listener.accept() { clients.append(Client(c)) }
            }
            var closed: [ObjectIdentifier] = []
            for (i, client) in polled.enumerated() where fds[4 + i].revents != 0 {
                while true {
                    guard let count = client.socket.receive(into: &control) else {
                        if !client.socket.wouldBlock { closed.append(ObjectIdentifier(client)) }
                        break
                    }
                    handle(Array(control[..<count]), from: client)
                }
            }
            for id in closed {
                if let c = clients.first(where: { ObjectIdentifier($0) == id }), let port = c.port { node.unbind(port: port) }
                clients.removeAll { ObjectIdentifier($0) == id }
            }
        }
    }

    // MARK: - The wire

    private func receivedESP(_ datagram: [UInt8], from: SocketAddress) {
        if captureFD >= 0 { captureFrame(Pcap.espInUDPFrame(datagram, source: peerAddress(from), destination: node.address)) }
        let r = node.receiveESP(datagram)
        deliver(r, wire: from)
    }

    private func receivedClear(_ segment: [UInt8], from: SocketAddress) {
        guard let source = peers.first(where: { $0.value.clear == from })?.key else {
            emit(.local("dropped a clear datagram from \(from): not a known peer's clear socket"))
            return
        }
        captureClear(segment, from: source, to: node.address)
        deliver(node.receiveClear(segment, from: source), wire: from)
    }

    private func deliver(_ r: InboundResult, wire: SocketAddress) {
        if let d = r.delivery, let client = clients.first(where: { $0.port == d.port }) {
            try? client.socket.send(
                EndpointMessage.receive(
                    source: d.source, sourcePort: d.sourcePort, peer: d.peer, spi: d.spi,
                    sequence: d.sequence, data: d.data
                ).encoded())
        }
        emit(.received(r, wire: wire))
    }

    private func emit(_ event: Event) {
        log(event)
        let lines = event.lines
        let message = EndpointMessage.event(lines[0], details: Array(lines.dropFirst())).encoded()
        for c in clients where c.monitor { try? c.socket.send(message) }
    }

    // MARK: - The local socket

    /// With SELinux active, a context stated on the local socket must be the caller's own
    /// (`SO_PEERSEC`, through libselinux): the refusal when it is not or the kernel gives no label
    /// (fail closed), `nil` when it is. The two are compared as the policy sees them (one SID:
    /// `s0-s0` states `s0`), as text when the policy does not know the caller's. Without SELinux the
    /// statement is taken as given: another LSM's label (AppArmor's `unconfined`) is no context.
    private func misstated(_ stated: SecurityContext, by client: Client) -> EndpointMessage? {
        guard selinuxActive else { return nil }
        let actual: String
        do { actual = try KernelBackend.peerContext(ofSocket: client.socket.fd) } catch {
            return .error(code: "EACCES", reason: "the caller's context cannot be read (\(error)); nothing is taken on its word", details: [])
        }
        let server = node.resolver.authorizer.cache.server
        if let a = try? server.sid(forText: actual), let b = try? server.sid(for: stated) {
            if a == b { return nil }
        } else if actual == stated.description {
            return nil
        }
        return .error(code: "EACCES", reason: "the stated context \(stated) is not the caller's (\(actual))", details: [])
    }

    /// A node's refusal as the local socket's ERROR, with its errno name and AVC records.
    static func refusal(_ error: DataPlaneError) -> EndpointMessage {
        switch error {
        case .portInUse: .error(code: "EADDRINUSE", reason: "\(error)", details: [])
        case .bindDenied(_, _, let records), .denied(_, let records): .error(code: "EACCES", reason: "\(error)", details: records.map(\.description))
        case .exists: .error(code: "EEXIST", reason: "\(error)", details: [])
        case .noSuchSA: .error(code: "ESRCH", reason: "\(error)", details: [])
        case .unusableSA, .duplicateSA, .invalidContext: .error(code: "EINVAL", reason: "\(error)", details: [])
        }
    }

    private func handle(_ bytes: [UInt8], from client: Client) {
        func reply(_ m: EndpointMessage) { try? client.socket.send(m.encoded()) }
        let message: EndpointMessage
        do { message = try EndpointMessage(parsing: bytes) } catch {
            return reply(.error(code: "EINVAL", reason: error.message, details: []))
        }
        switch message {
        case .bind(let port, let context):
            guard client.port == nil else {
                return reply(.error(code: "EINVAL", reason: "this connection is bound to port \(client.port!) already", details: []))
            }
            if let refusal = misstated(context, by: client) { return reply(refusal) }
            do {
                let (bound, checks) = try node.bind(port: port, context: context)
                client.port = bound
                emit(.local("port \(bound) bound for \(context)"))
                reply(.ok("BIND \(bound)", details: checks.compactMap(\.record).map(\.description)))
            } catch {
                reply(Self.refusal(error))
            }
        case .send(let destination, let port, let data):
            guard let from = client.port else { return reply(.error(code: "EDESTADDRREQ", reason: "BIND a port first", details: [])) }
            let r = node.send(data, from: from, to: destination, port: port)
            let avc = r.records.map(\.description)
            switch r.outcome {
            case .esp(let packet, let sa):
                guard let peer = peers[sa.destination] else {
                    emit(.sent(r, from: from))
                    return reply(.error(code: "EHOSTUNREACH", reason: "no wire address for \(sa.destination)", details: avc))
                }
                do { try esp.send(packet, to: peer.esp) } catch { return reply(.error(code: "EIO", reason: "\(error)", details: avc)) }
                if captureFD >= 0 { captureFrame(Pcap.espInUDPFrame(packet, source: sa.source, destination: sa.destination)) }
                let seq = UInt32(packet[4]) << 24 | UInt32(packet[5]) << 16 | UInt32(packet[6]) << 8 | UInt32(packet[7])
                reply(.ok("SENT esp spi=0x\(String(sa.spi, radix: 16)) seq=\(seq)" + (sa.securityContext.map { " label=\($0)" } ?? ""), details: avc))
            case .clear(let segment, let destination):
                guard let peer = peers[destination] else {
                    emit(.sent(r, from: from))
                    return reply(.error(code: "EHOSTUNREACH", reason: "no wire address for \(destination)", details: avc))
                }
                do { try clear.send(segment, to: peer.clear) } catch { return reply(.error(code: "EIO", reason: "\(error)", details: avc)) }
                captureClear(segment, from: node.address, to: destination)
                reply(.ok("SENT clear", details: avc))
            case .acquire(let event):
                reply(.error(code: "EAGAIN", reason: "no SA: \(event)", details: avc))
            case .refused(let errno, let reason):
                reply(.error(code: errno, reason: reason, details: avc))
            }
            emit(.sent(r, from: from))
        case .monitor:
            client.monitor = true
            reply(.ok("MONITOR", details: []))
        case .stats:
            let c = node.counters
            let drops = c.dropped.sorted { $0.key < $1.key }.map { "dropped.\($0.key)=\($0.value)" }
            reply(
                .ok(
                    ([
                        "STATS", "sealed=\(c.sealed)", "clear=\(c.sentClear)", "acquires=\(c.acquires)", "refused=\(c.refused)",
                        "delivered=\(c.delivered)",
                    ] + drops).joined(separator: " "), details: []))
        case .addSA(let subject, let arguments):
            if let refusal = misstated(subject, by: client) { return reply(refusal) }
            let sa: SecurityAssociation
            do {
                let words = try IPXfrmSyntax.words(arguments)
                guard case .addSA(let parsed) = try IPXfrmSyntax.parse(words: ["state", "add"] + words) else {
                    return reply(.error(code: "EINVAL", reason: "not an SA", details: []))
                }
                sa = parsed
            } catch {
                return reply(.error(code: "EINVAL", reason: "\(error)", details: []))
            }
            do {
                let checks = try node.addSA(sa, by: subject)
                emit(.local("SA added by \(subject): \(sa.identifier)" + (sa.securityContext.map { " ctx \($0)" } ?? " (unlabeled)")))
                reply(.ok("ADDSA \(sa.identifier)", details: checks.compactMap(\.record).map(\.description)))
            } catch {
                reply(Self.refusal(error))
            }
        case .deleteSA(let subject, let destination, let spi):
            if let refusal = misstated(subject, by: client) { return reply(refusal) }
            let id = SAIdentifier(destination: destination, spi: spi, proto: .esp)
            do {
                let checks = try node.deleteSA(id, by: subject)
                emit(.local("SA deleted by \(subject): \(id)"))
                reply(.ok("DELSA \(id)", details: checks.compactMap(\.record).map(\.description)))
            } catch {
                reply(Self.refusal(error))
            }
        case .ok, .error, .receive, .event:
            reply(.error(code: "EINVAL", reason: "a host takes BIND, SEND, MONITOR, STATS, ADDSA and DELSA", details: []))
        }
    }
}
