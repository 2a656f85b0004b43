import Foundation
public import IPsecModel

/// The keys of an apply file's SAs, shared by both hosts the way setkey files are: a YAML file with
/// mode 0600, one entry per association and direction. `salabel keygen` writes it with fresh keys
/// from OpenSSL's RNG; `salabel apply` reads it (and writes it first when it does not exist).
///
///     echo:
///       forward: { aead: 0x… }                   # initiator → responder
///       reverse: { aead: 0x… }
public struct KeyFile: Sendable, Hashable {
    /// The keys of one SA: an AEAD key, or encryption and/or authentication keys.
    public struct Keys: Sendable, Hashable {
        public var aead: KeyMaterial?
        public var encryption: KeyMaterial?
        public var authentication: KeyMaterial?
    }

    /// Association name → (initiator→responder, responder→initiator).
    public var keys: [String: (forward: Keys, reverse: Keys)]
    /// Association name → the pre-shared key of an association keyed by IKE (`name: { psk: 0x… }`),
    /// which libreswan authenticates the peers with.
    public var psks: [String: KeyMaterial] = [:]

    /// The bytes of a fresh pre-shared key: 256 bits.
    public static let pskBytes = 32

    public static func == (a: KeyFile, b: KeyFile) -> Bool {
        a.keys.count == b.keys.count && a.keys.allSatisfy { k, v in b.keys[k].map { $0.forward == v.forward && $0.reverse == v.reverse } ?? false }
            && a.psks == b.psks
    }

    public func hash(into h: inout Hasher) { h.combine(keys.count) }

    /// Default key sizes in bits: the smallest length `AlgorithmKeyRules` allows for the
    /// algorithm (AEAD `rfc4106(gcm(aes))` AES-128 + 32-bit salt = 160, `cbc(aes)` 128,
    /// `hmac(sha256)` 256 per RFC 4868, `hmac(sha1)` 160); for an algorithm without a rule 160,
    /// 128 and 256.
    public static func defaultBits(aead: String?, encryption: String?, authentication: String?) -> (aead: Int, encryption: Int, authentication: Int) {
        func bits(_ name: String?, _ role: AlgorithmKeyRules.Role, _ fallback: Int) -> Int {
            name.flatMap { AlgorithmKeyRules.rule(for: $0, role: role)?.keyBytes.first }.map { $0 * 8 } ?? fallback
        }
        let sha1 = authentication == "hmac(sha1)" || authentication == "sha1"  // RFC 2404 §3; no rule (AlgorithmKeyRules)
        return (bits(aead, .aead, 160), bits(encryption, .encryption, 128), bits(authentication, .authentication, sha1 ? 160 : 256))
    }

    /// Fresh keys for every association of `file` that has none in `existing`, from `random`
    /// (OpenSSL's RNG in salabel; a function from a byte count to that many random bytes).
    public static func generate(for file: ApplyFile, keeping existing: KeyFile? = nil, random: (Int) throws -> [UInt8]) rethrows -> KeyFile {
        var out = existing ?? KeyFile(keys: [:])
        for a in file.associations where out.psks[a.name] == nil {
            guard case .ike(let options) = a.keying, options.authentication == .psk else { continue }
            out.psks[a.name] = KeyMaterial(try random(pskBytes))
        }
        for a in file.associations where a.keying == .static && out.keys[a.name] == nil {
            let bits = defaultBits(aead: a.aead, encryption: a.encryption, authentication: a.authentication)
            func one() throws -> Keys {
                Keys(
                    aead: try a.aead.map { _ in KeyMaterial(try random(Int(a.keyBits ?? UInt32(bits.aead)) / 8)) },
                    encryption: try a.encryption.map { _ in KeyMaterial(try random(Int(a.keyBits ?? UInt32(bits.encryption)) / 8)) },
                    authentication: try a.authentication.map { _ in KeyMaterial(try random(bits.authentication / 8)) })
            }
            out.keys[a.name] = (try one(), try one())
        }
        return out
    }

    /// Parses a key file.
    public init(yaml text: String) throws(ApplyFile.Error) {
        do { try self.init(checking: text) } catch {
            // A safety net under the messages below: no run of 8 or more hex digits (a key, or part
            // of one, written where a name was expected) leaves this parser.
            throw ApplyFile.Error(path: Self.redacted(error.path), message: Self.redacted(error.message))
        }
    }

    /// `text` with every run of 8 or more hex digits replaced by `<redacted>`.
    static func redacted(_ text: String) -> String {
        var out = "", run = ""
        func flush() { out += run.count >= 8 ? "<redacted>" : run; run = "" }
        for c in text {
            if c.isHexDigit { run.append(c) } else { flush(); out.append(c) }
        }
        flush()
        return out
    }

    private init(checking text: String) throws(ApplyFile.Error) {
        let root: Any?
        // Errors name positions and fields, never values: any text of this file may be a key.
        do { root = try YAMLDocument.load(text, limits: .keyFile) } catch {
            throw ApplyFile.Error(path: "key file", message: error.path.isEmpty ? error.message : "at \(error.path): \(error.message)")
        }
        guard let top = root as? [String: Any] else { throw ApplyFile.Error(path: "key file", message: "expected a mapping of association names") }
        var keys: [String: (Keys, Keys)] = [:]
        var psks: [String: KeyMaterial] = [:]
        for (name, value) in top {
            if let entry = value as? [String: Any], entry["psk"] != nil {
                guard entry.count == 1, let key = KeyMaterial(hex: "\(entry["psk"]!)"), key.count > 0, key.count <= 1024 else {
                    throw ApplyFile.Error(path: "key file: \(name).psk", message: "expected { psk: 0x… } with a hex key of at most 1024 bytes")
                }
                psks[name] = key
                continue
            }
            guard let dirs = value as? [String: Any], let f = dirs["forward"] as? [String: Any], let r = dirs["reverse"] as? [String: Any], dirs.count == 2
            else {
                throw ApplyFile.Error(path: "key file: \(name)", message: "expected { forward: {…}, reverse: {…} }")
            }
            func parse(_ m: [String: Any], _ dir: String) throws(ApplyFile.Error) -> Keys {
                var k = Keys()
                for (role, hex) in m {
                    guard ["aead", "encryption", "authentication"].contains(role) else {
                        // The unknown name is not repeated: it may be a misplaced key.
                        throw ApplyFile.Error(path: "key file: \(name).\(dir)", message: "an unknown key role (expected aead, encryption or authentication)")
                    }
                    guard let key = KeyMaterial(hex: "\(hex)"), key.count > 0 else {
                        throw ApplyFile.Error(path: "key file: \(name).\(dir).\(role)", message: "expected a hex key (0x…)")
                    }
                    guard key.count <= AlgorithmKeyRules.maximumKeyBytes else {
                        throw ApplyFile.Error(
                            path: "key file: \(name).\(dir).\(role)",
                            message: "a key of \(key.count) bytes, more than the \(AlgorithmKeyRules.maximumKeyBytes) bytes any IPsec algorithm takes")
                    }
                    switch role {
                    case "aead": k.aead = key
                    case "encryption": k.encryption = key
                    default: k.authentication = key
                    }
                }
                return k
            }
            keys[name] = (try parse(f, "forward"), try parse(r, "reverse"))
        }
        self.keys = keys
        self.psks = psks
    }

    public init(keys: [String: (forward: Keys, reverse: Keys)], psks: [String: KeyMaterial] = [:]) {
        self.keys = keys
        self.psks = psks
    }

    /// The file's text. It holds secrets: write it only with ``write(to:)``.
    func yamlText() -> String {
        var text = "# salabel key file: secret. Keep it mode 0600 and share it only with the peer host.\n"
        for name in keys.keys.sorted() {
            let (f, r) = keys[name]!
            func line(_ k: Keys) -> String {
                var parts: [String] = []
                if let a = k.aead { parts.append("aead: \"\(a.exposedHex)\"") }
                if let e = k.encryption { parts.append("encryption: \"\(e.exposedHex)\"") }
                if let a = k.authentication { parts.append("authentication: \"\(a.exposedHex)\"") }
                return "{ " + parts.joined(separator: ", ") + " }"
            }
            text += "\(name):\n  forward: \(line(f))\n  reverse: \(line(r))\n"
        }
        for name in psks.keys.sorted() { text += "\(name):\n  psk: \"\(psks[name]!.exposedHex)\"\n" }
        return text
    }

    /// Writes the file with mode 0600, atomically: a new file in the same directory (created
    /// `O_EXCL | O_NOFOLLOW`, mode 0600 from the start, so never readable by others even briefly),
    /// written and synced, then renamed over `path`. A symlink at `path` is replaced, never
    /// followed; the old file is never written in place.
    public func write(to path: String) throws(ApplyFile.Error) {
        func fail(_ what: String) -> ApplyFile.Error { ApplyFile.Error(path: path, message: "\(what): \(String(cString: strerror(errno)))") }
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        var temp = ""
        var fd: Int32 = -1
        for _ in 0..<16 {
            temp = "\(dir)/.\(url.lastPathComponent).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
            fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            if fd >= 0 || errno != EEXIST { break }
        }
        guard fd >= 0 else { throw fail("cannot create a new key file in \(dir)") }
        var renamed = false
        defer { if !renamed { unlink(temp) } }
        do {
            defer { close(fd) }
            guard fchmod(fd, 0o600) == 0 else { throw fail("cannot set mode 0600") }
            var bytes = Array(yamlText().utf8)
            defer { for i in bytes.indices { bytes[i] = 0 } }
            var off = 0
            while off < bytes.count {
                let n = bytes[off...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw fail("cannot write the key file") }
                off += n
            }
            guard fsync(fd) == 0 else { throw fail("cannot sync the key file") }
        }
        guard rename(temp, path) == 0 else { throw fail("cannot put the new key file in place") }
        renamed = true
    }

    /// Refuses a file of secrets that its group or others may read or write (or that is not a
    /// regular file): the check `apply` makes on key files and `--key @FILE` on key arguments.
    public static func checkPrivate(mode: UInt32, path: String) throws(ApplyFile.Error) {
        guard mode & S_IFMT == S_IFREG else { throw ApplyFile.Error(path: path, message: "not a regular file") }
        guard mode & 0o077 == 0 else {
            throw ApplyFile.Error(
                path: path, message: "the key file is readable or writable by its group or others (mode \(String(mode & 0o777, radix: 8))); chmod 600 it")
        }
    }

    /// Reads a file of secrets after ``checkPrivate(mode:path:)`` on the open file (no window between
    /// the check and the read), at most `limit` bytes.
    public static func readPrivate(_ path: String, limit: Int) throws(ApplyFile.Error) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ApplyFile.Error(path: path, message: "cannot read the key file: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw ApplyFile.Error(path: path, message: "cannot read the key file: \(String(cString: strerror(errno)))") }
        try checkPrivate(mode: st.st_mode, path: path)
        guard Int(st.st_size) <= limit else {
            throw ApplyFile.Error(path: path, message: "the key file is \(st.st_size) bytes, more than the limit of \(limit) bytes")
        }
        var out = [UInt8](repeating: 0, count: limit + 1)
        var off = 0
        while off < out.count {
            let n = out[off...].withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw ApplyFile.Error(path: path, message: "cannot read the key file: \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            off += n
        }
        guard off <= limit else { throw ApplyFile.Error(path: path, message: "the key file is more than the limit of \(limit) bytes") }
        let bytes = Array(out[..<off])
        for i in out.indices { out[i] = 0 }
        return bytes
    }

    /// Reads a key file, refusing one that others may read.
    public static func read(from path: String) throws(ApplyFile.Error) -> KeyFile {
        var bytes = try readPrivate(path, limit: YAMLLimits.keyFile.maximumBytes)
        defer { for i in bytes.indices { bytes[i] = 0 } }
        do { return try KeyFile(yaml: String(decoding: bytes, as: UTF8.self)) } catch {
            throw ApplyFile.Error(
                path: error.path == "key file" ? path : error.path.replacingOccurrences(of: "key file:", with: "\(path):"), message: error.message)
        }
    }
}
