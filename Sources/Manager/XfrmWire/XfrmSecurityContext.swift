public import SecurityContexts

/// `struct xfrm_user_sec_ctx` and the context bytes after it: the payload of `XFRMA_SEC_CTX`
/// (Specs/kernel/layouts.md §1.2 and §3; Specs/kernel/labeled-ipsec.md §d).
///
/// ```
/// 0 len      __u16  host order; 8 + ctx_len
/// 2 exttype  __u16  host order; XFRMA_SEC_CTX (8), ignored by the kernel on input
/// 4 ctx_alg  __u8   XFRM_SC_ALG_SELINUX 1   (alg comes before doi)
/// 5 ctx_doi  __u8   XFRM_SC_DOI_LSM 1
/// 6 ctx_len  __u16  host order; the number of context bytes that follow
/// 8 the context, ctx_len bytes
/// ```
///
/// Decoding keeps every field and byte as received, so decode → encode is the identity.
public struct XfrmUserSecCtx: Hashable, Sendable {
    public static let headerSize = 8
    public static let cName = "xfrm_user_sec_ctx"
    /// `XFRM_SC_DOI_LSM`.
    public static let doiLSM: UInt8 = 1
    /// `XFRM_SC_ALG_SELINUX`.
    public static let algSELinux: UInt8 = 1
    /// The kernel refuses `ctx_len >= PAGE_SIZE` (4096 on x86-64) with `ENOMEM`.
    public static let contextLengthLimit = 4096

    /// `exttype`.
    public var exttype: UInt16
    /// `ctx_alg`.
    public var alg: UInt8
    /// `ctx_doi`.
    public var doi: UInt8
    /// The `ctx_len` context bytes, NULs included.
    public var contextBytes: [UInt8]

    /// The kernel's form of a context, as iproute2 writes it (form A): the string, then one NUL that
    /// `ctx_len` counts; DOI 1, ALG 1, `exttype` 8.
    ///
    /// - Throws: ``XfrmWireError/Code/nulInContext`` for a NUL inside the text,
    ///   ``XfrmWireError/Code/emptyContext`` for an empty one, and
    ///   ``XfrmWireError/Code/contextTooLong`` when the text and its NUL are 4096 bytes or more. A
    ///   context is never truncated.
    public init(text: String) throws(XfrmWireError) {
        let utf8 = Array(text.utf8)
        if let nul = utf8.firstIndex(of: 0) {
            throw XfrmWireError(.nulInContext, at: nul, "security context: expected no NUL inside the context, found one at byte \(nul)")
        }
        guard !utf8.isEmpty else { throw XfrmWireError(.emptyContext, at: 0, "security context: expected at least one byte") }
        guard utf8.count + 1 < Self.contextLengthLimit else {
            throw XfrmWireError(
                .contextTooLong, at: 0,
                "security context: expected at most 4095 bytes with the NUL (ctx_len < PAGE_SIZE), found \(utf8.count + 1)")
        }
        self.exttype = 8
        self.alg = Self.algSELinux
        self.doi = Self.doiLSM
        self.contextBytes = utf8 + [0]
    }

    /// A context from the shared model, in form A.
    public init(_ context: SecurityContext) throws(XfrmWireError) {
        try self.init(text: context.description)
    }

    /// A raw context re-emitted exactly as it was received (its DOI, ALG and bytes).
    /// - Throws: ``XfrmWireError/Code/contextTooLong`` when the bytes do not fit a netlink attribute.
    public init(_ raw: RawSecurityContext) throws(XfrmWireError) {
        guard raw.bytes.count <= 65535 - 4 - Self.headerSize else {
            throw XfrmWireError(.contextTooLong, at: 0, "security context: \(raw.bytes.count) bytes do not fit an attribute")
        }
        self.exttype = 8
        self.alg = raw.algorithm
        self.doi = raw.doi
        self.contextBytes = raw.bytes
    }

    /// Creates the struct field by field.
    public init(exttype: UInt16 = 8, alg: UInt8, doi: UInt8, contextBytes: [UInt8]) {
        self.exttype = exttype
        self.alg = alg
        self.doi = doi
        self.contextBytes = contextBytes
    }

    /// Decodes an attribute payload.
    /// - Throws: ``XfrmWireError/Code/truncatedStruct`` below 8 bytes;
    ///   ``XfrmWireError/Code/securityContextLengthMismatch`` unless `len` = 8 + `ctx_len` = the
    ///   payload length.
    public init(payload bytes: [UInt8]) throws(XfrmWireError) {
        self = try bytes.withUnsafeBytesThrowing { raw throws(XfrmWireError) in try Self(payload: raw) }
    }

    /// Decodes an attribute payload read in place.
    public init(payload bytes: UnsafeRawBufferPointer) throws(XfrmWireError) {
        var r = try StructReader(bytes, at: 0, size: Self.headerSize, name: Self.cName)
        let len: UInt16 = r.host()  // 0
        exttype = r.host()  // 2
        alg = r.u8()  // 4
        doi = r.u8()  // 5
        let ctxLen: UInt16 = r.host()  // 6
        guard Int(len) == Self.headerSize + Int(ctxLen) else {
            throw XfrmWireError(.securityContextLengthMismatch, at: 0, "\(Self.cName): expected len = 8 + ctx_len = \(8 + Int(ctxLen)), found \(len)")
        }
        guard Int(len) == bytes.count else {
            throw XfrmWireError(
                .securityContextLengthMismatch, at: 0,
                "\(Self.cName): expected len \(len) to fill the \(bytes.count)-byte attribute payload")
        }
        contextBytes = Array(bytes[Self.headerSize...])  // 8
    }

    /// The attribute payload.
    public var encoded: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Self.headerSize + contextBytes.count)
        bytes.appendHost(UInt16(truncatingIfNeeded: Self.headerSize + contextBytes.count))
        bytes.appendHost(exttype)
        bytes.append(alg)
        bytes.append(doi)
        bytes.appendHost(UInt16(truncatingIfNeeded: contextBytes.count))
        bytes.append(contentsOf: contextBytes)
        return bytes
    }

    /// The context without its trailing NULs (none, one as iproute2 sends, two as kernels with
    /// commit 86c8db86af43 echo).
    public var textBytes: [UInt8] {
        var end = contextBytes.count
        while end > 0 && contextBytes[end - 1] == 0 { end -= 1 }
        return Array(contextBytes[..<end])
    }

    /// What the attribute says: an SELinux context when DOI and ALG are 1 and the bytes (trailing
    /// NULs removed) parse as one; otherwise the raw bytes, neither dropped nor invented.
    public var label: XfrmSecurityLabel {
        let text = textBytes
        if doi == Self.doiLSM, alg == Self.algSELinux, !text.isEmpty, !text.contains(0),
            text.count < Self.contextLengthLimit, let context = try? SecurityContext(bytes: text)
        {
            return .selinux(context)
        }
        return .raw(RawSecurityContext(doi: doi, algorithm: alg, bytes: contextBytes))
    }
}

/// A security context the codec could not read as an SELinux context: another DOI or algorithm,
/// an empty or unparseable string, an embedded NUL. Kept as received.
public struct RawSecurityContext: Hashable, Sendable, CustomStringConvertible {
    /// `ctx_doi`.
    public var doi: UInt8
    /// `ctx_alg`.
    public var algorithm: UInt8
    /// The `ctx_len` bytes as received, NULs included.
    public var bytes: [UInt8]

    public init(doi: UInt8, algorithm: UInt8, bytes: [UInt8]) {
        self.doi = doi
        self.algorithm = algorithm
        self.bytes = bytes
    }

    /// The bytes without trailing NULs, as text (invalid UTF-8 replaced).
    public var text: String {
        var end = bytes.count
        while end > 0 && bytes[end - 1] == 0 { end -= 1 }
        return String(decoding: bytes[..<end], as: UTF8.self)
    }

    /// `doi 1 alg 1 "…"`.
    public var description: String { "doi \(doi) alg \(algorithm) \"\(text)\"" }
}

/// The label an `XFRMA_SEC_CTX` carries.
public enum XfrmSecurityLabel: Hashable, Sendable, CustomStringConvertible {
    /// DOI 1, ALG 1, a valid context.
    case selinux(SecurityContext)
    /// Anything else, as received.
    case raw(RawSecurityContext)

    /// The SELinux context, if it is one.
    public var context: SecurityContext? {
        if case .selinux(let context) = self { return context }
        return nil
    }

    public var description: String {
        switch self {
        case .selinux(let context): context.description
        case .raw(let raw): raw.description
        }
    }
}
