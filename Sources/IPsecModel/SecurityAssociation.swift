public import SecurityContexts

// The one model of an IPsec Security Association and of an SPD entry that every component of
// salabel uses: the xfrm manager encodes it to netlink and decodes it back, the resolver mirrors
// the kernel's databases with it, the userspace data plane runs it. Field names follow the
// kernel's (include/uapi/linux/xfrm.h); Specs/manager/wire-format.md maps each to its bytes.

/// An IPsec protocol number: `esp` (50), `ah` (51), `comp` (108), or another value kept as is.
public struct IPsecProtocol: RawRepresentable, Sendable, Hashable, Codable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let esp = IPsecProtocol(rawValue: 50)
    public static let ah = IPsecProtocol(rawValue: 51)
    public static let comp = IPsecProtocol(rawValue: 108)
    /// `IPSEC_PROTO_ANY` (255): ESP, AH and IPComp, in flushes.
    public static let any = IPsecProtocol(rawValue: 255)
    /// 0: every SA whatever its protocol, in flushes (what `ip xfrm state flush` sends; the
    /// kernel's `xfrm_id_proto_match` matches 0 against everything).
    public static let all = IPsecProtocol(rawValue: 0)

    /// Whether a flush for this protocol removes an SA of protocol `p` (`xfrm_id_proto_match`).
    public func flushes(_ p: IPsecProtocol) -> Bool {
        self == .all || self == p || (self == .any && (p == .esp || p == .ah || p == .comp))
    }

    /// The iproute2 word (`esp`, `ah`, `comp`, `route2`, `hao`) or the number.
    public var description: String {
        switch rawValue {
        case 50: return "esp"
        case 51: return "ah"
        case 108: return "comp"
        case 43: return "route2"
        case 60: return "hao"
        case 255: return "ipsec-any"
        case 0: return "all"
        default: return String(rawValue)
        }
    }

    public init?(name: String) {
        switch name {
        case "esp": self = .esp
        case "ah": self = .ah
        case "comp": self = .comp
        case "route2": self = IPsecProtocol(rawValue: 43)
        case "hao": self = IPsecProtocol(rawValue: 60)
        case "ipsec-any": self = .any
        default:
            guard let v = UInt8(name) else { return nil }
            self = IPsecProtocol(rawValue: v)
        }
    }
}

/// `XFRM_MODE_*`.
public struct XfrmMode: RawRepresentable, Sendable, Hashable, Codable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let transport = XfrmMode(rawValue: 0)
    public static let tunnel = XfrmMode(rawValue: 1)
    public static let routeOptimization = XfrmMode(rawValue: 2)
    public static let inTrigger = XfrmMode(rawValue: 3)
    public static let beet = XfrmMode(rawValue: 4)

    public var description: String {
        switch rawValue {
        case 0: return "transport"
        case 1: return "tunnel"
        case 2: return "ro"
        case 3: return "in_trigger"
        case 4: return "beet"
        default: return String(rawValue)
        }
    }

    public init?(name: String) {
        switch name {
        case "transport": self = .transport
        case "tunnel": self = .tunnel
        case "ro": self = .routeOptimization
        case "in_trigger": self = .inTrigger
        case "beet": self = .beet
        default: return nil
        }
    }
}

/// A traffic selector (`struct xfrm_selector`): addresses with prefixes, the upper-layer protocol
/// and ports (0 means any), the interface and the owning user.
public struct TrafficSelector: Sendable, Hashable {
    public var source: IPPrefix
    public var destination: IPPrefix
    /// The upper-layer protocol (`IPPROTO_TCP` 6, `IPPROTO_UDP` 17, …); 0 is any.
    public var upperProtocol: UInt8
    public var sourcePort: UInt16
    public var sourcePortMask: UInt16
    public var destinationPort: UInt16
    public var destinationPortMask: UInt16
    public var interfaceIndex: Int32
    public var user: UInt32

    public init(
        source: IPPrefix, destination: IPPrefix, upperProtocol: UInt8 = 0, sourcePort: UInt16 = 0, sourcePortMask: UInt16 = 0,
        destinationPort: UInt16 = 0, destinationPortMask: UInt16 = 0, interfaceIndex: Int32 = 0, user: UInt32 = 0
    ) {
        self.source = source
        self.destination = destination
        self.upperProtocol = upperProtocol
        self.sourcePort = sourcePort
        self.sourcePortMask = sourcePortMask
        self.destinationPort = destinationPort
        self.destinationPortMask = destinationPortMask
        self.interfaceIndex = interfaceIndex
        self.user = user
    }

    /// The selector that matches everything of a family (what iproute2 sends when none is given).
    public static func any(_ family: IPAddress.Family) -> TrafficSelector {
        TrafficSelector(source: IPPrefix(address: .any(family), length: 0)!, destination: IPPrefix(address: .any(family), length: 0)!)
    }

    public var family: IPAddress.Family { destination.address.family }
}

/// Lifetime limits (`struct xfrm_lifetime_cfg`); `UInt64.max` (`XFRM_INF`) means no limit.
public struct LifetimeConfig: Sendable, Hashable {
    public var softByteLimit: UInt64 = .max
    public var hardByteLimit: UInt64 = .max
    public var softPacketLimit: UInt64 = .max
    public var hardPacketLimit: UInt64 = .max
    public var softAddExpiresSeconds: UInt64 = 0
    public var hardAddExpiresSeconds: UInt64 = 0
    public var softUseExpiresSeconds: UInt64 = 0
    public var hardUseExpiresSeconds: UInt64 = 0

    public init() {}
}

/// Current lifetime counters (`struct xfrm_lifetime_cur`), as the kernel reports them.
public struct LifetimeCurrent: Sendable, Hashable {
    public var bytes: UInt64 = 0
    public var packets: UInt64 = 0
    public var addTime: UInt64 = 0
    public var useTime: UInt64 = 0

    public init() {}
}

/// `XFRMA_MARK`: a mark value and mask.
public struct XfrmMark: Sendable, Hashable {
    public var value: UInt32
    public var mask: UInt32

    public init(value: UInt32, mask: UInt32 = 0xFFFF_FFFF) {
        self.value = value
        self.mask = mask
    }
}

/// An algorithm with its key (`struct xfrm_algo`, `xfrm_algo_auth`, `xfrm_algo_aead`).
public struct XfrmAlgorithm: Sendable, Hashable {
    /// The kernel's crypto API name, e.g. `rfc4106(gcm(aes))`, `cbc(aes)`, `hmac(sha256)`.
    public var name: String
    public var key: KeyMaterial
    /// The key length in bits (normally `key.count * 8`).
    public var keyBits: UInt32
    /// `alg_trunc_len` (auth) or `alg_icv_len` (AEAD), in bits; `nil` for encryption-only.
    public var truncationBits: UInt32?

    public init(name: String, key: KeyMaterial, keyBits: UInt32? = nil, truncationBits: UInt32? = nil) {
        self.name = name
        self.key = key
        self.keyBits = keyBits ?? UInt32(key.count * 8)
        self.truncationBits = truncationBits
    }
}

/// The transforms of an SA: an AEAD, or encryption and/or authentication, or compression.
public struct SAAlgorithms: Sendable, Hashable {
    /// `XFRMA_ALG_AEAD`.
    public var aead: XfrmAlgorithm?
    /// `XFRMA_ALG_CRYPT`.
    public var encryption: XfrmAlgorithm?
    /// `XFRMA_ALG_AUTH_TRUNC` (or `XFRMA_ALG_AUTH` from older tools, with `truncationBits` nil).
    public var authentication: XfrmAlgorithm?
    /// `XFRMA_ALG_COMP`.
    public var compression: XfrmAlgorithm?

    public init(aead: XfrmAlgorithm? = nil, encryption: XfrmAlgorithm? = nil, authentication: XfrmAlgorithm? = nil, compression: XfrmAlgorithm? = nil) {
        self.aead = aead
        self.encryption = encryption
        self.authentication = authentication
        self.compression = compression
    }

    public var isEmpty: Bool { aead == nil && encryption == nil && authentication == nil && compression == nil }
}

/// UDP encapsulation (`struct xfrm_encap_tmpl`, RFC 3948 ESP-in-UDP is type 2).
public struct UDPEncapsulation: Sendable, Hashable {
    public var type: UInt16
    public var sourcePort: UInt16
    public var destinationPort: UInt16
    public var originalAddress: IPAddress?

    public init(type: UInt16 = 2, sourcePort: UInt16, destinationPort: UInt16, originalAddress: IPAddress? = nil) {
        self.type = type
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.originalAddress = originalAddress
    }
}

/// The identity of an SA: destination, SPI, protocol (`struct xfrm_usersa_id`); the kernel's SAD
/// key together with the mark.
public struct SAIdentifier: Sendable, Hashable, CustomStringConvertible {
    public var destination: IPAddress
    public var spi: UInt32
    public var proto: IPsecProtocol

    public init(destination: IPAddress, spi: UInt32, proto: IPsecProtocol) {
        self.destination = destination
        self.spi = spi
        self.proto = proto
    }

    public var description: String { "dst \(destination) proto \(proto) spi 0x\(String(spi, radix: 16, uppercase: false))" }
}

/// A Security Association (`struct xfrm_usersa_info` and its attributes).
public struct SecurityAssociation: Sendable, Hashable {
    public var source: IPAddress
    public var destination: IPAddress
    public var spi: UInt32
    public var proto: IPsecProtocol
    public var mode: XfrmMode
    public var reqid: UInt32
    /// The replay window (`replay_window`, in packets; 0 disables replay protection unless ESN).
    public var replayWindow: UInt8
    /// `XFRM_STATE_*` flags (`XFRM_STATE_ESN` 128 among them).
    public var flags: UInt8
    /// The extended replay window in packets, sent as `XFRMA_REPLAY_ESN_VAL` (for ESN or windows
    /// over 255).
    public var replayWindowESN: UInt32?
    public var selector: TrafficSelector
    public var lifetime: LifetimeConfig
    public var current: LifetimeCurrent
    public var algorithms: SAAlgorithms
    public var encapsulation: UDPEncapsulation?
    public var mark: XfrmMark?
    public var interfaceID: UInt32?
    /// The security context (`XFRMA_SEC_CTX`), the SA's label. `nil` means unlabeled.
    public var securityContext: SecurityContext?
    /// The kernel's sequence number field (ACQUIRE sequence for larval SAs).
    public var sequence: UInt32

    public init(
        source: IPAddress, destination: IPAddress, spi: UInt32, proto: IPsecProtocol = .esp, mode: XfrmMode = .transport,
        reqid: UInt32 = 0, replayWindow: UInt8 = 0, flags: UInt8 = 0, replayWindowESN: UInt32? = nil,
        selector: TrafficSelector? = nil, lifetime: LifetimeConfig = LifetimeConfig(), algorithms: SAAlgorithms = SAAlgorithms(),
        encapsulation: UDPEncapsulation? = nil, mark: XfrmMark? = nil, interfaceID: UInt32? = nil,
        securityContext: SecurityContext? = nil, sequence: UInt32 = 0
    ) {
        self.source = source
        self.destination = destination
        self.spi = spi
        self.proto = proto
        self.mode = mode
        self.reqid = reqid
        self.replayWindow = replayWindow
        self.flags = flags
        self.replayWindowESN = replayWindowESN
        self.selector =
            selector
            ?? TrafficSelector(
                source: IPPrefix(address: .any(destination.family), length: 0)!,
                destination: IPPrefix(address: .any(destination.family), length: 0)!)
        self.lifetime = lifetime
        self.current = LifetimeCurrent()
        self.algorithms = algorithms
        self.encapsulation = encapsulation
        self.mark = mark
        self.interfaceID = interfaceID
        self.securityContext = securityContext
        self.sequence = sequence
    }

    public var identifier: SAIdentifier { SAIdentifier(destination: destination, spi: spi, proto: proto) }
    public var family: IPAddress.Family { destination.family }

    /// `XFRM_STATE_ESN`: extended sequence numbers.
    public static let flagESN: UInt8 = 128
    public var usesESN: Bool { flags & SecurityAssociation.flagESN != 0 }
}

/// `XFRM_POLICY_IN`/`OUT`/`FWD`.
public enum PolicyDirection: UInt8, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    case `in` = 0
    case out = 1
    case fwd = 2

    public var description: String { ["in", "out", "fwd"][Int(rawValue)] }

    public init?(name: String) {
        switch name {
        case "in": self = .in
        case "out": self = .out
        case "fwd": self = .fwd
        default: return nil
        }
    }
}

/// `XFRM_POLICY_ALLOW`/`BLOCK`.
public enum PolicyAction: UInt8, Sendable, Hashable, Codable, CustomStringConvertible {
    case allow = 0
    case block = 1

    public var description: String { self == .allow ? "allow" : "block" }
}

/// A template of an SPD entry (`struct xfrm_user_tmpl`): which SA the traffic must use.
public struct PolicyTemplate: Sendable, Hashable {
    public var source: IPAddress
    public var destination: IPAddress
    /// 0 in an outbound labeled template: the SA is found by its label, not its SPI.
    public var spi: UInt32
    public var proto: IPsecProtocol
    public var mode: XfrmMode
    public var reqid: UInt32
    public var share: UInt8
    /// `level use` (1) rather than `level required` (0).
    public var optional: Bool
    public var authAlgorithms: UInt32
    public var encryptionAlgorithms: UInt32
    public var compressionAlgorithms: UInt32

    public init(
        source: IPAddress, destination: IPAddress, spi: UInt32 = 0, proto: IPsecProtocol = .esp, mode: XfrmMode = .transport,
        reqid: UInt32 = 0, share: UInt8 = 0, optional: Bool = false,
        authAlgorithms: UInt32 = .max, encryptionAlgorithms: UInt32 = .max, compressionAlgorithms: UInt32 = .max
    ) {
        self.source = source
        self.destination = destination
        self.spi = spi
        self.proto = proto
        self.mode = mode
        self.reqid = reqid
        self.share = share
        self.optional = optional
        self.authAlgorithms = authAlgorithms
        self.encryptionAlgorithms = encryptionAlgorithms
        self.compressionAlgorithms = compressionAlgorithms
    }

    public var family: IPAddress.Family { destination.family }
}

/// An SPD entry (`struct xfrm_userpolicy_info` and its attributes).
public struct PolicyEntry: Sendable, Hashable {
    public var selector: TrafficSelector
    public var direction: PolicyDirection
    public var priority: UInt32
    /// The kernel-assigned index (0 when asking the kernel to assign one).
    public var index: UInt32
    public var action: PolicyAction
    /// `XFRM_POLICY_LOCALOK` (1), `XFRM_POLICY_ICMP` (2).
    public var flags: UInt8
    public var share: UInt8
    public var lifetime: LifetimeConfig
    public var current: LifetimeCurrent
    public var templates: [PolicyTemplate]
    public var mark: XfrmMark?
    public var interfaceID: UInt32?
    /// The security context (`XFRMA_SEC_CTX`); `nil` means unlabeled (matches every flow).
    public var securityContext: SecurityContext?
    /// `XFRM_POLICY_TYPE_MAIN` (0) or `SUB` (1), from `XFRMA_POLICY_TYPE`.
    public var policyType: UInt8
    /// A per-socket policy (set with `setsockopt(IP_XFRM_POLICY)`, as IKE daemons do to let their own
    /// packets bypass IPsec): the kernel dumps it with `dir` = `XFRM_POLICY_MAX` (3) + its direction,
    /// and iproute2 prints `socket in`/`socket out`. It applies to its socket only, never to another
    /// flow's SPD lookup (Specs/manager/wire-format.md, "Per-socket policies in a dump").
    public var isSocketPolicy: Bool

    public init(
        selector: TrafficSelector, direction: PolicyDirection, priority: UInt32 = 0, index: UInt32 = 0, action: PolicyAction = .allow,
        flags: UInt8 = 0, share: UInt8 = 0, lifetime: LifetimeConfig = LifetimeConfig(), templates: [PolicyTemplate] = [],
        mark: XfrmMark? = nil, interfaceID: UInt32? = nil, securityContext: SecurityContext? = nil, policyType: UInt8 = 0,
        isSocketPolicy: Bool = false
    ) {
        self.selector = selector
        self.direction = direction
        self.priority = priority
        self.index = index
        self.action = action
        self.flags = flags
        self.share = share
        self.lifetime = lifetime
        self.current = LifetimeCurrent()
        self.templates = templates
        self.mark = mark
        self.interfaceID = interfaceID
        self.securityContext = securityContext
        self.policyType = policyType
        self.isSocketPolicy = isSocketPolicy
    }
}
