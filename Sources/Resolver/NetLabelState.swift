public import IPsecModel
public import SecurityContexts

/// A kernel's NetLabel configuration, as `netlabelctl` leaves it (net/netlabel): the CIPSO DOIs,
/// the default domain's mappings by destination address, the static (fallback) labels of
/// unlabeled traffic by source address, and the unlabeled accept flag. NetLabel is one per
/// kernel: its tables live in `init_net` only (net/netlabel/netlabel_unlabeled.c: "we always use
/// init's network namespace"), so every namespace of a kernel shares it
/// (Specs/kernel/labeled-ipsec.md, edges 22 and 26).
public struct NetLabelState: Sendable, Hashable {
    /// What the default domain's mapping does to packets for an address (`netlbl_domhsh`).
    public enum Mapping: Sendable, Hashable {
        /// `protocol:unlbl`: no label on the wire.
        case unlabeled
        /// `protocol:cipsov4,DOI`: a CIPSO option of that DOI (IPv4).
        case cipso(doi: UInt32)
        /// `protocol:calipso,DOI`: a CALIPSO hop-by-hop option of that DOI (IPv6).
        case calipso(doi: UInt32)
    }

    /// The pass-through CIPSO DOIs (`cipsov4 add pass doi:N tags:1`): the MLS level and
    /// categories go on the wire untranslated.
    public var cipsoPassDOIs: Set<UInt32> = []
    /// The CALIPSO DOIs (`calipso add pass doi:N`: CALIPSO has pass-through only).
    public var calipsoPassDOIs: Set<UInt32> = []
    /// The default domain's mapping for all addresses (`map add default protocol:…`); `nil` after
    /// `map del default` or when address selectors are used instead.
    public var defaultMapping: Mapping? = .unlabeled
    /// The default domain's address selectors (`map add default address:… protocol:…`), in the
    /// order added; the longest matching prefix applies.
    public var addressMappings: [AddressMapping] = []
    /// Static labels of unlabeled traffic by source address (`unlbl add default address:…
    /// label:…`), the default interface's list (`netlbl_unlhsh_def`).
    public var staticLabels: [StaticLabel] = []
    /// `unlbl accept on|off` (`netlabel_unlabel_acceptflg`, on at boot).
    public var acceptUnlabeled = true

    /// One address selector of the default domain (`netlbl_domaddr4_map`).
    public struct AddressMapping: Sendable, Hashable {
        public var prefix: IPPrefix
        public var mapping: Mapping
        public init(_ prefix: IPPrefix, _ mapping: Mapping) {
            self.prefix = prefix
            self.mapping = mapping
        }
    }

    /// One static label of the default interface (`netlbl_unlhsh_addr4`): traffic from `prefix`
    /// that carries no label of its own is labeled `label`.
    public struct StaticLabel: Sendable, Hashable {
        public var prefix: IPPrefix
        public var label: SecurityContext
        public init(_ prefix: IPPrefix, _ label: SecurityContext) {
            self.prefix = prefix
            self.label = label
        }
    }

    public init() {}

    /// Whether NetLabel counts as configured (`netlbl_enabled`: `netlabel_mgmt_protocount > 0`):
    /// a labeling protocol in a mapping, or a static label (`netlbl_unlhsh_add` counts each).
    /// The accept flag does not count. Configured NetLabel turns the peer checks on
    /// (`selinux_peerlbl_enabled`; Specs/kernel/labeled-ipsec.md, edge 26).
    public var enabled: Bool {
        if let m = defaultMapping, m != .unlabeled { return true }
        return addressMappings.contains { $0.mapping != .unlabeled } || !staticLabels.isEmpty
    }

    /// The DOI of the CIPSO (IPv4) or CALIPSO (IPv6) option a packet to `destination` is labeled
    /// with (`netlbl_skbuff_setattr` / `netlbl_conn_setattr` look the destination up in the default
    /// domain's address list, the most specific prefix first), or `nil` when it leaves without one.
    public func optionDOI(to destination: IPAddress) -> UInt32? {
        guard enabled else { return nil }
        let match = addressMappings.filter { Self.contains($0.prefix, destination) }.max { $0.prefix.length < $1.prefix.length }
        switch match?.mapping ?? defaultMapping {
        case .cipso(let doi)? where destination.family == .inet: return cipsoPassDOIs.contains(doi) ? doi : nil
        case .calipso(let doi)? where destination.family == .inet6: return calipsoPassDOIs.contains(doi) ? doi : nil
        default: return nil
        }
    }

    /// Whether the receiver knows `doi` for a packet of `family` (`cipso_v4_validate`,
    /// `calipso_validate`: an unknown DOI drops the packet).
    public func knows(doi: UInt32, family: IPAddress.Family) -> Bool {
        family == .inet ? cipsoPassDOIs.contains(doi) : calipsoPassDOIs.contains(doi)
    }

    /// What NetLabel says of a packet from `source` (`selinux_netlbl_skbuff_getsid`): with
    /// `cipsoLevel` (the sender's low level, carried in a CIPSO option), a label on the `netmsg`
    /// initial SID's user:role:type with that level as both ends of its range
    /// (`security_netlbl_secattr_to_sid`, `mls_import_netlbl_lvl`); else the most specific static
    /// label for the source (`netlbl_unlabel_getattr`); else no label, or, with the accept flag
    /// off, an error (`-ENOMSG`, which `selinux_skb_peerlbl_sid` turns into `-EACCES`).
    /// NetLabel not configured: no label (type `NETLBL_NLTYPE_NONE`).
    public func arriving(from source: IPAddress, cipsoLevel: LevelSyntax?, netmsg: SecurityContext?) -> Result<NetLabel, NetLabelRefusal> {
        guard enabled else { return .success(.none) }
        if let cipsoLevel, let netmsg {
            var c = netmsg
            c.range = RangeSyntax(low: cipsoLevel)
            if source.family == .inet { return .success(.cipso(c)) }
            // `calipso_opt_getattr` starts at -ENOMSG and only the category mapping sets it to 0:
            // an option without categories fills the attributes but is reported as not found, so
            // `netlbl_skbuff_getattr` goes on to `netlbl_unlabel_getattr`, which keeps them and
            // sets type NETLBL_NLTYPE_UNLABELED: the level is then a fallback label.
            return .success(cipsoLevel.categories.isEmpty ? .fallback(c) : .calipso(c))
        }
        if let s = staticLabels.filter({ Self.contains($0.prefix, source) }).max(by: { $0.prefix.length < $1.prefix.length }) {
            return .success(.fallback(s.label))
        }
        return acceptUnlabeled ? .success(.none) : .failure(NetLabelRefusal(reason: "no label and unlbl accept off: netlbl_unlabel_getattr -ENOMSG"))
    }

    static func contains(_ prefix: IPPrefix, _ address: IPAddress) -> Bool {
        guard prefix.address.family == address.family else { return false }
        let a = prefix.address.bytes, b = address.bytes
        var bits = prefix.length
        for i in a.indices where bits > 0 {
            let mask: UInt8 = bits >= 8 ? 0xff : ~(0xff >> UInt8(bits))
            if a[i] & mask != b[i] & mask { return false }
            bits -= 8
        }
        return true
    }
}

/// NetLabel refuses to say what a packet is (`selinux_netlbl_skbuff_getsid` fails): the packet
/// is dropped before any access check, with no AVC record.
public struct NetLabelRefusal: Error, Sendable, Hashable {
    /// Why, with the kernel function that refuses.
    public var reason: String
}
