// The policy the running kernel has loaded, as selinuxfs exports it (`/sys/fs/selinux/policy`, the
// binary form), and the loading of any PolicyOrigin: the running one needs this module's I/O, the
// others are DecisionEngine's.

internal import Glibc
public import LinuxSystem
public import DecisionEngine

/// The running kernel's policy, read from selinuxfs.
///
/// The kernel writes the policy out when the file is opened: before the first open `stat` gives a
/// size of 0, after it the size of that copy (seen in the VM, Linux 6.1). It is read with `read(2)`
/// until end of file (`readFileContents(atPath:limit:)`, LinuxSystem), whatever `stat` says. Opening it needs
/// the `security { read_policy }` permission.
public enum RunningPolicy {
    /// `/sys/fs/selinux/policy`.
    public static var path: String { PolicyOrigin.runningPath }

    /// Whether SELinux is enabled with selinuxfs mounted, so that there is a running policy to read
    /// (whether this process may read it is another matter: ``read()`` says).
    public static var isAvailable: Bool {
        KernelBackend.isActive && access(path, F_OK) == 0
    }

    /// The running policy's bytes (the binary form, the kernel's current boolean values in it).
    /// - Throws: ``RunningPolicyError/notEnabled`` without SELinux or selinuxfs;
    ///   ``RunningPolicyError/unreadable(_:)`` when the file cannot be opened or read.
    public static func read() throws(RunningPolicyError) -> [UInt8] {
        guard isAvailable else { throw .notEnabled }
        do { return try readFileContents(atPath: path) } catch { throw .unreadable(error) }
    }
}

/// Why the running policy cannot be read. The description is the message to print.
public enum RunningPolicyError: Error, Sendable, CustomStringConvertible {
    /// SELinux is not enabled, or selinuxfs is not mounted at /sys/fs/selinux.
    case notEnabled
    /// The file exists and could not be opened or read.
    case unreadable(SystemError)

    public var description: String {
        switch self {
        case .notEnabled:
            return "no running policy: SELinux is not enabled on this kernel (no selinuxfs with \(RunningPolicy.path)); give --policy FILE or --policy embedded"
        case .unreadable(let error):
            var why = "cannot read the running policy: \(error)"
            switch error.errno {
            case .permissionDenied, .notPermitted:
                why += " (reading it needs the security { read_policy } permission)"
            default: break
            }
            return why
        }
    }
}

/// Why a policy source could not be loaded: the running policy not read, or the policy not loaded.
public enum PolicyOriginError: Error, Sendable, CustomStringConvertible {
    case running(RunningPolicyError)
    case load(PolicyLoadError)

    public var description: String {
        switch self {
        case .running(let e): return e.description
        case .load(let e): return e.description
        }
    }
}

extension PolicyOrigin {
    /// The policy of the commands that look at live state when no `--policy` is given: the running
    /// policy where SELinux is enabled, else the embedded one (Specs/engine/policy-sources.md).
    public static var liveDefault: PolicyOrigin {
        RunningPolicy.isAvailable ? .running : .embedded
    }

    /// Loads the policy: the running one read from selinuxfs, the others as `DecisionEngine` does.
    public func load(enforcing: Bool = true, booleans: [String: Bool] = [:]) throws(PolicyOriginError) -> LoadedPolicy {
        do {
            if let loaded = try LoadedPolicy.loadWithoutKernel(self, enforcing: enforcing, booleans: booleans) { return loaded }
        } catch { throw .load(error) }
        let bytes: [UInt8]
        do { bytes = try RunningPolicy.read() } catch { throw .running(error) }
        do { return try LoadedPolicy.load(bytes: bytes, source: self, enforcing: enforcing, booleans: booleans) } catch { throw .load(error) }
    }
}
