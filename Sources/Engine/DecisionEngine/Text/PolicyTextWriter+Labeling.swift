import SecurityContexts
import SELinuxPolicy

// Labeling: initial SID contexts, fscon, fs_use_*, genfscon, portcon, netifcon, nodecon, the Xen
// statements held as raw tokens, ibpkeycon, ibendportcon: checkpolicy's order.

extension PolicyTextWriter {
    mutating func writeLabeling() {
        section("Labeling")
        for sid in db.initialSIDs {
            if let context = sid.context { line("sid \(sid.name) \(Self.contextText(context))") }
        }
        for f in db.fsContexts {
            line("fscon \(Self.deviceNumbers(f.name)) \(Self.contextText(f.fileSystemContext)) \(Self.contextText(f.fileContext))")
        }
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
        // checkpolicy: the Xen statements (kept as tokens), then ibpkeycon, then ibendportcon.
        for other in db.otherLabeling { line(Self.rawStatement(other.keyword, other.tokens)) }
        for k in db.ibpkeyContexts {
            let keys = k.low == k.high ? "\(k.low)" : "\(k.low)-\(k.high)"
            line("ibpkeycon \(Self.subnetPrefixText(k.subnetPrefix)) \(keys) \(Self.contextText(k.context))")
        }
        for e in db.ibendportContexts { line("ibendportcon \(e.device) \(e.port) \(Self.contextText(e.context))") }
    }

    /// `fscon`'s device as its two numbers: checkpolicy names the file system `%02x:%02x` of major
    /// and minor, and the language takes the numbers.
    static func deviceNumbers(_ name: String) -> String {
        let parts = name.split(separator: ":")
        if parts.count == 2, let major = UInt32(parts[0], radix: 16), let minor = UInt32(parts[1], radix: 16) { return "\(major) \(minor)" }
        return name
    }

    /// An InfiniBand subnet prefix (8 bytes) as an IPv6 address with the low 64 bits zero.
    static func subnetPrefixText(_ prefix: [UInt8]) -> String {
        addressText(NodeAddress(bytes: Array(prefix.prefix(8)) + Array(repeating: 0, count: 16 - min(prefix.count, 8))))
    }

    /// A path as written: bare when it has only path characters, quoted otherwise.
    static func pathText(_ path: String) -> String {
        path.allSatisfy({ $0.isLetter || $0.isNumber || "/._-~+".contains($0) }) ? path : "\"\(path)\""
    }

    /// A statement kept as tokens (the Xen ones), joined by spaces. A context held as one token
    /// gets spaces around the `-` of its range, which checkpolicy's lexer would otherwise read as
    /// part of an identifier.
    static func rawStatement(_ keyword: String, _ tokens: [String]) -> String {
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
