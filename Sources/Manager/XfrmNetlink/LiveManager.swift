public import DecisionEngine
import Glibc
import LinuxSystem
import SELinuxKernel
public import SecurityContexts
import Synchronization
public import XfrmManager

/// How `salabel xfrm` and `salabel apply` make a manager over a live kernel: the network namespace,
/// the caller's context for the setcontext checks, and the policy they are made with.
public struct LiveManagerSettings: Sendable {
    /// A name under /run/netns, or a path; nil for the caller's namespace.
    public var netns: String?
    /// Whether `netns` came from an option (for the error message when it does not exist).
    public var netnsFromOption = true
    /// The caller's context for the setcontext checks.
    public var subject: SecurityContext
    /// The policy the checks are made with, loaded when the manager is made; nil for the live
    /// default (`PolicyOrigin.liveDefault`, SELinuxKernel: the running policy where SELinux is enabled, else the
    /// embedded one), loaded only when a label needs checking.
    public var policy: PolicyOrigin?
    /// False to skip the engine's checks (the kernel still makes its own).
    public var authorize = true

    public init(subject: SecurityContext) { self.subject = subject }
}

/// Why a manager over the live kernel could not be made. The description is the message to print.
public struct LiveManagerError: Error, Sendable, CustomStringConvertible {
    public var description: String
}

/// The policy a live manager's checks were made with, once it is loaded (for the `policy:` line
/// of the commands that print it).
public final class LivePolicy: Sendable {
    private let state = Mutex<LoadedPolicy?>(nil)

    public init() {}

    /// The loaded policy; nil while no label has been checked.
    public var loaded: LoadedPolicy? { state.withLock { $0 } }

    func record(_ policy: LoadedPolicy) { state.withLock { $0 = policy } }
}

extension XfrmManager {
    /// A manager over the kernel of `settings.netns`. A policy named in the settings is loaded now,
    /// so that a bad file is an error whatever the command then does; the default one on the first
    /// label to check. `policy` learns which was loaded.
    public static func live(
        _ settings: LiveManagerSettings, auditSubject: AuditSubject? = nil, policy: LivePolicy = LivePolicy()
    ) throws(LiveManagerError) -> XfrmManager {
        var authorizer: AssociationAuthorizer?
        if settings.authorize, let source = settings.policy {
            do {
                let loaded = try source.load()
                policy.record(loaded)
                authorizer = AssociationAuthorizer(cache: AccessVectorCache(server: loaded.server))
            } catch {
                throw LiveManagerError(description: "\(error)")
            }
        }
        if let netns = settings.netns, let why = missingNamespace(netns, fromOption: settings.netnsFromOption) {
            throw LiveManagerError(description: why)
        }
        let kernel: NetlinkXfrmKernel
        do { kernel = try NetlinkXfrmKernel(netns: settings.netns) } catch { throw LiveManagerError(description: "\(error)") }
        if !settings.authorize || authorizer != nil {
            return XfrmManager(kernel: kernel, authorizer: authorizer, subject: settings.subject, auditSubject: auditSubject)
        }
        return XfrmManager(
            kernel: kernel,
            deferredAuthorizer: { () throws(XfrmManagerError) -> AssociationAuthorizer in
                do throws(PolicyOriginError) {
                    let loaded = try PolicyOrigin.liveDefault.load()
                    policy.record(loaded)
                    return AssociationAuthorizer(cache: AccessVectorCache(server: loaded.server))
                } catch {
                    throw .engineUnavailable(error.description)
                }
            }, subject: settings.subject, auditSubject: auditSubject)
    }

    /// Why the network namespace `netns` (a name under /run/netns, or a path) cannot be entered, or
    /// nil when it exists; says where the name came from (`fromOption`: --netns, else the apply
    /// file) and how to create it.
    public static func missingNamespace(_ netns: String, fromOption: Bool) -> String? {
        let path = netns.contains("/") ? netns : "/run/netns/\(netns)"
        var st = stat()
        guard case .failure(let code) = valueOrErrno({ stat(path, &st) }) else { return nil }
        let why = code.message
        let origin = fromOption ? "--netns" : "the host's netns in the apply file"
        let create = netns.contains("/") ? "" : "; create it with 'ip netns add \(netns)'"
        return "the network namespace \(netns) (from \(origin)) does not exist: \(path): \(why)\(create), or name another with --netns"
    }
}
