import Foundation

/// Where the policy a command decides with comes from: salabel's embedded policy, a file (either
/// form, ``PolicyFileForm``), or the policy the running kernel has loaded, which selinuxfs exports
/// at ``PolicyOrigin/runningPath``. The one place the choice is named; Specs/engine/policy-sources.md gives the
/// default rule (the running policy for commands that look at live state on an SELinux host, else
/// the embedded one).
///
/// This module only names the running policy: reading it is I/O, done by `SELinuxKernel`
/// (`PolicyOrigin.load`), which hands the bytes to ``LoadedPolicy/load(bytes:source:enforcing:booleans:)``.
public enum PolicyOrigin: Sendable, Hashable, CustomStringConvertible {
    /// salabel's embedded policy (``EmbeddedPolicy``).
    case embedded
    /// A policy file: policy.conf text or a kernel binary policy.
    case file(String)
    /// The policy the running kernel has loaded, read from ``PolicyOrigin/runningPath``.
    case running

    /// Where selinuxfs exports the loaded policy, in the binary form.
    public static let runningPath = "/sys/fs/selinux/policy"

    /// The source a `--policy` value names: `embedded` and `running` are keywords, anything else is
    /// a path (a file named `running` is `./running`).
    public init(option: String) {
        switch option {
        case "embedded": self = .embedded
        case "running": self = .running
        default: self = .file(option)
        }
    }

    /// `embedded`, `running`, or the file's path: the `--policy` value that names this source.
    public var description: String {
        switch self {
        case .embedded: return "embedded"
        case .running: return "running"
        case .file(let path): return path
        }
    }

    /// The kind of source: `embedded`, `file` or `running`.
    public var kind: String {
        switch self {
        case .embedded: return "embedded"
        case .file: return "file"
        case .running: return "running"
        }
    }

    /// The file the policy is read from: the embedded policy's name, the path, or ``PolicyOrigin/runningPath``.
    public var path: String {
        switch self {
        case .embedded: return EmbeddedPolicy.fileName
        case .file(let path): return path
        case .running: return Self.runningPath
        }
    }
}

/// A policy loaded for deciding: the security server on it and what it is, for the line a command
/// prints (`policy: running (/sys/fs/selinux/policy, version 33, MLS)`).
public struct LoadedPolicy: Sendable, CustomStringConvertible {
    /// Where it came from.
    public var source: PolicyOrigin
    /// The form it was read in.
    public var form: PolicyFileForm
    /// The binary format's version; `nil` for policy.conf text.
    public var version: UInt32?
    /// The server deciding with it.
    public var server: SecurityServer

    /// Whether the policy has MLS.
    public var mls: Bool { server.policy.mlsEnabled }

    /// `running (/sys/fs/selinux/policy, version 33, MLS)`, `embedded (default-policy.conf, version 33, MLS)`,
    /// `file (/etc/selinux/default/policy/policy.33, version 33, MLS)`: the binary form's version,
    /// none for policy.conf text.
    public var description: String {
        let facts = [source.path] + (version.map { ["version \($0)"] } ?? []) + [mls ? "MLS" : "no MLS"]
        return "\(source.kind) (\(facts.joined(separator: ", ")))"
    }

    /// The same as a JSON object: `source`, `path`, `form` (`text` or `binary`), `version` (binary
    /// only), `mls`.
    public var json: [String: Any] {
        var out: [String: Any] = ["source": source.kind, "path": source.path, "form": form.rawValue, "mls": mls]
        if let version { out["version"] = Int(version) }
        return out
    }

    /// Loads a policy from its contents, in either form.
    /// - Parameters:
    ///   - bytes: the contents (the running policy's as `SELinuxKernel` read them, or a file's).
    ///   - source: where they came from (named in errors and in ``LoadedPolicy/description``).
    ///   - enforcing: `false` for permissive mode.
    ///   - booleans: values that override the policy's.
    public static func load(
        bytes: [UInt8], source: PolicyOrigin, enforcing: Bool = true, booleans: [String: Bool] = [:]
    ) throws(PolicyLoadError) -> LoadedPolicy {
        let form = PolicyFileForm(of: bytes)
        let db: PolicyDB
        var version: UInt32?
        switch form {
        case .binary:
            do {
                let read = try PolicyDB.readBinary(bytes)
                db = read.policy
                version = read.extras.header.version
            } catch { throw .binary(file: source.path, error) }
        case .text:
            do { db = try PolicyCompiler.compile(bytes: bytes, file: source.path) } catch { throw .policy(error) }
        }
        let server: SecurityServer
        do { server = try SecurityServer(policy: db, enforcing: enforcing, booleans: booleans) } catch { throw .decision(error) }
        return LoadedPolicy(source: source, form: form, version: version, server: server)
    }

    /// The embedded policy, or a policy file read here; `nil` for ``PolicyOrigin/running``, whose
    /// bytes only `SELinuxKernel` reads.
    public static func loadWithoutKernel(
        _ source: PolicyOrigin, enforcing: Bool = true, booleans: [String: Bool] = [:]
    ) throws(PolicyLoadError) -> LoadedPolicy? {
        switch source {
        case .embedded:
            // The precompiled binary (EmbeddedPolicy.binaryBytes): read, not compiled.
            return try load(bytes: EmbeddedPolicy.binaryBytes, source: .embedded, enforcing: enforcing, booleans: booleans)
        case .file(let path):
            guard let data = FileManager.default.contents(atPath: path) else { throw .io("cannot read policy file \(path)") }
            return try load(bytes: [UInt8](data), source: source, enforcing: enforcing, booleans: booleans)
        case .running:
            return nil
        }
    }
}
