import DecisionEngine
import Glibc
import LinuxSystem
public import SecurityContexts
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
    /// A policy file the checks are made with; nil for the embedded policy (compiled only when a
    /// label needs checking).
    public var policyPath: String?
    /// False to skip the engine's checks (the kernel still makes its own).
    public var authorize = true

    public init(subject: SecurityContext) { self.subject = subject }
}

/// Why a manager over the live kernel could not be made. The description is the message to print.
public struct LiveManagerError: Error, Sendable, CustomStringConvertible {
    public var description: String
}

extension XfrmManager {
    /// A manager over the kernel of `settings.netns`. A policy named in the settings is loaded now,
    /// so that a bad file is an error whatever the command then does.
    public static func live(_ settings: LiveManagerSettings, auditSubject: AuditSubject? = nil) throws(LiveManagerError) -> XfrmManager {
        var authorizer: AssociationAuthorizer?
        if settings.authorize, let policy = settings.policyPath {
            do { authorizer = AssociationAuthorizer(cache: AccessVectorCache(server: try SecurityServer.load(path: policy))) } catch {
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
            deferredAuthorizer: {
                do { return AssociationAuthorizer(cache: AccessVectorCache(server: try SecurityServer.embedded())) } catch {
                    fatalError("salabel's embedded policy does not load: \(error)")  // AssociationAuthorizerTests load it
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
