/// One NetLabel domain mapping as `netlabelctl -p map list` prints it (netlabel-tools): an LSM
/// domain (or `DEFAULT`), optionally a network address, and the labeling protocol for it.
public struct NetLabelMapping: Sendable, Hashable, CustomStringConvertible {
    /// The LSM domain (an SELinux type) or `DEFAULT`.
    public var domain: String
    /// The address selector, when the mapping has one.
    public var address: String?
    /// The protocol as printed: `UNLABELED`, `CIPSO, DOI = 16`, `CALIPSO, DOI = 3`.
    public var protocol_: String

    /// Whether the protocol puts a label on the wire (CIPSO/IPv4 or CALIPSO/IPv6).
    public var labels: Bool { protocol_.hasPrefix("CIPSO") || protocol_.hasPrefix("CALIPSO") }

    /// `domain DEFAULT address 10.77.0.0/24: CIPSO, DOI = 16`.
    public var description: String { "domain \(domain)" + (address.map { " address \($0)" } ?? "") + ": \(protocol_)" }

    /// The mappings of `netlabelctl -p map list` output, in order.
    public static func parse(_ text: String) -> [NetLabelMapping] {
        var out: [NetLabelMapping] = []
        var domain = "", address: String?
        for raw in text.split(separator: "\n") {
            let line = raw.drop { $0 == " " }
            if line.hasPrefix("domain: ") {
                var name = line.dropFirst("domain: ".count)
                if let paren = name.range(of: " (") { name = name[..<paren.lowerBound] }
                domain = String(name.filter { $0 != "\"" })
                address = nil
            } else if line.hasPrefix("address: ") {
                address = String(line.dropFirst("address: ".count))
            } else if line.hasPrefix("protocol: ") {
                out.append(NetLabelMapping(domain: domain, address: address, protocol_: String(line.dropFirst("protocol: ".count))))
            }
        }
        return out
    }
}
