// Labeling statements: fs_use_*, genfscon, portcon, netifcon, nodecon, fscon, ibpkeycon,
// ibendportcon, and the Xen ones kept as raw tokens. Like checkpolicy, only fs_use_* ends with
// a `;`.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

extension Parser {
    /// `fs_use_xattr|fs_use_task|fs_use_trans FSTYPE CONTEXT;`
    mutating func parseFsUse() throws(PolicyError) -> StatementKind {
        let keyword = token.keyword
        let spelling = keyword.spelling
        try advance()
        let filesystem: String
        if keyword == .fsUseXattr {
            filesystem = try parseFilesystem(after: spelling)
        } else {
            filesystem = try identifier("a filesystem name after '\(spelling)'")
        }
        let context = try parseContext()
        try expectSemicolon(after: "\(spelling) statement")
        return .fsUse(behavior: spelling, filesystem: filesystem, context: context)
    }

    /// checkpolicy's `filesystem`: an identifier or a FILESYSTEM token (`9p`).
    private mutating func parseFilesystem(after keyword: String) throws(PolicyError) -> String {
        guard token.kind == .identifier || token.kind == .filesystem else {
            throw unexpected("a filesystem name after '\(keyword)'")
        }
        let name = lexer.text(token)
        try advance()
        return name
    }

    /// `genfscon FSTYPE PATH [-TYPE] CONTEXT` where PATH is `/...` or `"/..."` and TYPE one of
    /// `b c d p l s -`.
    mutating func parseGenfscon() throws(PolicyError) -> StatementKind {
        try advance()
        let filesystem = try parseFilesystem(after: "genfscon")
        let path = try parsePath(after: "genfscon \(filesystem)")
        var fileType: String?
        if token.kind == .minus {
            try advance()
            if token.kind == .minus {
                fileType = "-"
                try advance()
            } else {
                let typeToken = token
                let letter = try identifier("a file type letter (b, c, d, p, l, s or -) after '-'")
                guard ["b", "c", "d", "p", "l", "s"].contains(letter) else {
                    throw error(
                        "invalid file type '-\(letter)' in genfscon: expected one of b, c, d, p, l, s, -",
                        at: typeToken)
                }
                fileType = letter
            }
        }
        let context = try parseContext()
        return .genfscon(filesystem: filesystem, path: path, fileType: fileType, context: context)
    }

    /// PATH or QPATH (the quotes removed).
    private mutating func parsePath(after what: String) throws(PolicyError) -> String {
        let path: String
        switch token.kind {
        case .path: path = lexer.text(token)
        case .quotedPath: path = lexer.text(from: token.start + 1, to: token.end - 1)
        default: throw unexpected("a path starting with '/' after '\(what)'")
        }
        try advance()
        return path
    }

    /// `portcon PROTOCOL PORT[-PORT] CONTEXT`
    mutating func parsePortcon() throws(PolicyError) -> StatementKind {
        try advance()
        let proto = try identifier("a protocol (tcp, udp, sctp, dccp) after 'portcon'")
        let low = try parseNumber("a port number after 'portcon \(proto)'", limit: UInt64(UInt32.max))
        var high = low
        if token.kind == .minus {
            try advance()
            high = try parseNumber("a port number after '-'", limit: UInt64(UInt32.max))
        }
        let context = try parseContext()
        return .portcon(protocol: proto, low: Int(low), high: Int(high), context: context)
    }

    /// `netifcon NAME IFCONTEXT PACKETCONTEXT`
    mutating func parseNetifcon() throws(PolicyError) -> StatementKind {
        try advance()
        let name: String
        switch token.kind {
        case .identifier, .filesystem, .netifName: name = lexer.text(token)
        default: throw unexpected("an interface name after 'netifcon'")
        }
        try advance()
        let interfaceContext = try parseContext()
        let packetContext = try parseContext()
        return .netifcon(interface: name, interfaceContext: interfaceContext, packetContext: packetContext)
    }

    /// `nodecon ADDRESS MASK CONTEXT` or `nodecon ADDRESS/PREFIX CONTEXT`, IPv4 or IPv6.
    mutating func parseNodecon() throws(PolicyError) -> StatementKind {
        try advance()
        let address: NodeAddress
        let mask: NodeAddress
        switch token.kind {
        case .ipv4Address, .ipv6Address:
            let isIPv4 = token.kind == .ipv4Address
            address = try parseAddress(token)
            try advance()
            guard token.kind == (isIPv4 ? .ipv4Address : .ipv6Address) else {
                throw unexpected(
                    isIPv4
                        ? "an IPv4 mask after the nodecon address"
                        : "an IPv6 mask after the nodecon address")
            }
            mask = try parseAddress(token)
            try advance()
        case .ipv4CIDR, .ipv6CIDR:
            (address, mask) = try parseCIDR(token)
            try advance()
        default:
            throw unexpected("an IPv4 or IPv6 address after 'nodecon'")
        }
        let context = try parseContext()
        return .nodecon(address: address, mask: mask, context: context)
    }

    /// An address as `inet_pton` reads it (as checkpolicy does).
    private func parseAddress(_ token: Token) throws(PolicyError) -> NodeAddress {
        try parseAddress(
            lexer.text(token), isIPv4: token.kind == .ipv4Address || token.kind == .ipv4CIDR,
            at: token)
    }

    private func parseAddress(_ text: String, isIPv4: Bool, at token: Token) throws(PolicyError) -> NodeAddress {
        var bytes = [UInt8](repeating: 0, count: isIPv4 ? 4 : 16)
        let ok = bytes.withUnsafeMutableBytes { raw in
            inet_pton(isIPv4 ? AF_INET : AF_INET6, text, raw.baseAddress) == 1
        }
        guard ok else {
            throw error("invalid \(isIPv4 ? "IPv4" : "IPv6") address '\(text)'", at: token)
        }
        return NodeAddress(bytes: bytes)
    }

    /// `ADDRESS/PREFIX`: the address (host bits cleared) and the mask of PREFIX bits.
    private func parseCIDR(_ token: Token) throws(PolicyError) -> (NodeAddress, NodeAddress) {
        let isIPv4 = token.kind == .ipv4CIDR
        let text = lexer.text(token)
        let parts = text.split(separator: "/", maxSplits: 1)
        let address = try parseAddress(String(parts[0]), isIPv4: isIPv4, at: token)
        let bits = isIPv4 ? 32 : 128
        guard parts.count == 2, let prefix = Int(parts[1]), prefix <= bits else {
            throw error("invalid prefix length in '\(text)': expected 0 to \(bits)", at: token)
        }
        var mask = [UInt8](repeating: 0, count: bits / 8)
        for bit in 0..<prefix { mask[bit / 8] |= 0x80 >> UInt8(bit % 8) }
        // Host bits beyond the prefix are cleared, as checkpolicy does (it warns about them).
        var masked = address.bytes
        for i in 0..<masked.count { masked[i] &= mask[i] }
        return (NodeAddress(bytes: masked), NodeAddress(bytes: mask))
    }

    /// A NUMBER as `strtoul(text, NULL, 0)` reads it, up to `limit`.
    mutating func parseNumber(_ what: String, limit: UInt64) throws(PolicyError) -> UInt64 {
        guard token.kind == .number else { throw unexpected(what) }
        let value = try numberValue(of: token, limit: limit)
        try advance()
        return value
    }

    /// The value of a NUMBER token: `0x` hex, a leading `0` octal (its longest octal prefix, as
    /// strtoul reads it), else decimal.
    func numberValue(of token: Token, limit: UInt64) throws(PolicyError) -> UInt64 {
        let buffer = lexer.buffer
        var i = token.start
        var base: UInt64 = 10
        if buffer[i] == 48 && token.end - i > 1 {
            if buffer[i + 1] == 120 {
                base = 16
                i += 2
            } else {
                base = 8
            }
        }
        var value: UInt64 = 0
        while i < token.end {
            let c = buffer[i]
            let digit: UInt64
            if isDigit(c) { digit = UInt64(c - 48) } else { digit = UInt64((c | 0x20) - 97 + 10) }
            if digit >= base { break }  // strtoul stops at the first digit outside the base
            let (product, overflow1) = value.multipliedReportingOverflow(by: base)
            let (sum, overflow2) = product.addingReportingOverflow(digit)
            if overflow1 || overflow2 || sum > limit {
                throw error("number '\(lexer.text(token))' is too large (the largest is \(limit))", at: token)
            }
            value = sum
            i += 1
        }
        return value
    }

    // MARK: Statements kept as raw tokens

    /// The Xen statements: `pirqcon N CTX`, `iomemcon N[-N] CTX`, `ioportcon N[-N] CTX`,
    /// `pcidevicecon N CTX`, `devicetreecon PATH CTX`.
    mutating func parseOtherLabeling() throws(PolicyError) -> StatementKind {
        let keyword = token.keyword
        let spelling = keyword.spelling
        try advance()
        var tokens: [String] = []
        func number(_ parser: inout Parser, _ tokens: inout [String], _ what: String, limit: UInt64) throws(PolicyError) {
            guard parser.token.kind == .number else { throw parser.unexpected(what) }
            _ = try parser.numberValue(of: parser.token, limit: limit)
            tokens.append(parser.lexer.text(parser.token))
            try parser.advance()
        }
        func optionalRange(_ parser: inout Parser, _ tokens: inout [String], limit: UInt64) throws(PolicyError) {
            guard parser.token.kind == .minus else { return }
            tokens.append("-")
            try parser.advance()
            try number(&parser, &tokens, "a number after '-'", limit: limit)
        }
        let limit32 = UInt64(UInt32.max)
        switch keyword {
        case .pirqcon, .pcidevicecon:
            try number(&self, &tokens, "a number after '\(spelling)'", limit: limit32)
        case .iomemcon:
            try number(&self, &tokens, "a number after '\(spelling)'", limit: UInt64.max)
            try optionalRange(&self, &tokens, limit: UInt64.max)
        case .ioportcon:
            try number(&self, &tokens, "a number after '\(spelling)'", limit: limit32)
            try optionalRange(&self, &tokens, limit: limit32)
        default:  // devicetreecon
            guard token.kind == .path || token.kind == .quotedPath else {
                throw unexpected("a path after 'devicetreecon'")
            }
            tokens.append(lexer.text(token))
            try advance()
        }
        try appendRawContext(to: &tokens)
        return .otherLabeling(keyword: spelling, tokens: tokens)
    }

    /// `fscon MAJOR MINOR CTX CTX` (checkpolicy 3.4 and earlier).
    mutating func parseFscon() throws(PolicyError) -> StatementKind {
        try advance()
        let major = try parseNumber("a major device number after 'fscon'", limit: UInt64(UInt32.max))
        let minor = try parseNumber("a minor device number in fscon", limit: UInt64(UInt32.max))
        let fileSystemContext = try parseContext()
        let fileContext = try parseContext()
        return .fscon(major: UInt32(major), minor: UInt32(minor), fileSystemContext: fileSystemContext, fileContext: fileContext)
    }

    /// `ibpkeycon SUBNET_PREFIX PKEY[-PKEY] CONTEXT`, with checkpolicy's checks: an IPv6 prefix whose
    /// low 64 bits are zero, keys of 16 bits, low ≤ high.
    mutating func parseIBPkeycon() throws(PolicyError) -> StatementKind {
        try advance()
        guard token.kind == .ipv6Address else { throw unexpected("an IPv6 subnet prefix after 'ibpkeycon'") }
        let prefixToken = token
        let prefix = try parseAddress(token).bytes
        guard prefix[8...].allSatisfy({ $0 == 0 }) else {
            throw error("ibpkeycon subnet prefix \(lexer.text(prefixToken)): the low 64 bits must be zero", at: prefixToken)
        }
        try advance()
        let lowToken = token
        let low = try parseNumber("a partition key number", limit: UInt64(UInt32.max))
        var high = low
        if token.kind == .minus {
            try advance()
            high = try parseNumber("a partition key number after '-'", limit: UInt64(UInt32.max))
        }
        guard low <= 0xFFFF, high <= 0xFFFF else { throw error("partition keys are 16 bits: \(low)-\(high)", at: lowToken) }
        guard low <= high else { throw error("partition key range \(low)-\(high): low exceeds high", at: lowToken) }
        let context = try parseContext()
        return .ibpkeycon(subnetPrefix: Array(prefix[..<8]), low: Int(low), high: Int(high), context: context)
    }

    /// `ibendportcon DEVICE PORT CONTEXT`: a device name of at most 63 bytes, a port 1…255.
    mutating func parseIBEndportcon() throws(PolicyError) -> StatementKind {
        try advance()
        let nameToken = token
        let device = try identifier("a device name after 'ibendportcon'")
        guard device.utf8.count <= 63 else { throw error("InfiniBand device name \(device) is longer than 63 bytes", at: nameToken) }
        let portToken = token
        let port = try parseNumber("a port number", limit: UInt64(UInt32.max))
        guard (1...255).contains(port) else { throw error("ibendportcon port \(port): 1 to 255", at: portToken) }
        let context = try parseContext()
        return .ibendportcon(device: device, port: Int(port), context: context)
    }
}
