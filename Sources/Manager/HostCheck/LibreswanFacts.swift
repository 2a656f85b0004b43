// salabel doctor's facts about libreswan (check 9 of Specs/manager/doctor.md): pluto's process and
// control socket, and the labeled conns as libreswan's own parser (`readwriteconf`) reads them.

internal import Foundation

/// libreswan on a host, as `salabel doctor` read it: whether pluto runs (its pid file, the process,
/// its domain, its control socket) and each conn with a security label, read by libreswan's own
/// parser (`readwriteconf --config IPSEC_CONF`, which follows `include` and `also=`).
public struct LibreswanFacts: Sendable, Hashable {
    /// pluto's pid file, its control socket and the default configuration (libreswan 4.10 on Debian).
    public static let pidFile = "/run/pluto/pluto.pid"
    public static let controlSocket = "/run/pluto/pluto.ctl"
    public static let defaultConfig = "/etc/ipsec.conf"
    /// libreswan's configuration parser, which echoes every conn with its keywords resolved.
    public static let readwriteconf = "/usr/libexec/ipsec/readwriteconf"

    /// pluto's process as read from its pid file.
    public struct Pluto: Sendable, Hashable {
        /// The pid in ``LibreswanFacts/pidFile``.
        public var pid: Int32
        /// Whether `/proc/PID` exists (false: a stale pid file).
        public var alive: Bool
        /// `/proc/PID/attr/current`: pluto's domain; nil when it could not be read.
        public var context: String?

        public init(pid: Int32, alive: Bool, context: String?) {
            self.pid = pid
            self.alive = alive
            self.context = context
        }
    }

    /// A conn with a security label.
    public struct Conn: Sendable, Hashable {
        public var name: String
        /// The label as written, unquoted (`sec-label=`, or libreswan 3's `policy-label=`).
        public var label: String
        /// The file whose `conn NAME` line declares it (the configuration or a file it includes);
        /// nil when not found.
        public var file: String?

        public init(name: String, label: String, file: String? = nil) {
            self.name = name
            self.label = label
            self.file = file
        }
    }

    /// The `ipsec.conf` read (``defaultConfig`` unless `--ipsec-conf`).
    public var config: String
    /// pluto per its pid file; nil when there is no pid file.
    public var pluto: Pluto?
    /// Whether ``controlSocket`` exists (where `ipsec` and `whack` talk to pluto).
    public var controlSocketExists: Bool
    /// The conns with a label, in the configuration's order.
    public var conns: [Conn]
    /// Why the conns were not read: readwriteconf is missing or refused the configuration.
    public var connsError: String?
    /// Whether ``config`` exists.
    public var configExists: Bool

    public init(
        config: String = LibreswanFacts.defaultConfig, pluto: Pluto? = nil, controlSocketExists: Bool = false, conns: [Conn] = [],
        connsError: String? = nil, configExists: Bool = true
    ) {
        self.config = config
        self.pluto = pluto
        self.controlSocketExists = controlSocketExists
        self.conns = conns
        self.connsError = connsError
        self.configExists = configExists
    }

    /// Whether pluto runs: a live pid in the pid file and the control socket there.
    public var plutoRunning: Bool { pluto?.alive == true && controlSocketExists }

    /// The labeled conns in `readwriteconf`'s output: a `conn NAME` line, then tab-indented
    /// `keyword=value` lines. libreswan 4.10 echoes a label under both its names (`policy-label=`
    /// and `sec-label=`); the last non-empty `sec-label=`, else `policy-label=`, is taken, and its
    /// double quotes (written around a value with a space) are removed. A conn named twice is
    /// taken once, the first time. A conn whose `auto=` is `ignore` (libreswan's default, and the
    /// usual base conn of `also=`) is left out: pluto never loads it at start.
    public static func labeledConns(readwriteconf output: String) -> [Conn] {
        var order: [String] = []
        var labels: [String: [String: String]] = [:]
        var current: String?
        for line in output.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("conn ") {
                let name = String(line.dropFirst(5)).trimmingCharacters(in: .whitespaces)
                current = labels[name] == nil ? name : nil
                if let current {
                    order.append(current)
                    labels[current] = [:]
                }
            } else if !line.hasPrefix("\t") && !line.hasPrefix(" ") {
                current = nil
            } else if let c = current, let eq = line.firstIndex(of: "=") {
                let key = line[..<eq].trimmingCharacters(in: .whitespaces)
                var value = String(line[line.index(after: eq)...])
                guard key == "sec-label" || key == "policy-label" || key == "auto", !value.isEmpty else { continue }
                if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
                labels[c]![key] = value
            }
        }
        return order.compactMap { name in
            let keys = labels[name]!
            guard let auto = keys["auto"], auto != "ignore" else { return nil }
            return (keys["sec-label"] ?? keys["policy-label"]).map { Conn(name: name, label: $0) }
        }
    }

    /// The patterns of a libreswan configuration's `include` lines (at the start of a line, outside
    /// sections or inside: libreswan takes them anywhere), in order.
    public static func includes(in text: String) -> [String] {
        text.split(separator: "\n").compactMap { line in
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard words.count == 2, words[0] == "include", !line.hasPrefix(" "), !line.hasPrefix("\t") else { return nil }
            return String(words[1])
        }
    }

    /// Whether a configuration file's text declares `conn NAME` (a line `conn NAME` at its start).
    public static func declares(_ name: String, in text: String) -> Bool {
        text.split(separator: "\n").contains { line in
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            return line.hasPrefix("conn") && words.count >= 2 && words[0] == "conn" && words[1] == name
        }
    }

    /// Whether a file name matches an `include` pattern's last component, with `*` and `?` as the
    /// shell reads them (libreswan expands `include` with glob(3)).
    public static func matches(_ name: String, pattern: String) -> Bool {
        func match(_ n: Substring, _ p: Substring) -> Bool {
            guard let first = p.first else { return n.isEmpty }
            switch first {
            case "*": return match(n, p.dropFirst()) || (!n.isEmpty && match(n.dropFirst(), p))
            case "?": return !n.isEmpty && match(n.dropFirst(), p.dropFirst())
            default: return n.first == first && match(n.dropFirst(), p.dropFirst())
            }
        }
        return !(name.hasPrefix(".") && !pattern.hasPrefix(".")) && match(Substring(name), Substring(pattern))
    }
}
