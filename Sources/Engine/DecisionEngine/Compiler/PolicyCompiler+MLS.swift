import SecurityContexts
import SELinuxPolicy

// MLS declarations (sensitivity, dominance, category, level), users with their levels and ranges,
// range_transition, and the labeling statements whose contexts are validated against all of it.

extension PolicyCompiler {
    mutating func compileMLSDeclarations(_ statements: [PolicyStatement]) throws(PolicyError) {
        guard !statements.isEmpty else { return }
        var declared: [(name: String, aliases: [String], loc: SourceLocation)] = []
        var dominance: [String]?
        var categories: [MLSVocabulary.Category] = []
        var levels: [(LevelSyntax, SourceLocation)] = []
        for st in statements {
            switch st.kind {
            case .sensitivity(let name, let aliases): declared.append((name, aliases, st.location))
            case .dominance(let order):
                guard dominance == nil else { throw PolicyError("dominance is defined twice", at: st.location) }
                dominance = order
            case .category(let name, let aliases): categories.append(.init(name, aliases: aliases))
            case .level(let level): levels.append((level, st.location))
            default: break
            }
        }
        let first = statements[0].location
        guard !declared.isEmpty else { throw PolicyError("MLS statements without any sensitivity", at: first) }
        guard let dominance else { throw PolicyError("sensitivities are declared but no dominance order is given", at: declared[0].loc) }
        var ordered: [MLSVocabulary.Sensitivity] = []
        for name in dominance {
            guard let d = declared.first(where: { $0.name == name || $0.aliases.contains(name) }) else {
                throw PolicyError("unknown sensitivity \(name) in dominance", at: first)
            }
            guard !ordered.contains(where: { $0.name == d.name }) else {
                throw PolicyError("sensitivity \(name) appears twice in dominance", at: first)
            }
            ordered.append(.init(d.name, aliases: d.aliases))
        }
        for d in declared where !ordered.contains(where: { $0.name == d.name }) {
            throw PolicyError("sensitivity \(d.name) is not in the dominance order", at: d.loc)
        }
        let vocabulary: MLSVocabulary
        do {
            vocabulary = try MLSVocabulary(sensitivities: ordered, categories: categories, levels: levels.map(\.0))
        } catch {
            throw PolicyError(error.description, at: levels.first?.1 ?? first)
        }
        let defined = Set(levels.compactMap { vocabulary.sensitivity(named: $0.0.sensitivity) })
        for (i, s) in ordered.enumerated() where !defined.contains(i) {
            throw PolicyError("sensitivity \(s.name) is not used in a level definition", at: declared.first { $0.name == s.name }!.loc)
        }
        db.mls = vocabulary
    }

    /// Resolves a range written in the policy source (category ranges like `c3.c3` allowed, as
    /// checkpolicy allows them).
    func policyRange(_ range: RangeSyntax, at loc: SourceLocation) throws(PolicyError) -> MLSRange {
        guard let mls = db.mls else { throw PolicyError("an MLS range in a policy without MLS", at: loc) }
        do { return try mls.resolve(range, rule: .policySource) } catch { throw PolicyError(error.description, at: loc) }
    }

    mutating func compileRangeTransition(_ sources: NameSet, _ targets: NameSet, _ classes: NameSet?, _ range: RangeSyntax, at loc: SourceLocation)
        throws(PolicyError)
    {
        let r = try policyRange(range, at: loc)
        guard db.mls!.isValid(r) else { throw PolicyError("invalid range in range_transition", at: loc) }
        let srcs = try concreteTypes(sources, at: loc).members
        let tgts = try concreteTypes(targets, at: loc).members
        for c in try classValueList(classes ?? .single("process"), at: loc) {
            for s in srcs {
                for t in tgts {
                    let key = AVTable.key(source: s, target: t, classValue: c)
                    if let old = db.rangeTransitions[key], old != r {
                        throw PolicyError("conflicting range_transition for \(db.types[s].name) \(db.types[t].name):\(db.classes[c - 1].name)", at: loc)
                    }
                    db.rangeTransitions[key] = r
                }
            }
        }
    }

    mutating func compileUser(_ st: PolicyStatement) throws(PolicyError) {
        guard case .user(let name, let roles, let level, let range) = st.kind else { return }
        let loc = st.location
        let u = db.userIndex[name]!
        db.users[u].roles = Bitset(try roleValues(roles, at: loc))
        if let mls = db.mls {
            guard let level, let range else { throw PolicyError("user \(name) needs a level and a range in an MLS policy", at: loc) }
            let r = try policyRange(range, at: loc)
            let l: MLSLevel
            do { l = try mls.resolve(level, rule: .policySource) } catch { throw PolicyError(error.description, at: loc) }
            guard r.contains(l) else {
                throw PolicyError("default level \(mls.text(l)) of user \(name) is not within its range \(mls.text(r))", at: loc)
            }
            db.users[u].defaultLevel = l
            db.users[u].range = r
        } else if level != nil || range != nil {
            throw PolicyError("user \(name) has a level or range in a policy without MLS", at: loc)
        }
    }

    mutating func compileLabeling(_ st: PolicyStatement) throws(PolicyError) {
        let loc = st.location
        switch st.kind {
        case .initialSIDContext(let name, let context):
            guard let i = db.initialSIDs.firstIndex(where: { $0.name == name }) else {
                throw PolicyError("initial SID \(name) is not declared", at: loc)
            }
            guard db.initialSIDs[i].context == nil else { throw PolicyError("initial SID \(name) has two contexts", at: loc) }
            db.initialSIDs[i].context = try labelContext(context, at: loc)
        case .portcon(let proto, let low, let high, let context):
            guard ["tcp", "udp", "dccp", "sctp"].contains(proto) else { throw PolicyError("unknown protocol \(proto) in portcon", at: loc) }
            guard 0 <= low, low <= high, high <= 65535 else { throw PolicyError("invalid port range \(low)-\(high)", at: loc) }
            if db.portcons.contains(where: { $0.protocol == proto && $0.low == low && $0.high == high }) {
                throw PolicyError("duplicate portcon \(proto) \(low)-\(high)", at: loc)
            }
            db.portcons.append(PortContext(protocol: proto, low: low, high: high, context: try labelContext(context, at: loc)))
        case .netifcon(let interface, let ifContext, let packetContext):
            if db.netifcons.contains(where: { $0.interface == interface }) { throw PolicyError("duplicate netifcon \(interface)", at: loc) }
            db.netifcons.append(
                NetifContext(
                    interface: interface, interfaceContext: try labelContext(ifContext, at: loc),
                    packetContext: try labelContext(packetContext, at: loc)))
        case .nodecon(let address, let mask, let context):
            guard address.bytes.count == mask.bytes.count else { throw PolicyError("nodecon address and mask are of different families", at: loc) }
            let node = NodeContext(address: address, mask: mask, context: try labelContext(context, at: loc))
            // The kernel takes the first match, so checkpolicy orders nodes most specific first,
            // equal masks in source order: before the first entry of the same family whose mask
            // is smaller, compared as checkpolicy compares them (Specs/engine/binary-policy.md §3.9).
            let at = db.nodecons.firstIndex { $0.mask.bytes.count == mask.bytes.count && Self.nodeMaskOrder(mask, isAbove: $0.mask) }
            db.nodecons.insert(node, at: at ?? db.nodecons.endIndex)
        case .fscon(let major, let minor, let fileSystemContext, let fileContext):
            // `%02x:%02x`, as checkpolicy names it.
            func hex(_ v: UInt32) -> String { String(v, radix: 16).count < 2 ? "0" + String(v, radix: 16) : String(v, radix: 16) }
            let name = hex(major) + ":" + hex(minor)
            if db.fsContexts.contains(where: { $0.name == name }) { throw PolicyError("duplicate fscon for file system \(name)", at: loc) }
            db.fsContexts.append(
                FSContext(
                    name: name, fileSystemContext: try labelContext(fileSystemContext, at: loc), fileContext: try labelContext(fileContext, at: loc)))
        case .ibpkeycon(let prefix, let low, let high, let context):
            if db.ibpkeyContexts.contains(where: { $0.subnetPrefix == prefix && $0.low == low && $0.high == high }) {
                throw PolicyError("duplicate ibpkeycon for partition keys \(low)-\(high)", at: loc)
            }
            db.ibpkeyContexts.append(IBPKeyContext(subnetPrefix: prefix, low: low, high: high, context: try labelContext(context, at: loc)))
        case .ibendportcon(let device, let port, let context):
            if db.ibendportContexts.contains(where: { $0.device == device && $0.port == port }) {
                throw PolicyError("duplicate ibendportcon for \(device) port \(port)", at: loc)
            }
            db.ibendportContexts.append(IBEndportContext(device: device, port: port, context: try labelContext(context, at: loc)))
        case .genfscon(let fs, let path, let fileType, let context):
            db.genfscons.append((fs, path, fileType, try labelContext(context, at: loc)))
        case .fsUse(let behavior, let fs, let context):
            db.fsUses.append((behavior, fs, try labelContext(context, at: loc)))
        case .otherLabeling(let keyword, let tokens):
            db.otherLabeling.append((keyword, tokens))
        default:
            break
        }
    }

    /// checkpolicy's order of node masks: IPv4 masks compared as the 32-bit words it stores (network
    /// byte order read as a little-endian integer), IPv6 masks bytewise (`memcmp`).
    static func nodeMaskOrder(_ a: NodeAddress, isAbove b: NodeAddress) -> Bool {
        guard a.bytes.count == 4 else { return b.bytes.lexicographicallyPrecedes(a.bytes) }
        func word(_ x: NodeAddress) -> UInt32 { x.bytes.enumerated().reduce(0) { $0 | UInt32($1.element) << UInt32(8 * $1.offset) } }
        return word(a) > word(b)
    }

    /// A labeling statement's context, validated as checkpolicy validates it; kept with the
    /// canonical MLS form.
    private func labelContext(_ context: SecurityContext, at loc: SourceLocation) throws(PolicyError) -> SecurityContext {
        do {
            let resolved = try db.resolve(context, categoryRule: .policySource)
            return db.context(resolved)
        } catch {
            throw PolicyError(error.description, at: loc)
        }
    }
}
