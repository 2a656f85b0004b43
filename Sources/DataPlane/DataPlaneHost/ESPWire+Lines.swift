public import DataPlaneNode
import IPsecModel

// The events of the ESP-wire runs as `salabel esp-wire` prints them: one line each, `WORD` then
// `KEY=VALUE` fields, so that a script reads them while the run goes on. No line holds a key.

extension ESPWire.Send.Event {
    /// `SENT spi=0x… seq=N bytes=B to=ADDRESS:PORT` (with ` corrupted_offset=N` for a corrupted
    /// packet), or `SEND_FAILED seq=N errno=NAME`.
    public var line: String {
        switch self {
        case .sent(let spi, let sequence, let bytes, let to, let port, let corrupted):
            "SENT spi=0x\(String(spi, radix: 16)) seq=\(sequence) bytes=\(bytes) to=\(to):\(port)" + (corrupted.map { " corrupted_offset=\($0)" } ?? "")
        case .sendFailed(let sequence, let errno): "SEND_FAILED seq=\(sequence) errno=\(errno)"
        }
    }
}

extension ESPWire.Receive.Event {
    /// `READY port=N`, `KEEPALIVE from=…`, `NONESP from=… bytes=N`, `TRUNCATED from=… bytes=N`,
    /// `DROPPED spi=0x… …reason=…`, `RECEIVED spi=0x… seq=N src=… dst=… sport=N dport=N data=…`
    /// (``ESPWire/dataField(_:)``), `TIMEOUT received=N dropped=N`, or the `SUMMARY` line
    /// (``ESPWire/Receive/Totals/summaryLine``).
    public var line: String {
        func from(_ a: SocketAddress) -> String { "from=\(a.address):\(a.port)" }
        switch self {
        case .ready(let port): return "READY port=\(port)"
        case .keepalive(let source): return "KEEPALIVE \(from(source))"
        case .nonESP(let source, let bytes): return "NONESP \(from(source)) bytes=\(bytes)"
        case .truncated(let source, let bytes): return "TRUNCATED \(from(source)) bytes=\(bytes)"
        case .unknownSPI(let spi, let source): return "DROPPED spi=0x\(String(spi, radix: 16)) reason=unknown-spi \(from(source))"
        case .dropped(let spi, let sequence, let reason):
            return "DROPPED spi=0x\(String(spi, radix: 16)) seq=\(sequence.map(String.init) ?? "-") reason=\(reason)"
        case .received(let spi, let sequence, let d):
            return "RECEIVED spi=0x\(String(spi, radix: 16)) seq=\(sequence) src=\(d.source) dst=\(d.destination) "
                + "sport=\(d.sourcePort) dport=\(d.destinationPort) \(ESPWire.dataField(d.data))"
        case .timeout(let t): return "TIMEOUT received=\(t.received) dropped=\(t.dropped)"
        case .summary(let t): return t.summaryLine
        }
    }
}

extension ESPWire.Receive.Totals {
    /// `SUMMARY received=N dropped=N keepalive=N nonesp=N truncated=N`.
    public var summaryLine: String {
        "SUMMARY received=\(received) dropped=\(dropped) keepalive=\(keepalives) nonesp=\(nonESP) truncated=\(truncated)"
    }
}

extension ESPWire {
    /// `data=TEXT` when the bytes are printable ASCII (the rest of the line is the text), else
    /// `data_hex=` and the bytes in lower-case hex.
    public static func dataField(_ data: [UInt8]) -> String {
        if data.allSatisfy({ (0x20...0x7E).contains($0) }) { return "data=" + String(decoding: data, as: UTF8.self) }
        return "data_hex=" + data.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}

extension Delivery {
    /// A received datagram as `salabel dataplane send|listen` prints it: `from ADDRESS:PORT peer
    /// LABEL: TEXT` (`unlabeled` for traffic without a peer label).
    public var summary: String {
        "from \(source):\(sourcePort) peer \(peer?.description ?? "unlabeled"): \(String(decoding: data, as: UTF8.self))"
    }
}
