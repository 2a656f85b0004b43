import IPsecModel

/// One host's libreswan configuration as salabel writes it: the conns (a file `ipsec.conf` includes)
/// and their secrets (a file `ipsec.secrets` includes, mode 0600). Pure values and text: writing the
/// files and loading them is IKEControl's.
public struct LibreswanConfiguration: Sendable, Hashable {
    public var conns: [LibreswanConn]
    /// One secret per pair of hosts: libreswan chooses a PSK by the two IDs, so every conn between the
    /// same two hosts authenticates with the same one.
    public var secrets: [LibreswanSecret]

    public init(conns: [LibreswanConn], secrets: [LibreswanSecret]) {
        self.conns = conns
        self.secrets = secrets
    }

    /// The first line of both files: they are salabel's, rewritten whole by every apply.
    public static let header = "# Written by salabel apply: do not edit (the next apply rewrites it; salabel apply --remove takes it away).\n"

    /// The conns file: the header and a conn section per conn, in order.
    /// - Throws: a value libreswan could not read back as written.
    public func confText() throws(LibreswanConfigError) -> String {
        var out = Self.header
        for conn in conns { out += "\n" + (try conn.text()) }
        return out
    }

    /// The secrets file's text; with `censored`, every key replaced by `LibreswanSecret.censored`
    /// (what `--dry-run` prints).
    public func secretsText(censored: Bool) -> String {
        var out = Self.header
        for s in secrets { out += "\n" + s.text(censored: censored) }
        return out
    }

    /// The conn names of a conns file salabel wrote, each with its section's text (for telling which
    /// conns an apply adds, changes or removes). Reads only `conn NAME` lines at the start of a line.
    public static func conns(inWritten text: String) -> [LibreswanConnName: String] {
        var out: [LibreswanConnName: String] = [:]
        var current: LibreswanConnName?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("conn ") {
                current = LibreswanConnName(written: String(line.dropFirst(5)))
                out[current!] = String(line) + "\n"
            } else if let c = current, line.hasPrefix("\t") {
                out[c]! += String(line) + "\n"
            }
        }
        return out
    }
}
