import Foundation
public import SELinuxPolicy

/// The default policy shipped with salabel (`Resources/default-policy.conf`, embedded in the
/// binary): an echo server and client with labeled SAs between them. Specs/engine/default-policy.md
/// explains it.
///
/// It ships twice: the source, which scenarios extend, and the binary salabel's writer makes from
/// it (`Resources/default-policy.33`), which commands load in a fraction of the time compiling
/// takes. A test checks that the binary is exactly what the source compiles to.
public enum EmbeddedPolicy {
    /// The name reported in errors and `policy info`.
    public static let fileName = "default-policy.conf"

    /// The policy source text.
    public static var bytes: [UInt8] { PackageResources.default_policy_conf }

    /// The policy compiled ahead of time: `salabel policy compile default-policy.conf` at version 33.
    public static var binaryBytes: [UInt8] { PackageResources.default_policy_33 }

    /// The default policy compiled from its source.
    public static func compile() throws(PolicyError) -> PolicyDB {
        try PolicyCompiler.compile(bytes: bytes, file: fileName)
    }

    /// The default policy read from its precompiled binary: the same decisions as ``compile()``
    /// (it holds no `neverallow`, which a binary policy does not carry).
    public static func load() throws(BinaryPolicyError) -> PolicyDB {
        try PolicyDB(binary: binaryBytes)
    }
}

extension SecurityServer {
    /// A server on the embedded default policy.
    public static func embedded(enforcing: Bool = true, booleans: [String: Bool] = [:]) throws(PolicyLoadError) -> SecurityServer {
        let db: PolicyDB
        do { db = try EmbeddedPolicy.load() } catch { throw .binary(file: "embedded:default-policy.33", error) }
        do { return try SecurityServer(policy: db, enforcing: enforcing, booleans: booleans) } catch { throw .decision(error) }
    }

    /// A server on a policy file: policy.conf text or a kernel binary policy, recognized by its
    /// magic number (``PolicyFileForm``).
    public static func load(path: String, enforcing: Bool = true, booleans: [String: Bool] = [:]) throws(PolicyLoadError) -> SecurityServer {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .io("cannot read policy file \(path)")
        }
        let db = try PolicyDB.load(bytes: [UInt8](data), file: path)
        do { return try SecurityServer(policy: db, enforcing: enforcing, booleans: booleans) } catch { throw .decision(error) }
    }
}
