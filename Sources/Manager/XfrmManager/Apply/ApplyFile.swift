import Foundation
public import IPsecModel
public import SecurityContexts

/// A `salabel apply` file (YAML): hosts, and labeled SA pairs between them with their policies.
/// Specs/manager/apply.md describes every field; `Examples/apply/echo.yaml` is a complete one.
///
///     hosts:
///       client: { address: 10.0.0.1, netns: client }
///       server: { address: 10.0.0.2, netns: server }
///     associations:
///       - name: echo
///         between: [client, server]          # initiator, responder
///         context: system_u:system_r:echoclient_t:s0
///         policy_context: system_u:object_r:ipsec_spd_t:s0
///         aead: rfc4106(gcm(aes))
///         selector: { proto: tcp, port: 7 }
///     key_file: echo.keys                     # written by `salabel keygen`, mode 0600
public struct ApplyFile: Sendable, Hashable {
    public struct Host: Sendable, Hashable {
        public var name: String
        public var address: IPAddress
        /// A network namespace name (`/run/netns/NAME`) or path to install into.
        public var netns: String?
        /// The host's raw RSA public key in libreswan's form (`0s` and base64, as `ipsec showhostkey
        /// --left --ckaid CKAID` prints it), for IKE associations with `authentication: rsa`.
        public var rsaSigKey: String? = nil
    }

    /// One labeled SA pair (one SA each way) between two hosts, and the policies that use it.
    public struct Association: Sendable, Hashable {
        public var name: String
        /// The initiator and the responder.
        public var between: (String, String)
        /// The label of the initiator→responder SA: the initiator's flows' context (and of the
        /// reverse SA too, unless `replyContext` is given).
        public var context: SecurityContext
        /// The label of the responder→initiator SA: the context the responder's replies are classified with.
        /// For TCP that is the accepted socket's connection context, the responder's user:role:type with the
        /// initiator's MLS range (Specs/kernel/labeled-ipsec.md, edge 23). `nil`: the same as `context`, the
        /// pair an IKE daemon negotiates for one label (the responder's replies then need an association of
        /// their own).
        public var replyContext: SecurityContext?
        /// The label of the SPD entries (`nil`: unlabeled entries).
        public var policyContext: SecurityContext?
        public var proto: IPsecProtocol
        public var mode: XfrmMode
        /// AEAD name (default `rfc4106(gcm(aes))`), or encryption + authentication names.
        public var aead: String?
        public var encryption: String?
        public var authentication: String?
        /// AEAD ICV or authentication truncation, in bits.
        public var icvBits: UInt32
        /// Key length in bits, salt included for AEADs (default 160 for AES-128-GCM + salt,
        /// 128 for encryption, 256 for authentication).
        public var keyBits: UInt32?
        /// SPIs of initiator→responder and responder→initiator (derived from the name when absent).
        public var spis: (UInt32, UInt32)
        public var reqid: UInt32
        /// The upper-layer protocol of the flows (0: any).
        public var upperProtocol: UInt8
        /// The responder's port (0: any).
        public var port: UInt16
        public var priority: UInt32
        /// Both SAs' lifetime limits (`lifetime:` with `ip xfrm state`'s `limit` names); none by default.
        public var lifetime: LifetimeConfig
        /// Who keys the association: salabel with the key file's keys (`static`, the default), or an IKE
        /// daemon (libreswan) that negotiates a child SA per flow label (`keying: ike`).
        public var keying: Keying = .static

        public static func == (a: Association, b: Association) -> Bool {
            a.name == b.name && a.between == b.between && a.context == b.context && a.replyContext == b.replyContext && a.policyContext == b.policyContext
                && a.proto == b.proto && a.mode == b.mode && a.aead == b.aead && a.encryption == b.encryption
                && a.authentication == b.authentication && a.icvBits == b.icvBits && a.keyBits == b.keyBits
                && a.spis == b.spis && a.reqid == b.reqid && a.upperProtocol == b.upperProtocol && a.port == b.port && a.priority == b.priority
                && a.lifetime == b.lifetime && a.keying == b.keying
        }

        public func hash(into h: inout Hasher) { h.combine(name) }
    }

    public var hosts: [String: Host]
    public var associations: [Association]
    /// The key file, relative to the apply file's directory.
    public var keyFile: String

    /// An apply-file error: where in the file and what was expected.
    public struct Error: Swift.Error, Sendable, Hashable, CustomStringConvertible {
        public var path: String
        public var message: String
        public var description: String { path.isEmpty ? message : "\(path): \(message)" }

        public init(path: String, message: String) {
            self.path = path
            self.message = message
        }
    }

    /// What a format that extends the apply file (a scenario) adds: top-level and host fields the
    /// apply file itself does not know (the extension reads them), and whether associations may
    /// be absent.
    public struct Extension: Sendable, Hashable {
        public var topLevelFields: Set<String>
        public var hostFields: Set<String>
        public var associationsOptional: Bool
        /// Whether `keying: ike` (and `ike:`) may be used; a format whose players install only static
        /// SAs (scenarios, today) says no, and the fields are then unknown.
        public var ikeKeying: Bool
        public init(topLevelFields: Set<String> = [], hostFields: Set<String> = [], associationsOptional: Bool = false, ikeKeying: Bool = true) {
            self.topLevelFields = topLevelFields
            self.hostFields = hostFields
            self.associationsOptional = associationsOptional
            self.ikeKeying = ikeKeying
        }
    }

    /// Parses and checks a YAML apply file (or the apply part of a format that extends it).
    public init(yaml text: String, defaultKeyFile: String = "salabel.keys", extension ext: Extension = Extension()) throws(ApplyFile.Error) {
        try self.init(document: try ApplyFile.load(yaml: text), defaultKeyFile: defaultKeyFile, extension: ext)
    }

    /// Parses YAML into the document ``init(document:defaultKeyFile:extension:)`` reads.
    public static func load(yaml text: String) throws(ApplyFile.Error) -> Any? {
        try YAMLDocument.load(text)
    }

    /// Checks an apply file already parsed from YAML (a format that extends it parses once).
    public init(document root: Any?, defaultKeyFile: String = "salabel.keys", extension ext: Extension = Extension()) throws(ApplyFile.Error) {
        guard let top = root as? [String: Any] else { throw Error(path: "", message: "expected a mapping with 'hosts' and 'associations'") }
        let ikeFields: Set<String> = ext.ikeKeying ? ["keying", "ike"] : []
        try ApplyFile.onlyKeys(top, Set(["hosts", "associations", "key_file"]).union(ext.topLevelFields).union(ikeFields), at: "")
        let keyingDefault = try ApplyFile.keyingDefault(top)
        guard let hostMap = top["hosts"] as? [String: Any], !hostMap.isEmpty else { throw Error(path: "hosts", message: "expected a mapping of host names") }
        var hosts: [String: Host] = [:]
        for (name, value) in hostMap {
            let path = "hosts.\(name)"
            guard let h = value as? [String: Any] else { throw Error(path: path, message: "expected { address, netns }") }
            try ApplyFile.onlyKeys(h, Set(["address", "netns"]).union(ext.hostFields).union(ext.ikeKeying ? ["rsasigkey"] : []), at: path)
            guard let a = (h["address"]).map({ "\($0)" }), let address = IPAddress(a) else {
                throw Error(path: "\(path).address", message: "expected an IPv4 or IPv6 address")
            }
            hosts[name] = Host(
                name: name, address: address, netns: h["netns"].map { "\($0)" }, rsaSigKey: try ApplyFile.rsaSigKey(h["rsasigkey"], at: "\(path).rsasigkey"))
        }
        let list: [Any]
        if let l = top["associations"] as? [Any], !l.isEmpty {
            list = l
        } else if ext.associationsOptional && top["associations"] == nil {
            list = []
        } else {
            throw Error(path: "associations", message: "expected a list of associations")
        }
        var associations: [Association] = []
        for (i, value) in list.enumerated() {
            associations.append(try ApplyFile.association(value, at: "associations[\(i)]", hosts: hosts, keying: keyingDefault, ikeFields: ikeFields))
        }
        let names = associations.map(\.name)
        if let dup = names.first(where: { n in names.filter { $0 == n }.count > 1 }) {
            throw Error(path: "associations", message: "the name \(dup) is used twice")
        }
        // An IKE daemon chooses its SPIs: only the static associations' must differ.
        let spis = associations.filter { $0.keying == .static }.flatMap { [$0.spis.0, $0.spis.1] }
        if Set(spis).count != spis.count { throw Error(path: "associations", message: "two SAs share an SPI") }
        self.hosts = hosts
        self.associations = associations
        self.keyFile = (top["key_file"]).map { "\($0)" } ?? defaultKeyFile
    }

    static func onlyKeys(_ map: [String: Any], _ allowed: Set<String>, at path: String) throws(ApplyFile.Error) {
        for key in map.keys where !allowed.contains(key) {
            throw Error(path: path.isEmpty ? key : "\(path).\(key)", message: "unknown field (expected one of \(allowed.sorted().joined(separator: ", ")))")
        }
    }

    private static func number(_ v: Any?, at path: String) throws(ApplyFile.Error) -> UInt32? {
        guard let v else { return nil }
        if let i = v as? Int, i >= 0, i <= Int(UInt32.max) { return UInt32(i) }
        let s = "\(v)"
        let n = s.hasPrefix("0x") ? UInt32(s.dropFirst(2), radix: 16) : UInt32(s)
        guard let n else { throw Error(path: path, message: "expected a number, found \(s)") }
        return n
    }

    private static func association(
        _ value: Any, at path: String, hosts: [String: Host], keying keyingDefault: KeyingDefault, ikeFields: Set<String>
    ) throws(ApplyFile.Error) -> Association {
        guard let a = value as? [String: Any] else { throw Error(path: path, message: "expected a mapping") }
        try onlyKeys(
            a,
            Set([
                "name", "between", "context", "reply_context", "policy_context", "proto", "mode", "aead", "encryption", "authentication",
                "icv", "key_bits", "spi", "reqid", "selector", "priority", "lifetime",
            ]).union(ikeFields), at: path)
        let keying = try keying(a, at: path, default: keyingDefault, hosts: hosts)
        if keying != .static { try checkIKEFields(a, at: path) }
        guard let name = a["name"].map({ "\($0)" }), !name.isEmpty else { throw Error(path: "\(path).name", message: "expected a name") }
        guard let between = a["between"] as? [Any], between.count == 2 else {
            throw Error(path: "\(path).between", message: "expected [initiator, responder]")
        }
        let (h1, h2) = ("\(between[0])", "\(between[1])")
        for h in [h1, h2] where hosts[h] == nil { throw Error(path: "\(path).between", message: "unknown host \(h)") }
        guard h1 != h2 else { throw Error(path: "\(path).between", message: "an association joins two different hosts") }
        guard hosts[h1]!.address.family == hosts[h2]!.address.family else {
            throw Error(path: "\(path).between", message: "\(h1) and \(h2) have addresses of different families")
        }
        func ctx(_ key: String, required: Bool) throws(ApplyFile.Error) -> SecurityContext? {
            guard let v = a[key] else {
                if required { throw Error(path: "\(path).\(key)", message: "expected a security context") }
                return nil
            }
            do { return try SecurityContext(parsing: "\(v)") } catch { throw Error(path: "\(path).\(key)", message: "\(error)") }
        }
        let proto =
            try a["proto"].map { v throws(ApplyFile.Error) -> IPsecProtocol in
                guard let p = IPsecProtocol(name: "\(v)"), p == .esp || p == .ah else { throw Error(path: "\(path).proto", message: "expected esp or ah") }
                return p
            } ?? .esp
        let mode =
            try a["mode"].map { v throws(ApplyFile.Error) -> XfrmMode in
                guard let m = XfrmMode(name: "\(v)"), m == .transport || m == .tunnel else {
                    throw Error(path: "\(path).mode", message: "expected transport or tunnel")
                }
                return m
            } ?? .transport
        var aead = a["aead"].map { "\($0)" }
        let enc = a["encryption"].map { "\($0)" }, auth = a["authentication"].map { "\($0)" }
        if aead == nil && enc == nil && auth == nil { aead = proto == .esp ? "rfc4106(gcm(aes))" : nil }
        if proto == .ah && (aead != nil || enc != nil) { throw Error(path: path, message: "AH has no encryption: use authentication only") }
        if proto == .ah && auth == nil { throw Error(path: "\(path).authentication", message: "AH needs an authentication algorithm") }
        if aead != nil && (enc != nil || auth != nil) { throw Error(path: path, message: "give either aead or encryption/authentication, not both") }
        if proto == .esp && aead == nil && enc == nil { throw Error(path: "\(path).encryption", message: "ESP without an AEAD needs an encryption algorithm") }
        var spis: (UInt32, UInt32)
        if let s = a["spi"] {
            guard let list = s as? [Any], list.count == 2,
                let x = try number(list[0], at: "\(path).spi"), let y = try number(list[1], at: "\(path).spi"), x >= 256, y >= 256, x != y
            else {
                throw Error(path: "\(path).spi", message: "expected [SPI initiator→responder, SPI responder→initiator], two different values ≥ 0x100")
            }
            spis = (x, y)
        } else {
            // Derived from the name so that both hosts compute the same SPIs.
            var h: UInt32 = 2166136261
            for b in name.utf8 { h = (h ^ UInt32(b)) &* 16777619 }
            let base = 0x1000 + (h % 0x0FFF_0000) & ~1
            spis = (base, base + 1)
        }
        var upper: UInt8 = 0, port: UInt16 = 0
        if let sel = a["selector"] {
            guard let s = sel as? [String: Any] else { throw Error(path: "\(path).selector", message: "expected { proto, port }") }
            try onlyKeys(s, ["proto", "port"], at: "\(path).selector")
            switch s["proto"].map({ "\($0)" }) {
            case nil, "any": upper = 0
            case "tcp": upper = 6
            case "udp": upper = 17
            case "icmp": upper = 1
            case let other?: throw Error(path: "\(path).selector.proto", message: "expected tcp, udp, icmp or any, found \(other)")
            }
            if let p = try number(s["port"], at: "\(path).selector.port") {
                guard p <= 65535, upper == 6 || upper == 17 else {
                    throw Error(path: "\(path).selector.port", message: "a port needs proto tcp or udp and is at most 65535")
                }
                port = UInt16(p)
            }
        }
        let icv = try number(a["icv"], at: "\(path).icv") ?? 128
        guard [64, 96, 128, 256].contains(icv) else { throw Error(path: "\(path).icv", message: "expected 64, 96, 128 or 256 bits") }
        do throws(AlgorithmKeyRules.Violation) {
            if let aead { try AlgorithmKeyRules.check(icvBits: icv, algorithm: aead, role: .aead) }
            if let auth { try AlgorithmKeyRules.check(icvBits: icv, algorithm: auth, role: .authentication) }
        } catch {
            throw Error(path: "\(path).icv", message: "\(error)")
        }
        let keyBits = try number(a["key_bits"], at: "\(path).key_bits")
        if let keyBits {
            // key_bits sizes the AEAD key, or the encryption key; keygen writes exactly that many bits.
            guard let name = aead ?? enc else {
                throw Error(path: "\(path).key_bits", message: "key_bits sizes an aead or encryption key; this association has neither")
            }
            guard keyBits % 8 == 0 else { throw Error(path: "\(path).key_bits", message: "\(keyBits) is not a whole number of bytes (a multiple of 8)") }
            do throws(AlgorithmKeyRules.Violation) {
                try AlgorithmKeyRules.check(keyBytes: Int(keyBits / 8), algorithm: name, role: aead != nil ? .aead : .encryption)
            } catch {
                throw Error(path: "\(path).key_bits", message: "\(error)")
            }
        }
        return Association(
            name: name, between: (h1, h2), context: try ctx("context", required: true)!, replyContext: try ctx("reply_context", required: false),
            policyContext: try ctx("policy_context", required: false),
            // An IKE association has no static algorithms: libreswan negotiates them (`ike.esp` proposes).
            proto: proto, mode: mode, aead: keying == .static ? aead : nil, encryption: enc, authentication: auth, icvBits: icv,
            keyBits: keyBits, spis: spis,
            reqid: try number(a["reqid"], at: "\(path).reqid") ?? 0, upperProtocol: upper, port: port,
            priority: try number(a["priority"], at: "\(path).priority") ?? 0,
            lifetime: try lifetime(a["lifetime"], at: "\(path).lifetime"), keying: keying)
    }

    /// The limit names of `ip xfrm state … limit`, each with its field of `xfrm_lifetime_cfg`
    /// (immutable: key paths are not `Sendable`).
    nonisolated(unsafe) static let lifetimeLimits: [(name: String, field: WritableKeyPath<LifetimeConfig, UInt64>)] = [
        ("time-soft", \.softAddExpiresSeconds), ("time-hard", \.hardAddExpiresSeconds),
        ("time-use-soft", \.softUseExpiresSeconds), ("time-use-hard", \.hardUseExpiresSeconds),
        ("byte-soft", \.softByteLimit), ("byte-hard", \.hardByteLimit),
        ("packet-soft", \.softPacketLimit), ("packet-hard", \.hardPacketLimit),
    ]

    /// `lifetime: { packet-soft: N, packet-hard: N, byte-soft: …, time-soft: SECONDS, time-use-hard: … }`:
    /// every limit positive (an absent limit is none: a byte or packet limit of 0 would expire the
    /// SA at its first packet), a soft limit below its hard one (it warns before the SA ends).
    private static func lifetime(_ value: Any?, at path: String) throws(ApplyFile.Error) -> LifetimeConfig {
        var l = LifetimeConfig()
        guard let value else { return l }
        guard let map = value as? [String: Any] else {
            throw Error(path: path, message: "expected a mapping of limits (\(lifetimeLimits.map(\.name).joined(separator: ", ")))")
        }
        try onlyKeys(map, Set(lifetimeLimits.map(\.name)), at: path)
        var given: [String: UInt64] = [:]
        for (name, field) in lifetimeLimits {
            guard let v = map[name] else { continue }
            let text = "\(v)"
            guard let n = (v as? Int).flatMap({ $0 > 0 ? UInt64($0) : nil }) ?? UInt64(text), n > 0, n != .max else {
                throw Error(path: "\(path).\(name)", message: "expected a positive number below 2^64-1 (leave the limit out for none), found \(text)")
            }
            l[keyPath: field] = n
            given[name] = n
        }
        for kind in ["time", "time-use", "byte", "packet"] {
            if let soft = given["\(kind)-soft"], let hard = given["\(kind)-hard"], soft >= hard {
                throw Error(
                    path: "\(path).\(kind)-soft", message: "\(soft) is not below \(kind)-hard \(hard): the soft limit warns before the hard one ends the SA")
            }
        }
        return l
    }
}
