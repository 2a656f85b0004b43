import ESPDataPlane
public import IPsecModel
public import SecurityContexts

/// The messages of the data plane's local socket (Specs/dataplane/endpoints.md): how an
/// application, the CLI or an example binds a port in the context it states, sends and receives
/// datagrams, and watches the host's events.
///
/// One message is one `SOCK_SEQPACKET` record: header lines in UTF-8, each ended by `\n`, an empty
/// line, then the data bytes (binary, possibly empty). The first line is the verb and its words,
/// separated by single spaces; the lines after it are `AVC …` records or `CHECK …` reasons.
///
///     BIND 7 system_u:system_r:echoserver_t:s0            → OK BIND 7   (BIND 0 …: a free local port)
///     SEND 10.77.0.2 7  + data                             → OK SENT esp spi=0x… seq=1 | OK SENT clear
///                                                          | ERROR EAGAIN acquire seq=1 … | ERROR EACCES …
///     (from the host) RECV 10.77.0.1 40000 peer=… spi=0x… seq=1  + data
///     MONITOR                                              → OK MONITOR, then EVENT … messages
///     STATS                                                → OK STATS sealed=… delivered=… …
///     ADDSA system_u:system_r:ipsec_mgmt_t:s0  + `ip xfrm state add` arguments → OK ADDSA … | ERROR EACCES … + AVC
///     DELSA system_u:system_r:ipsec_mgmt_t:s0 10.77.0.2 0x1000          → OK DELSA … | ERROR ESRCH …
public enum EndpointMessage: Sendable, Hashable {
    case bind(port: UInt16, context: SecurityContext)
    case send(destination: IPAddress, port: UInt16, data: [UInt8])
    case monitor
    case stats
    /// A key manager in `subject` adds an SA: `data` is the `ip xfrm state add` arguments (text).
    case addSA(subject: SecurityContext, arguments: String)
    /// A key manager in `subject` deletes the SA (destination, SPI, ESP).
    case deleteSA(subject: SecurityContext, destination: IPAddress, spi: UInt32)
    /// A reply: `OK <words>` with optional detail lines.
    case ok(String, details: [String])
    /// A refusal: an errno name (`EACCES`, `EAGAIN`, …), a reason, and detail lines (AVC records).
    case error(code: String, reason: String, details: [String])
    /// A datagram delivered to the endpoint.
    case receive(source: IPAddress, sourcePort: UInt16, peer: SecurityContext?, spi: UInt32?, sequence: UInt64?, data: [UInt8])
    /// An event of the host, for monitors: one line and detail lines (AVC records, checks).
    case event(String, details: [String])

    /// The largest message: a whole UDP datagram and 16 KiB of header lines.
    public static let maximumSize = UDPDatagram.maximumData + 16_384

    /// Why bytes are not a message.
    public struct ParseError: Error, Sendable, Hashable, CustomStringConvertible {
        public var message: String
        public init(message: String) { self.message = message }
        public var description: String { message }
    }

    // MARK: - Encoding

    public func encoded() -> [UInt8] {
        func message(_ lines: [String], _ data: [UInt8] = []) -> [UInt8] {
            Array((lines.joined(separator: "\n") + "\n\n").utf8) + data
        }
        switch self {
        case .bind(let port, let context): return message(["BIND \(port) \(context)"])
        case .send(let destination, let port, let data): return message(["SEND \(destination) \(port)"], data)
        case .monitor: return message(["MONITOR"])
        case .addSA(let subject, let arguments): return message(["ADDSA \(subject)"], Array(arguments.utf8))
        case .deleteSA(let subject, let destination, let spi): return message(["DELSA \(subject) \(destination) 0x\(String(spi, radix: 16))"])
        case .stats: return message(["STATS"])
        case .ok(let words, let details): return message(["OK" + (words.isEmpty ? "" : " " + words)] + details)
        case .error(let code, let reason, let details): return message(["ERROR \(code) \(reason)"] + details)
        case .receive(let source, let sourcePort, let peer, let spi, let sequence, let data):
            let line =
                "RECV \(source) \(sourcePort) peer=\(peer?.description ?? "-") spi=\(spi.map { "0x" + String($0, radix: 16) } ?? "-") seq=\(sequence.map(String.init) ?? "-")"
            return message([line], data)
        case .event(let line, let details): return message(["EVENT " + line] + details)
        }
    }

    // MARK: - Parsing

    /// Parses one message; every error names what is wrong. Lines must be UTF-8 without control
    /// characters; words are separated by one space.
    public init(parsing bytes: [UInt8]) throws(ParseError) {
        guard bytes.count <= Self.maximumSize else { throw ParseError(message: "message of \(bytes.count) bytes exceeds \(Self.maximumSize)") }
        // The header ends at the first "\n\n".
        var end = -1
        var i = 0
        while i + 1 < bytes.count {
            if bytes[i] == 0x0A && bytes[i + 1] == 0x0A { end = i; break }
            i += 1
        }
        guard end >= 0 else { throw ParseError(message: "no empty line ends the header") }
        for b in bytes[..<end] where b < 0x20 && b != 0x0A || b == 0x7F {
            throw ParseError(message: "control character 0x\(String(b, radix: 16)) in the header")
        }
        guard let header = String(validating: bytes[..<end], as: UTF8.self) else { throw ParseError(message: "the header is not UTF-8") }
        let data = Array(bytes[(end + 2)...])
        let lines = header.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let words = lines[0].split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        let details = Array(lines.dropFirst())
        func expect(_ n: Int, _ usage: String) throws(ParseError) {
            guard words.count == n else { throw ParseError(message: "line 1: expected \(usage)") }
        }
        func noData() throws(ParseError) {
            guard data.isEmpty, details.isEmpty else { throw ParseError(message: "\(words[0]) carries no detail lines or data") }
        }
        func port(_ w: String) throws(ParseError) -> UInt16 {
            guard let p = UInt16(w), p != 0 else { throw ParseError(message: "line 1: \(w) is not a port (1–65535)") }
            return p
        }
        func address(_ w: String) throws(ParseError) -> IPAddress {
            guard let a = IPAddress(w) else { throw ParseError(message: "line 1: \(w) is not an IPv4 or IPv6 address") }
            return a
        }
        func context(_ w: String) throws(ParseError) -> SecurityContext {
            do { return try SecurityContext(parsing: w) } catch { throw ParseError(message: "line 1: \(error)") }
        }
        switch words[0] {
        case "BIND":
            try expect(3, "BIND <port> <context>")
            try noData()
            // Port 0: any free port of the local range (the kernel's autobind).
            self = .bind(port: words[1] == "0" ? 0 : try port(words[1]), context: try context(words[2]))
        case "SEND":
            try expect(3, "SEND <address> <port>")
            guard details.isEmpty else { throw ParseError(message: "SEND carries no detail lines") }
            guard data.count <= UDPDatagram.maximumData else { throw ParseError(message: "\(data.count) bytes exceed a UDP datagram") }
            self = .send(destination: try address(words[1]), port: try port(words[2]), data: data)
        case "ADDSA":
            try expect(2, "ADDSA <context>")
            guard details.isEmpty else { throw ParseError(message: "ADDSA carries no detail lines") }
            guard let arguments = String(validating: data, as: UTF8.self), !arguments.isEmpty else {
                throw ParseError(message: "ADDSA carries the `ip xfrm state add` arguments as UTF-8 text")
            }
            self = .addSA(subject: try context(words[1]), arguments: arguments)
        case "DELSA":
            try expect(4, "DELSA <context> <address> <0xSPI>")
            try noData()
            guard words[3].hasPrefix("0x"), let spi = UInt32(words[3].dropFirst(2), radix: 16) else {
                throw ParseError(message: "line 1: \(words[3]) is not an SPI (0x…)")
            }
            self = .deleteSA(subject: try context(words[1]), destination: try address(words[2]), spi: spi)
        case "MONITOR":
            try expect(1, "MONITOR")
            try noData()
            self = .monitor
        case "STATS":
            try expect(1, "STATS")
            try noData()
            self = .stats
        case "OK":
            self = .ok(words.dropFirst().joined(separator: " "), details: details)
        case "ERROR":
            guard words.count >= 2, !words[1].isEmpty else { throw ParseError(message: "line 1: expected ERROR <code> <reason>") }
            self = .error(code: words[1], reason: words.dropFirst(2).joined(separator: " "), details: details)
        case "EVENT":
            guard words.count >= 2 else { throw ParseError(message: "line 1: expected EVENT <what>") }
            self = .event(words.dropFirst().joined(separator: " "), details: details)
        case "RECV":
            try expect(6, "RECV <address> <port> peer=<context|-> spi=<0x…|-> seq=<n|->")
            func field(_ w: String, _ name: String) throws(ParseError) -> String? {
                guard w.hasPrefix(name + "=") else { throw ParseError(message: "line 1: expected \(name)=…, found \(w)") }
                let v = String(w.dropFirst(name.count + 1))
                return v == "-" ? nil : v
            }
            let peer = try field(words[3], "peer").map { v throws(ParseError) in try context(v) }
            let spi = try field(words[4], "spi").map { v throws(ParseError) -> UInt32 in
                guard v.hasPrefix("0x"), let s = UInt32(v.dropFirst(2), radix: 16) else { throw ParseError(message: "line 1: spi=\(v) is not hex") }
                return s
            }
            let seq = try field(words[5], "seq").map { v throws(ParseError) -> UInt64 in
                guard let n = UInt64(v) else { throw ParseError(message: "line 1: seq=\(v) is not a number") }
                return n
            }
            guard details.isEmpty else { throw ParseError(message: "RECV carries no detail lines") }
            self = .receive(source: try address(words[1]), sourcePort: try port(words[2]), peer: peer, spi: spi, sequence: seq, data: data)
        default:
            throw ParseError(message: "line 1: unknown verb \(words[0]) (BIND, SEND, MONITOR, STATS, ADDSA, DELSA, OK, ERROR, RECV, EVENT)")
        }
    }
}
