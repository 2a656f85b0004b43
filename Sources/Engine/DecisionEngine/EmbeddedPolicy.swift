import Foundation
public import SELinuxPolicy

/// The default policy shipped with salabel (`Resources/default-policy.conf`, embedded in the
/// binary): an echo server and client with labeled SAs between them. Specs/engine/default-policy.md
/// explains it.
public enum EmbeddedPolicy {
    /// The name reported in errors and `policy info`.
    public static let fileName = "default-policy.conf"

    /// The policy source text.
    public static var bytes: [UInt8] { PackageResources.default_policy_conf }

    /// The compiled default policy.
    public static func compile() throws(PolicyError) -> PolicyDB {
        try PolicyCompiler.compile(bytes: bytes, file: fileName)
    }
}

extension SecurityServer {
    /// A server on the embedded default policy.
    public static func embedded(enforcing: Bool = true, booleans: [String: Bool] = [:]) throws(PolicyLoadError) -> SecurityServer {
        let db: PolicyDB
        do { db = try EmbeddedPolicy.compile() } catch { throw .policy(error) }
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
