import SecurityContexts
import SELinuxPolicy

// Contexts (§1.7), the ocontext tables (§3.9) and genfs (§3.10).

/// The Linux initial SID names by number (§3.9; libsepol `selinux_sid_to_str`, the kernel's
/// `initial_sid_to_string`). Index 0 is unused.
let linuxInitialSIDNames = [
    "", "kernel", "security", "unlabeled", "fs", "file", "file_labels", "init", "any_socket", "port", "netif", "netmsg", "node",
    "igmp_packet", "icmp_socket", "tcp_socket", "sysctl_modprobe", "sysctl", "sysctl_fs", "sysctl_kernel", "sysctl_net",
    "sysctl_net_unix", "sysctl_vm", "sysctl_dev", "kmod", "policy", "scmp_packet", "devnull",
]

extension BinaryPolicyReader {
    var contextMinimum: Int { version >= 19 ? 32 : 12 }

    /// A context: read, resolved and validated as the kernel validates it (§1.7).
    mutating func context() throws(BinaryPolicyError) -> SecurityContext {
        let at = c.offset
        let uValue = try c.u32()
        let u = try user(uValue, at: at)
        let rValue = try c.u32()
        let r = try role(rValue, at: at)
        let tValue = try c.u32()
        let t = try type(tValue, at: at)
        var resolved = ResolvedContext(user: Int32(u), role: Int32(r), type: Int32(t))
        if version >= 19 {
            let raw = try range()
            if let range = try range(raw) {
                resolved.low = range.low
                resolved.high = range.high
            }
        }
        if let why = db.invalidityReason(resolved) { throw c.error(.invalid("invalid context: \(why)"), at: at) }
        return db.context(resolved)
    }

    mutating func readOContexts() throws(BinaryPolicyError) {
        let sections: [BinaryPolicySection] = [
            .initialSIDs, .fsContexts, .portContexts, .netifContexts, .nodeContexts, .fsUse, .node6Contexts, .ibpkeyContexts, .ibendportContexts,
        ]
        let ctx = contextMinimum
        let minimums = [4 + ctx, 5 + 2 * ctx, 12 + ctx, 5 + 2 * ctx, 8 + ctx, 9 + ctx, 32 + ctx, 16 + ctx, 9 + ctx]
        for table in 0..<Int(BinaryPolicyVersion.tableCounts(version).ocontexts) {
            c.section = sections[table]
            let n = try c.count(minimumSize: minimums[table])
            var sids: [(Int, String, SecurityContext)] = []
            // Keys seen in this table: duplicates are refused in linear time (§4.4).
            var keys = Set<String>()
            for _ in 0..<n {
                let at = c.offset
                switch table {
                case 0:
                    let number = try c.u32()
                    guard number >= 1, Int(number) < linuxInitialSIDNames.count else {
                        throw c.error(.indexOutOfRange(what: "initial SID", value: number), at: at)
                    }
                    guard !sids.contains(where: { $0.0 == Int(number) }) else { throw c.error(.duplicate("initial SID \(number)"), at: at) }
                    sids.append((Int(number), linuxInitialSIDNames[Int(number)], try context()))
                case 1:
                    let len = try c.nameLength(maximum: 63)
                    let name = try c.name(len)
                    let a = try context(), b = try context()
                    db.fsContexts.append(FSContext(name: name, fileSystemContext: a, fileContext: b))
                case 2:
                    let proto = try c.u32()
                    let low = try c.u32(), high = try c.u32()
                    let names: [UInt32: String] = [6: "tcp", 17: "udp", 33: "dccp", 132: "sctp"]
                    guard let p = names[proto] else { throw c.error(.invalid("port protocol \(proto)"), at: at) }
                    guard low <= high, high <= 65535 else { throw c.error(.invalid("port range \(low)-\(high)"), at: at) }
                    guard keys.insert("\(p) \(low) \(high)").inserted else {
                        throw c.error(.duplicate("portcon \(p) \(low)-\(high)"), at: at)
                    }
                    db.portcons.append(PortContext(protocol: p, low: Int(low), high: Int(high), context: try context()))
                case 3:
                    let len = try c.nameLength(maximum: 63)
                    let name = try c.name(len)
                    guard keys.insert(name).inserted else { throw c.error(.duplicate("netifcon \(name)"), at: at) }
                    let a = try context(), b = try context()
                    db.netifcons.append(NetifContext(interface: name, interfaceContext: a, packetContext: b))
                case 4, 6:
                    let size = table == 4 ? 4 : 16
                    let address = try c.raw(size), mask = try c.raw(size)
                    db.nodecons.append(NodeContext(address: NodeAddress(bytes: address), mask: NodeAddress(bytes: mask), context: try context()))
                case 5:
                    let behavior = try c.u32()
                    guard (1...3).contains(behavior) else { throw c.error(.invalid("fs_use behavior \(behavior)"), at: at) }
                    let len = try c.nameLength()
                    let name = try c.name(len)
                    guard keys.insert(name).inserted else { throw c.error(.duplicate("fs_use for \(name)"), at: at) }
                    let keyword = ["", "fs_use_xattr", "fs_use_trans", "fs_use_task"][Int(behavior)]
                    db.fsUses.append((keyword, name, try context()))
                case 7:
                    let prefix = try c.raw(8)
                    let low = try c.u32(), high = try c.u32()
                    guard low <= high, high <= 0xFFFF else { throw c.error(.invalid("pkey range \(low)-\(high)"), at: at) }
                    db.ibpkeyContexts.append(IBPKeyContext(subnetPrefix: prefix, low: Int(low), high: Int(high), context: try context()))
                default:
                    let len = try c.nameLength(maximum: 63)
                    let port = try c.u32()
                    guard (1...255).contains(port) else { throw c.error(.invalid("ibendport port \(port)"), at: at) }
                    let name = try c.name(len)
                    db.ibendportContexts.append(IBEndportContext(device: name, port: Int(port), context: try context()))
                }
            }
            // Initial SIDs in number order, as the kernel numbers them (§5).
            if table == 0 { db.initialSIDs = sids.sorted { $0.0 < $1.0 }.map { ($0.1, $0.2) } }
        }
    }

    /// The file type letter of a genfs class (§3.10).
    static let genfsLetters = ["blk_file": "b", "chr_file": "c", "dir": "d", "fifo_file": "p", "lnk_file": "l", "sock_file": "s", "file": "-"]

    mutating func readGenfs() throws(BinaryPolicyError) {
        c.section = .genfs
        let nfs = try c.count(minimumSize: 9)
        var filesystems = Set<String>()
        for _ in 0..<nfs {
            let at = c.offset
            let len = try c.nameLength()
            let fs = try c.name(len)
            guard filesystems.insert(fs).inserted else { throw c.error(.duplicate("genfs file system \(fs)"), at: at) }
            let npaths = try c.count(minimumSize: 9 + contextMinimum)
            // Classes seen per path: a repeated path is refused when its classes are equal or either
            // is 0 (any), §3.10.
            var seen: [String: Set<Int>] = [:]
            for _ in 0..<npaths {
                let pathAt = c.offset
                let plen = try c.nameLength()
                let path = try c.name(plen)
                let sclass = try c.u32()
                var letter: String? = nil
                if sclass != 0 {
                    let cls = try objectClass(sclass, at: pathAt)
                    guard let l = Self.genfsLetters[db.classes[cls - 1].name] else {
                        throw c.error(.invalid("genfs class \(db.classes[cls - 1].name) is not a file class"), at: pathAt)
                    }
                    letter = l
                }
                let classes = seen[path, default: []]
                guard !classes.contains(Int(sclass)), !classes.contains(0), sclass == 0 ? classes.isEmpty : true else {
                    throw c.error(.duplicate("genfs entry \(fs) \(path)"), at: pathAt)
                }
                seen[path, default: []].insert(Int(sclass))
                db.genfscons.append((fs, path, letter, try context()))
            }
        }
    }
}
