import SecurityContexts

// Contexts (§1.7), the ocontext tables (§3.9) and genfs (§3.10), as §6 items 13–16 write them.

extension BinaryPolicyWriter {
    /// A context by values. Labeling contexts were validated when the policy was compiled or read,
    /// so a context that no longer resolves is a broken database: refused, not written.
    mutating func context(_ c: SecurityContext) throws(BinaryPolicyWriteError) {
        let r: ResolvedContext
        do { r = try db.resolve(c) } catch { throw .invalid("context \(c): \(error)") }
        out.u32(Int(r.user) + 1)
        out.u32(Int(r.role) + 1)
        out.u32(Int(r.type) + 1)
        guard version >= 19 else { return }
        if let low = r.low, let high = r.high {
            out.range(MLSRange(low: low, high: high))
        } else {
            out.placeholderRange()
        }
    }

    mutating func name(_ s: String) {
        out.u32(s.utf8.count)
        out.nameBytes(s)
    }

    /// The ocontext tables the version has (§2.1): initial SIDs numbered by position (§6 item 14),
    /// the others in the database's order, which is the kernel's matching order (§3.9).
    mutating func writeOContexts() throws(BinaryPolicyWriteError) {
        let tables = Int(BinaryPolicyVersion.tableCounts(version).ocontexts)
        // 0: initial SIDs with a context.
        let sids = db.initialSIDs.enumerated().filter { $0.element.context != nil }
        out.u32(sids.count)
        for (i, sid) in sids {
            out.u32(i + 1)
            try context(sid.context!)
        }
        // 1: fs.
        out.u32(db.fsContexts.count)
        for f in db.fsContexts {
            name(f.name)
            try context(f.fileSystemContext)
            try context(f.fileContext)
        }
        // 2: ports.
        out.u32(db.portcons.count)
        let protocols = ["tcp": 6, "udp": 17, "dccp": 33, "sctp": 132]
        for p in db.portcons {
            out.u32(protocols[p.protocol] ?? 0)
            out.u32(p.low)
            out.u32(p.high)
            try context(p.context)
        }
        // 3: netif.
        out.u32(db.netifcons.count)
        for n in db.netifcons {
            name(n.interface)
            try context(n.interfaceContext)
            try context(n.packetContext)
        }
        // 4: IPv4 nodes.
        try nodes(size: 4)
        // 5: fs_use.
        out.u32(db.fsUses.count)
        for f in db.fsUses {
            out.u32(["fs_use_xattr": 1, "fs_use_trans": 2, "fs_use_task": 3][f.behavior] ?? 0)
            name(f.filesystem)
            try context(f.context)
        }
        guard tables > 6 else { return }
        // 6: IPv6 nodes.
        try nodes(size: 16)
        guard tables > 7 else { return }
        // 7: ibpkeys.
        out.u32(db.ibpkeyContexts.count)
        for k in db.ibpkeyContexts {
            out.raw(k.subnetPrefix)
            out.u32(k.low)
            out.u32(k.high)
            try context(k.context)
        }
        // 8: ibendports.
        out.u32(db.ibendportContexts.count)
        for e in db.ibendportContexts {
            out.u32(e.device.utf8.count)
            out.u32(e.port)
            out.nameBytes(e.device)
            try context(e.context)
        }
    }

    mutating func nodes(size: Int) throws(BinaryPolicyWriteError) {
        let list = db.nodecons.filter { $0.address.bytes.count == size }
        out.u32(list.count)
        for n in list {
            out.raw(n.address.bytes)
            out.raw(n.mask.bytes)
            try context(n.context)
        }
    }

    /// The class of a genfs file-type letter (§3.10).
    func genfsClass(_ letter: String?) throws(BinaryPolicyWriteError) -> Int {
        guard let letter else { return 0 }
        guard let name = BinaryPolicyReader.genfsLetters.first(where: { $0.value == letter })?.key, let value = db.classValues[name] else {
            throw .invalid("genfscon file type -\(letter) has no class in the policy")
        }
        return value
    }

    /// File systems by name; within one, paths by decreasing length (the kernel takes the first
    /// prefix that matches), equal lengths in the database's order (§3.10).
    mutating func writeGenfs() throws(BinaryPolicyWriteError) {
        var byFS: [String: [(path: String, fileType: String?, context: SecurityContext)]] = [:]
        for g in db.genfscons { byFS[g.filesystem, default: []].append((g.path, g.fileType, g.context)) }
        let names = byFS.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        out.u32(names.count)
        for fs in names {
            name(fs)
            let entries = byFS[fs]!.enumerated().sorted { a, b in
                a.element.path.utf8.count != b.element.path.utf8.count
                    ? a.element.path.utf8.count > b.element.path.utf8.count : a.offset < b.offset
            }
            out.u32(entries.count)
            for (_, e) in entries {
                name(e.path)
                out.u32(try genfsClass(e.fileType))
                try context(e.context)
            }
        }
    }
}
