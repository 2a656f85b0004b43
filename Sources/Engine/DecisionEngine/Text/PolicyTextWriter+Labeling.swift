import SecurityContexts
import SELinuxPolicy

// Labeling: initial SID contexts, fscon, fs_use_*, genfscon, portcon, netifcon, nodecon, then the
// statements held as raw tokens (Xen, ibpkeycon, ibendportcon), in checkpolicy's order.

extension PolicyTextWriter {
    mutating func writeLabeling() {
        section("Labeling")
        for sid in db.initialSIDs {
            if let context = sid.context { line("sid \(sid.name) \(Self.contextText(context))") }
        }
        for other in db.otherLabeling where other.keyword == "fscon" { line(Self.rawStatement(other.keyword, other.tokens)) }
        for f in db.fsUses { line("\(f.behavior) \(f.filesystem) \(Self.contextText(f.context));") }
        for g in db.genfscons {
            let type = g.fileType.map { $0 == "-" ? " --" : " -\($0)" } ?? ""
            line("genfscon \(g.filesystem) \(Self.pathText(g.path))\(type) \(Self.contextText(g.context))")
        }
        for p in db.portcons {
            let ports = p.low == p.high ? "\(p.low)" : "\(p.low)-\(p.high)"
            line("portcon \(p.protocol) \(ports) \(Self.contextText(p.context))")
        }
        for n in db.netifcons {
            line("netifcon \(n.interface) \(Self.contextText(n.interfaceContext)) \(Self.contextText(n.packetContext))")
        }
        for n in db.nodecons {
            line("nodecon \(Self.addressText(n.address)) \(Self.addressText(n.mask)) \(Self.contextText(n.context))")
        }
        // checkpolicy: the Xen statements, then ibpkeycon, then ibendportcon.
        let order = ["pirqcon", "iomemcon", "ioportcon", "pcidevicecon", "devicetreecon", "ibpkeycon", "ibendportcon"]
        for keyword in order {
            for other in db.otherLabeling where other.keyword == keyword { line(Self.rawStatement(other.keyword, other.tokens)) }
        }
        for other in db.otherLabeling where other.keyword != "fscon" && !order.contains(other.keyword) {
            line(Self.rawStatement(other.keyword, other.tokens))
        }
    }

    /// A path as written: bare when it has only path characters, quoted otherwise.
    static func pathText(_ path: String) -> String {
        path.allSatisfy({ $0.isLetter || $0.isNumber || "/._-~+".contains($0) }) ? path : "\"\(path)\""
    }

    /// A statement kept as tokens, joined by spaces. A context held as one token (as the binary
    /// reader keeps it) gets spaces around the `-` of its range, which checkpolicy's lexer would
    /// otherwise read as part of an identifier.
    static func rawStatement(_ keyword: String, _ tokens: [String]) -> String {
        var tokens = tokens
        // A binary's fscon holds the name checkpolicy made of `fscon MAJOR MINOR` ("%02x:%02x").
        if keyword == "fscon", tokens.count == 3 {
            let parts = tokens[0].split(separator: ":")
            if parts.count == 2, let major = UInt32(parts[0], radix: 16), let minor = UInt32(parts[1], radix: 16) {
                tokens = ["\(major)", "\(minor)"] + tokens.dropFirst()
            }
        }
        let spaced = tokens.map { token -> String in
            let parts = token.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count >= 4, !parts[0].isEmpty, token.contains("-") else { return token }
            return token.replacingFirstRangeDash()
        }
        return ([keyword] + spaced).joined(separator: " ")
    }

    /// An IPv4 address dotted, an IPv6 address as eight hexadecimal groups (no compression).
    static func addressText(_ address: NodeAddress) -> String {
        let b = address.bytes
        if b.count == 4 { return b.map(String.init).joined(separator: ".") }
        var groups: [String] = []
        var i = 0
        while i + 1 < b.count {
            groups.append(String(UInt16(b[i]) << 8 | UInt16(b[i + 1]), radix: 16))
            i += 2
        }
        return groups.joined(separator: ":")
    }
}

extension String {
    /// The context with ` - ` for the first `-` after its type (the range separator).
    fileprivate func replacingFirstRangeDash() -> String {
        var colons = 0
        var out = ""
        var done = false
        for ch in self {
            if ch == ":" { colons += 1 }
            if ch == "-" && colons >= 3 && !done {
                out += " - "
                done = true
            } else {
                out.append(ch)
            }
        }
        return out
    }
}
