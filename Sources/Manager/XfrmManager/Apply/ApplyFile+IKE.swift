// `keying: ike` in an apply file: associations that an IKE daemon (libreswan) keys, and the fields
// that make no sense for them (Specs/manager/apply.md, "Associations keyed by IKE").

extension ApplyFile {
    /// Who keys an association.
    public enum Keying: Sendable, Hashable {
        /// salabel installs both SAs with the key file's keys (`keying: static`, the default).
        case `static`
        /// An IKE daemon negotiates a child SA per flow label under the SPD entry's generic label.
        case ike(IKEOptions)
    }

    /// How libreswan authenticates the peers of an IKE association (libreswan's `authby=`).
    public enum IKEAuthentication: String, Sendable, Hashable, CaseIterable {
        /// A pre-shared key from the key file (`authby=secret`, `A B : PSK "…"` in the secrets file).
        case psk
        /// Raw RSA keys (`authby=rsasig`): each host's public key is its `rsasigkey` in the file, its
        /// private key in its own NSS database (`ipsec newhostkey`), where pluto finds it.
        case rsa
    }

    /// What libreswan does with the conn once added (libreswan's `auto=`).
    public enum IKEAuto: String, Sendable, Hashable, CaseIterable {
        /// Routed: the SPD entries are installed and the first packet of a flow triggers negotiation
        /// (an ACQUIRE with the flow's label). The default, and what labeled IPsec needs.
        case ondemand
        /// The older name of `ondemand`.
        case route
        /// Loaded only: nothing is negotiated until someone asks (`ipsec auto --up`).
        case add
        /// Routed as `ondemand`, and the IKE SA brought up at once, with no child SA (libreswan's
        /// childless start: there is no label to negotiate one for until a flow's ACQUIRE brings
        /// it); each label's child SA then needs only a CREATE_CHILD_SA exchange.
        case start
    }

    /// The `ike:` options of an association (or of the whole file, as defaults).
    public struct IKEOptions: Sendable, Hashable {
        public var authentication: IKEAuthentication = .psk
        public var auto: IKEAuto = .ondemand
        /// libreswan's ESP proposal (`esp=`, e.g. `aes_gcm128-null`); nil: libreswan's defaults.
        public var esp: String?
        /// Whether pluto runs its updown script when it routes the conn and installs its SAs (`updown:
        /// false` writes `leftupdown=%disabled`): a host whose IKE daemon may not run a shell, or
        /// needs no routes or firewall rules for a transport conn, turns it off.
        public var updown: Bool
        /// How long each child SA lasts, in seconds (libreswan's `salifetime=`, at most 24 h); nil:
        /// libreswan's default (8 h).
        public var saLifetime: Int?
        /// How long before a child SA expires pluto starts negotiating its replacement, in seconds
        /// (libreswan's `rekeymargin=`, less than the SA lifetime); nil: libreswan's default (9 min).
        /// The same margin applies to the IKE SA.
        public var rekeyMargin: Int?
        /// How long the IKE SA lasts before pluto rekeys it, in seconds (libreswan's `ikelifetime=`, at
        /// most 24 h); nil: libreswan's default (8 h). Its child SAs and their labels stay.
        public var ikeLifetime: Int?

        public init(
            authentication: IKEAuthentication = .psk, auto: IKEAuto = .ondemand, esp: String? = nil, updown: Bool = true, saLifetime: Int? = nil,
            rekeyMargin: Int? = nil, ikeLifetime: Int? = nil
        ) {
            self.authentication = authentication
            self.auto = auto
            self.esp = esp
            self.updown = updown
            self.saLifetime = saLifetime
            self.rekeyMargin = rekeyMargin
            self.ikeLifetime = ikeLifetime
        }
    }

    /// The file's defaults: `keying:` and `ike:` at the top.
    struct KeyingDefault {
        var ike: Bool
        var options: [String: Any]
    }

    static let ikeOptionFields: Set<String> = ["authentication", "auto", "esp", "updown", "salifetime", "rekeymargin", "ikelifetime"]

    /// libreswan's longest `salifetime=` (24 h).
    static let maxSALifetime = 86_400

    /// The fields a static association has and an IKE one has not, each with why.
    static let staticOnlyFields: [(field: String, why: String)] = [
        ("spi", "libreswan chooses the SPIs of the SAs it negotiates"),
        ("aead", "libreswan negotiates the algorithms; propose them with ike.esp (libreswan's esp= syntax)"),
        ("encryption", "libreswan negotiates the algorithms; propose them with ike.esp (libreswan's esp= syntax)"),
        ("authentication", "libreswan negotiates the algorithms; propose them with ike.esp (libreswan's esp= syntax)"),
        ("icv", "libreswan negotiates the algorithms; propose them with ike.esp (libreswan's esp= syntax)"),
        ("key_bits", "libreswan derives the keys from the IKE exchange"),
        ("reqid", "libreswan chooses the reqid of its SAs and SPD entries"),
        ("priority", "libreswan chooses the priority of its SPD entries"),
        ("lifetime", "libreswan keeps the lifetimes of the SAs it negotiates: set ike.salifetime and ike.rekeymargin (seconds)"),
    ]

    static func keyingDefault(_ top: [String: Any]) throws(ApplyFile.Error) -> KeyingDefault {
        let ike = try keyingWord(top["keying"], at: "keying") ?? false
        var options: [String: Any] = [:]
        if let o = top["ike"] {
            guard let map = o as? [String: Any] else {
                throw Error(path: "ike", message: "expected a mapping of IKE options (\(ikeOptionFields.sorted().joined(separator: ", ")))")
            }
            try onlyKeys(map, ikeOptionFields, at: "ike")
            options = map
        }
        return KeyingDefault(ike: ike, options: options)
    }

    /// `static` → false, `ike` → true, absent → nil.
    private static func keyingWord(_ value: Any?, at path: String) throws(ApplyFile.Error) -> Bool? {
        guard let value else { return nil }
        switch "\(value)" {
        case "static": return false
        case "ike": return true
        case let other: throw Error(path: path, message: "expected static or ike, found \(other)")
        }
    }

    /// The association's keying: its own `keying:` or the file's, with its `ike:` options over the file's.
    static func keying(_ a: [String: Any], at path: String, default file: KeyingDefault, hosts: [String: Host]) throws(ApplyFile.Error) -> Keying {
        let ike = try keyingWord(a["keying"], at: "\(path).keying") ?? file.ike
        guard ike else {
            if a["ike"] != nil { throw Error(path: "\(path).ike", message: "IKE options on an association keyed statically (set keying: ike)") }
            return .static
        }
        var merged = file.options
        var origin: [String: String] = Dictionary(uniqueKeysWithValues: file.options.keys.map { ($0, "ike.\($0)") })
        if let o = a["ike"] {
            guard let map = o as? [String: Any] else {
                throw Error(path: "\(path).ike", message: "expected a mapping of IKE options (\(ikeOptionFields.sorted().joined(separator: ", ")))")
            }
            try onlyKeys(map, ikeOptionFields, at: "\(path).ike")
            for (k, v) in map {
                merged[k] = v
                origin[k] = "\(path).ike.\(k)"
            }
        }
        var options = IKEOptions()
        var authenticationPath = "\(path).ike.authentication"
        if let v = merged["authentication"] {
            guard let auth = IKEAuthentication(rawValue: "\(v)") else {
                throw Error(path: origin["authentication"]!, message: "expected psk or rsa, found \(v)")
            }
            options.authentication = auth
            authenticationPath = origin["authentication"]!
        }
        if let v = merged["auto"] {
            guard let auto = IKEAuto(rawValue: "\(v)") else {
                throw Error(path: origin["auto"]!, message: "expected ondemand, route, add or start, found \(v)")
            }
            options.auto = auto
        }
        if let v = merged["esp"] {
            let text = "\(v)"
            // libreswan's proposal words: algorithm names, key sizes and the separators - ; , +
            let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-;,+")
            guard !text.isEmpty, text.count <= 200, text.allSatisfy({ allowed.contains($0) }) else {
                throw Error(path: origin["esp"]!, message: "expected a libreswan ESP proposal such as aes_gcm128-null (letters, digits, _ - ; , +)")
            }
            options.esp = text
        }
        if let v = merged["updown"] {
            switch "\(v)" {
            case "true": options.updown = true
            case "false": options.updown = false
            case let other: throw Error(path: origin["updown"]!, message: "expected true or false, found \(other)")
            }
        }
        for (field, limit) in [("salifetime", maxSALifetime), ("rekeymargin", maxSALifetime - 1), ("ikelifetime", maxSALifetime)] {
            guard let v = merged[field] else { continue }
            guard let seconds = Int("\(v)"), seconds >= 1, seconds <= limit else {
                throw Error(path: origin[field]!, message: "expected a whole number of seconds from 1 to \(limit), found \(v)")
            }
            switch field {
            case "salifetime": options.saLifetime = seconds
            case "rekeymargin": options.rekeyMargin = seconds
            default: options.ikeLifetime = seconds
            }
        }
        for (field, what, life) in [("salifetime", "SA lifetime", options.saLifetime), ("ikelifetime", "IKE SA lifetime", options.ikeLifetime)] {
            guard let life, let margin = options.rekeyMargin, margin >= life else { continue }
            throw Error(
                path: origin["rekeymargin"]!,
                message:
                    "the rekey margin (\(margin) s) must be less than the \(what) (\(life) s, \(field)): pluto starts the replacement that long before expiry")
        }
        if options.authentication == .rsa, let between = a["between"] as? [Any] {
            for h in between.map({ "\($0)" }) where hosts[h] != nil && hosts[h]!.rsaSigKey == nil {
                throw Error(
                    path: authenticationPath,
                    message: "authentication rsa needs each host's public key: hosts.\(h).rsasigkey (ipsec showhostkey --left --ckaid CKAID prints it)")
            }
        }
        return .ike(options)
    }

    /// A host's `rsasigkey`: libreswan's `0s` and base64.
    static func rsaSigKey(_ value: Any?, at path: String) throws(ApplyFile.Error) -> String? {
        guard let value else { return nil }
        let text = "\(value)"
        let base64 = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/=")
        guard text.hasPrefix("0s"), text.count > 2, text.count <= 8192, text.dropFirst(2).allSatisfy({ base64.contains($0) }) else {
            throw Error(path: path, message: "expected a raw RSA public key as libreswan writes it: 0s and base64 (ipsec showhostkey --left --ckaid CKAID)")
        }
        return text
    }

    /// Refuses the fields that make no sense when libreswan keys the association, and requires the
    /// SPD label that its conn carries as `sec-label=`.
    static func checkIKEFields(_ a: [String: Any], at path: String) throws(ApplyFile.Error) {
        for (field, why) in staticOnlyFields where a[field] != nil {
            throw Error(path: "\(path).\(field)", message: "not for an association keyed by IKE: \(why)")
        }
        if let p = a["proto"], "\(p)" != "esp" {
            throw Error(path: "\(path).proto", message: "not yet for an association keyed by IKE: only esp")
        }
        guard a["policy_context"] != nil else {
            throw Error(
                path: "\(path).policy_context",
                message: "an association keyed by IKE needs the SPD entry's label: libreswan's conn carries it as sec-label=")
        }
    }
}
