// `ip xfrm` commands given as named options (`salabel xfrm state add --src … --aead … --key …`),
// turned into the words ``IPXfrmSyntax`` reads, in the order `ip xfrm` writes them. A value left
// nil adds no word; a value is passed as it was given, for the parser to check.

/// The options of an `ip xfrm state` command: the SA's key and mode, its algorithms with their
/// keys, its label.
public struct IPXfrmStateOptions: Sendable, Hashable {
    public var src: String?, dst: String?, proto: String?, spi: String?, mode: String?, reqid: String?
    public var replayWindow: String?, mark: String?, ifID: String?
    /// Algorithm names: AEAD (`rfc4106(gcm(aes))`), encryption (`cbc(aes)`), authentication with
    /// truncation (`hmac(sha256)`).
    public var aead: String?, enc: String?, auth: String?
    /// The key of ``aead`` or ``enc``, and of ``auth``: `0x…` hex, `@FILE` or `-`
    /// (``KeyArgument/readKey(_:)``).
    public var key: String?, authKey: String?
    /// The AEAD ICV and the authentication truncation, in bits (default 128 each).
    public var icv: String?, trunc: String?
    /// The SA's security context.
    public var context: String?

    public init(
        src: String? = nil, dst: String? = nil, proto: String? = nil, spi: String? = nil, mode: String? = nil, reqid: String? = nil,
        replayWindow: String? = nil, mark: String? = nil, ifID: String? = nil, aead: String? = nil, enc: String? = nil, auth: String? = nil,
        key: String? = nil, authKey: String? = nil, icv: String? = nil, trunc: String? = nil, context: String? = nil
    ) {
        self.src = src
        self.dst = dst
        self.proto = proto
        self.spi = spi
        self.mode = mode
        self.reqid = reqid
        self.replayWindow = replayWindow
        self.mark = mark
        self.ifID = ifID
        self.aead = aead
        self.enc = enc
        self.auth = auth
        self.key = key
        self.authKey = authKey
        self.icv = icv
        self.trunc = trunc
        self.context = context
    }

    /// `state VERB` and the words of the options, keys read in as `0x…` hex.
    /// - Throws: ``KeyArgument/Failure`` when a key cannot be read, or an algorithm has none.
    public func words(verb: String) throws(KeyArgument.Failure) -> [String] {
        var w = ["state", verb]
        for (word, value) in [
            ("src", src), ("dst", dst), ("proto", proto), ("spi", spi), ("mode", mode), ("reqid", reqid),
            ("replay-window", replayWindow), ("mark", mark), ("if_id", ifID),
        ] {
            if let value { w += [word, value] }
        }
        func read(_ key: String?, of algorithm: String) throws(KeyArgument.Failure) -> String {
            guard let key else { throw KeyArgument.Failure(description: "\(algorithm) needs a key") }
            return try KeyArgument.readKey(key)
        }
        if let aead { w += ["aead", aead, try read(key, of: aead), icv ?? "128"] }
        if let enc { w += ["enc", enc, try read(key, of: enc)] }
        if let auth { w += ["auth-trunc", auth, try read(authKey, of: auth), trunc ?? "128"] }
        if let context { w += ["ctx", context] }
        return w
    }
}

/// The options of an `ip xfrm policy` command: the selector, direction, priority and index, the
/// label, and one template.
public struct IPXfrmPolicyOptions: Sendable, Hashable {
    /// The selector: prefixes, upper-layer protocol, ports.
    public var src: String?, dst: String?, proto: String?, sport: String?, dport: String?
    public var dir: String?, priority: String?, index: String?
    /// The SPD entry's security context.
    public var context: String?
    /// The template (`tmpl src … dst … proto … mode … reqid …`), when any of them is given.
    public var tmplSrc: String?, tmplDst: String?, tmplProto: String?, tmplMode: String?, tmplReqid: String?

    public init(
        src: String? = nil, dst: String? = nil, proto: String? = nil, sport: String? = nil, dport: String? = nil, dir: String? = nil,
        priority: String? = nil, index: String? = nil, context: String? = nil, tmplSrc: String? = nil, tmplDst: String? = nil,
        tmplProto: String? = nil, tmplMode: String? = nil, tmplReqid: String? = nil
    ) {
        self.src = src
        self.dst = dst
        self.proto = proto
        self.sport = sport
        self.dport = dport
        self.dir = dir
        self.priority = priority
        self.index = index
        self.context = context
        self.tmplSrc = tmplSrc
        self.tmplDst = tmplDst
        self.tmplProto = tmplProto
        self.tmplMode = tmplMode
        self.tmplReqid = tmplReqid
    }

    /// `policy VERB` and the words of the options.
    public func words(verb: String) -> [String] {
        var w = ["policy", verb]
        for (word, value) in [
            ("src", src), ("dst", dst), ("proto", proto), ("sport", sport), ("dport", dport), ("dir", dir), ("priority", priority), ("index", index),
        ] {
            if let value { w += [word, value] }
        }
        if let context { w += ["ctx", context] }
        let template = [("src", tmplSrc), ("dst", tmplDst), ("proto", tmplProto), ("mode", tmplMode), ("reqid", tmplReqid)]
        if template.contains(where: { $0.1 != nil }) {
            w.append("tmpl")
            for (word, value) in template { if let value { w += [word, value] } }
        }
        return w
    }
}
