public import DataPlaneNode
public import IPsecModel
public import SecurityContexts

/// The Swift client of a data plane host's local socket: a UDP-like socket bound to one port, in
/// the context the application states (Specs/dataplane/endpoints.md).
///
///     let s = try LabeledSocket(host: "/run/salabel/client.sock")
///     try s.bind(port: 40000, context: try SecurityContext(parsing: "system_u:system_r:echoclient_t:s0"))
///     let sent = try s.send(Array("hello".utf8), to: IPAddress("10.77.0.2")!, port: 7)
///     let reply = try s.receive(timeout: .seconds(2))   // reply.peer: the label the SA carried
///
/// Not thread safe: one thread uses a socket.
public final class LabeledSocket {
    private let socket: SeqPacketSocket
    private var pending: [Delivery] = []
    private var buffer = [UInt8](repeating: 0, count: EndpointMessage.maximumSize)

    /// What the host did with a datagram sent: the words of its `OK SENT` reply (`esp spi=0x…
    /// seq=… label=…`, or `clear`) and the AVC records it wrote.
    public struct Sent: Sendable, Hashable {
        public var summary: String
        public var records: [String]
        /// The datagram left on an SA (not in clear).
        public var protected: Bool { summary.hasPrefix("esp") }
    }

    /// A refusal from the host: the errno name, the reason and the AVC records.
    public struct Refusal: Error, Sendable, Hashable, CustomStringConvertible {
        public var code: String
        public var reason: String
        public var records: [String]
        public var description: String { "\(code): \(reason)" + records.map { "\n  \($0)" }.joined() }
    }

    /// Why a call failed.
    public enum Failure: Error, Sendable, CustomStringConvertible {
        case refused(Refusal)
        case io(HostError)
        case protocolError(String)
        case timedOut

        public var description: String {
            switch self {
            case .refused(let r): "\(r)"
            case .io(let e): "\(e)"
            case .protocolError(let m): "bad reply from the host: \(m)"
            case .timedOut: "timed out"
            }
        }
    }

    /// Connects to the host listening at `path`.
    public init(host path: String) throws(Failure) {
        do { socket = try SeqPacketSocket.connect(to: path) } catch { throw .io(error) }
    }

    /// The bound port (after ``bind(port:context:)``).
    public private(set) var port: UInt16?

    /// Binds `port` for this socket in `context` (0: a free port of the local range, with no
    /// check, as a socket that sends without binding). Returns the port and the AVC records of the
    /// bind checks.
    @discardableResult
    public func bind(port: UInt16, context: SecurityContext) throws(Failure) -> (port: UInt16, records: [String]) {
        let (words, details) = try request(.bind(port: port, context: context))
        guard words.hasPrefix("BIND "), let bound = UInt16(words.dropFirst(5)) else { throw .protocolError("expected OK BIND <port>, found OK \(words)") }
        self.port = bound
        return (bound, details)
    }

    /// Sends one datagram to `destination`:`port`.
    @discardableResult
    public func send(_ data: [UInt8], to destination: IPAddress, port: UInt16) throws(Failure) -> Sent {
        let (words, details) = try request(.send(destination: destination, port: port, data: data))
        guard words.hasPrefix("SENT ") else { throw .protocolError("expected OK SENT, found OK \(words)") }
        return Sent(summary: String(words.dropFirst(5)), records: details)
    }

    /// As a key manager in `subject`, adds an SA given as `ip xfrm state add` arguments (e.g. the
    /// answer to an ACQUIRE); returns the host's summary and the AVC records of its checks.
    @discardableResult
    public func addSA(_ arguments: String, as subject: SecurityContext) throws(Failure) -> (summary: String, records: [String]) {
        let (words, details) = try request(.addSA(subject: subject, arguments: arguments))
        return (words, details)
    }

    /// As a key manager in `subject`, deletes the ESP SA (destination, SPI).
    @discardableResult
    public func deleteSA(destination: IPAddress, spi: UInt32, as subject: SecurityContext) throws(Failure) -> (summary: String, records: [String]) {
        let (words, details) = try request(.deleteSA(subject: subject, destination: destination, spi: spi))
        return (words, details)
    }

    /// The host's counters, as `name=value` words.
    public func statistics() throws(Failure) -> [String: Int] {
        let (words, _) = try request(.stats)
        var out: [String: Int] = [:]
        for w in words.split(separator: " ").dropFirst() {
            let kv = w.split(separator: "=", maxSplits: 1)
            if kv.count == 2, let v = Int(kv[1]) { out[String(kv[0])] = v }
        }
        return out
    }

    /// Asks the host for its events from now on: every ACQUIRE and EXPIRE a key manager answers,
    /// and every datagram sent, delivered, dropped or refused, as the host logs them. Read them
    /// with ``nextEvent(timeout:)``.
    public func monitor() throws(Failure) {
        _ = try request(.monitor)
    }

    /// The next event (after ``monitor()``): its line and its AVC lines, waiting at most `timeout`.
    public func nextEvent(timeout: Duration) throws(Failure) -> (line: String, details: [String]) {
        let deadline = ContinuousClock.now + timeout
        while true {
            if case .event(let line, let details) = try next(until: deadline) { return (line, details) }
        }
    }

    /// The next datagram for this socket, waiting at most `timeout`, with the label its sender's
    /// SA carried (`peer`; `nil` for unlabeled traffic).
    public func receive(timeout: Duration) throws(Failure) -> Delivery {
        if !pending.isEmpty { return pending.removeFirst() }
        let deadline = ContinuousClock.now + timeout
        while true {
            let message = try next(until: deadline)
            if case .receive(let s, let p, let peer, let spi, let seq, let data) = message {
                return Delivery(port: port ?? 0, source: s, sourcePort: p, data: data, peer: peer, spi: spi, sequence: seq)
            }
        }
    }

    private func request(_ m: EndpointMessage) throws(Failure) -> (words: String, details: [String]) {
        do { try socket.send(m.encoded()) } catch { throw .io(error) }
        let deadline = ContinuousClock.now + .seconds(10)
        while true {
            switch try next(until: deadline) {
            case .ok(let words, let details): return (words, details)
            case .error(let code, let reason, let details): throw .refused(Refusal(code: code, reason: reason, records: details))
            case .receive(let s, let p, let peer, let spi, let seq, let data):
                pending.append(Delivery(port: port ?? 0, source: s, sourcePort: p, data: data, peer: peer, spi: spi, sequence: seq))
            default: continue
            }
        }
    }

    private func next(until deadline: ContinuousClock.Instant) throws(Failure) -> EndpointMessage {
        let left = deadline - ContinuousClock.now
        guard left > .zero else { throw .timedOut }
        let ms = Int32(min(left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000 + 1, 60_000))
        guard socket.waitReadable(milliseconds: ms) else { throw .timedOut }
        guard let n = socket.receive(into: &buffer) else { throw .io(HostError("recv", errno: 0, "the host closed the local socket")) }
        do { return try EndpointMessage(parsing: Array(buffer[..<n])) } catch { throw .protocolError(error.message) }
    }
}
