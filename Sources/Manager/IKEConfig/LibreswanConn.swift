public import IPsecModel
public import SecurityContexts

/// One libreswan conn as salabel writes it: an IKEv2 host-to-host conn between this host (`left`)
/// and its peer (`right`) whose child SAs carry SELinux labels. Each property is named after the
/// keyword it becomes (`configs/d.ipsec.conf/*.xml` @v4.10 describes them).
public struct LibreswanConn: Sendable, Hashable {
    /// `type=`: transport or tunnel mode for the child SAs.
    public enum ConnType: String, Sendable, Hashable {
        case transport, tunnel
    }

    /// `authby=`: a pre-shared key (`secret`) or RSA signatures (`rsasig`).
    public enum AuthBy: String, Sendable, Hashable {
        case secret, rsasig
    }

    /// `auto=`: what pluto does when the conn is loaded (`ondemand`: route it, and negotiate on the
    /// first ACQUIRE; `route`: the older name; `add`: only load it; `start`: load it and bring its
    /// IKE SA up at once, childless: a labeled conn has no label to negotiate a child SA for until
    /// an ACQUIRE brings one).
    public enum Auto: String, Sendable, Hashable {
        case ondemand, route, add, start

        /// Whether salabel's loading routes the conn (installs its SPD entries) after adding it.
        /// For `start`, pluto 4.10 would install them only once the IKE SA is up
        /// (`install_sec_label_connection_policies`); routing first leaves no window in which a
        /// flow finds no SPD entry and leaves in the clear.
        public var routes: Bool { self != .add }
        /// Whether salabel's loading also brings the IKE SA up (`ipsec auto --asynchronous --up`).
        public var initiates: Bool { self == .start }
    }

    /// `leftprotoport=`/`rightprotoport=`: an upper-layer protocol and a port (0: any port).
    public struct ProtoPort: Sendable, Hashable {
        public var proto: UInt8
        public var port: UInt16

        public init(proto: UInt8, port: UInt16 = 0) {
            self.proto = proto
            self.port = port
        }

        /// libreswan's form: `tcp`, `udp/7`, `icmp`, or the protocol's number.
        public var written: String {
            let name: String
            switch proto {
            case 6: name = "tcp"
            case 17: name = "udp"
            case 1: name = "icmp"
            default: name = String(proto)
            }
            return port == 0 ? name : "\(name)/\(port)"
        }
    }

    public var name: LibreswanConnName
    public var type: ConnType
    /// This host's address (`left=`).
    public var left: IPAddress
    /// The peer's address (`right=`).
    public var right: IPAddress
    /// `sec-label=`: the SPD entry's generic label; each child SA pluto negotiates carries the label of
    /// the flow whose ACQUIRE started it.
    public var secLabel: SecurityContext
    public var authBy: AuthBy
    /// `leftrsasigkey=`/`rightrsasigkey=`: the hosts' raw RSA public keys (`0s…`), with `authby=rsasig`;
    /// pluto finds this host's private key in its NSS database by the public key.
    public var leftRSASigKey: String?
    public var rightRSASigKey: String?
    public var leftProtoPort: ProtoPort?
    public var rightProtoPort: ProtoPort?
    public var auto: Auto
    /// `esp=`: the ESP proposal; nil for libreswan's defaults.
    public var esp: String?
    /// false: `leftupdown=%disabled`, pluto runs no updown script for the conn (true: libreswan's
    /// default script, which pluto runs through a shell when it routes the conn and adds its SAs).
    public var updown: Bool
    /// `salifetime=`: each child SA's lifetime in seconds; nil for libreswan's default (8 h).
    public var saLifetime: Int?
    /// `rekeymargin=`: how long before expiry pluto negotiates a replacement, in seconds; nil for
    /// libreswan's default (9 min).
    public var rekeyMargin: Int?
    /// `ikelifetime=`: the IKE SA's lifetime in seconds; nil for libreswan's default (8 h).
    public var ikeLifetime: Int?

    public init(
        name: LibreswanConnName, type: ConnType, left: IPAddress, right: IPAddress, secLabel: SecurityContext, authBy: AuthBy = .secret,
        leftProtoPort: ProtoPort? = nil, rightProtoPort: ProtoPort? = nil, auto: Auto = .ondemand, esp: String? = nil,
        leftRSASigKey: String? = nil, rightRSASigKey: String? = nil, updown: Bool = true, saLifetime: Int? = nil, rekeyMargin: Int? = nil,
        ikeLifetime: Int? = nil
    ) {
        self.ikeLifetime = ikeLifetime
        self.updown = updown
        self.saLifetime = saLifetime
        self.rekeyMargin = rekeyMargin
        self.leftRSASigKey = leftRSASigKey
        self.rightRSASigKey = rightRSASigKey
        self.name = name
        self.type = type
        self.left = left
        self.right = right
        self.secLabel = secLabel
        self.authBy = authBy
        self.leftProtoPort = leftProtoPort
        self.rightProtoPort = rightProtoPort
        self.auto = auto
        self.esp = esp
    }

    /// The conn's keywords and values in the order they are written. `ikev2=insist`: labeled IPsec
    /// is IKEv2's (RFC 9478's `TS_SECLABEL`).
    public var keywords: [(keyword: String, value: String)] {
        var out: [(String, String)] = [
            ("type", type.rawValue), ("left", left.description), ("right", right.description), ("ikev2", "insist"),
            ("authby", authBy.rawValue),
        ]
        if let k = leftRSASigKey { out.append(("leftrsasigkey", k)) }
        if let k = rightRSASigKey { out.append(("rightrsasigkey", k)) }
        out.append(("sec-label", secLabel.description))
        if let p = leftProtoPort { out.append(("leftprotoport", p.written)) }
        if let p = rightProtoPort { out.append(("rightprotoport", p.written)) }
        if let esp { out.append(("esp", esp)) }
        if !updown { out.append(("leftupdown", "%disabled")) }
        if let saLifetime { out.append(("salifetime", "\(saLifetime)s")) }
        if let rekeyMargin { out.append(("rekeymargin", "\(rekeyMargin)s")) }
        if let ikeLifetime { out.append(("ikelifetime", "\(ikeLifetime)s")) }
        out.append(("auto", auto.rawValue))
        return out
    }

    /// The conn section: `conn NAME` and a tab-indented `keyword=value` line per keyword.
    /// - Throws: a value libreswan could not read back (``LibreswanValue/written(_:keyword:)``).
    public func text() throws(LibreswanConfigError) -> String {
        var out = "conn \(name.text)\n"
        for (keyword, value) in keywords { out += "\t\(keyword)=\(try LibreswanValue.written(value, keyword: keyword))\n" }
        return out
    }
}
