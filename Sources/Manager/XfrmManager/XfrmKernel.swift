public import IPsecModel

/// What the kernel answered to one operation.
public enum XfrmResult: Sendable, Hashable {
    /// Acknowledged, nothing returned.
    case done
    /// One SA (get, allocspi).
    case sa(SecurityAssociation)
    /// A dump of SAs.
    case sas([SecurityAssociation])
    /// One SPD entry (get).
    case policy(PolicyEntry)
    /// A dump of SPD entries.
    case policies([PolicyEntry])
}

/// The kernel refused an operation: its errno and, when it says one, the extended-ACK message
/// (e.g. "Invalid security context length").
public struct XfrmKernelError: Error, Sendable, Hashable, CustomStringConvertible {
    public var errno: Int32
    public var message: String?

    public init(errno: Int32, message: String? = nil) {
        self.errno = errno
        self.message = message
    }

    /// `EACCES` etc. with the C name and text, then the kernel's own words.
    public var description: String {
        "\(XfrmKernelError.name(errno)) (\(errno))" + (message.map { ": \($0)" } ?? "")
    }

    static func name(_ e: Int32) -> String {
        let names: [Int32: String] = [
            1: "EPERM", 2: "ENOENT", 3: "ESRCH", 12: "ENOMEM", 13: "EACCES", 17: "EEXIST", 22: "EINVAL",
            34: "ERANGE", 38: "ENOSYS", 93: "EPROTONOSUPPORT", 95: "EOPNOTSUPP", 97: "EAFNOSUPPORT", 105: "ENOBUFS",
        ]
        return names[e] ?? "errno"
    }
}

/// The xfrm operations of one kernel (or network namespace): implemented over netlink by
/// `NetlinkXfrmKernel`, and in memory by ``SimulatedXfrmKernel`` for tests and dry runs.
public protocol XfrmKernel: AnyObject, Sendable {
    /// Performs one operation.
    func perform(_ operation: XfrmOperation) throws(XfrmKernelError) -> XfrmResult

    /// Performs several operations in order and returns each one's result. A kernel reached over
    /// netlink sends them as one batch (many requests per datagram): the kernel carries out every
    /// request it receives, so a failure does not stop the ones after it. The default performs
    /// them one by one, with the same outcome.
    func perform(batch operations: ArraySlice<XfrmOperation>) -> [Result<XfrmResult, XfrmKernelError>]

    /// Visits the SPD entries that pass `filter`, in the order of `.listPolicies(filter)`'s answer,
    /// as the dump is read, without collecting them. A kernel reached over netlink decodes each
    /// datagram's entries as it arrives; the default performs `.listPolicies` and visits its list.
    ///
    /// - Parameters:
    ///   - filter: which entries to visit.
    ///   - restart: called when the kernel interrupted the dump (the SPD changed meanwhile) and it
    ///     starts again: the entries visited so far are to be forgotten, they are visited anew.
    ///   - visit: takes one entry.
    func visitPolicies(matching filter: XfrmFilter, restart: () -> Void, _ visit: (PolicyEntry) -> Void) throws(XfrmKernelError)

    /// Why this kernel would accept a security context and store none, in a few words (which
    /// security modules are active), or `nil` when it cannot tell. Used to explain a dropped label.
    var securityModuleSummary: String? { get }
}

extension XfrmKernel {
    public func perform(batch operations: ArraySlice<XfrmOperation>) -> [Result<XfrmResult, XfrmKernelError>] {
        operations.map { op in Result { () throws(XfrmKernelError) in try perform(op) } }
    }

    public var securityModuleSummary: String? { nil }

    public func visitPolicies(matching filter: XfrmFilter, restart: () -> Void, _ visit: (PolicyEntry) -> Void) throws(XfrmKernelError) {
        guard case .policies(let list) = try perform(.listPolicies(filter)) else { return }
        list.forEach(visit)
    }

    /// Every SA (a dump).
    public func allSAs() throws(XfrmKernelError) -> [SecurityAssociation] {
        guard case .sas(let list) = try perform(.listSA(XfrmFilter())) else { return [] }
        return list
    }

    /// Every SPD entry (a dump).
    public func allPolicies() throws(XfrmKernelError) -> [PolicyEntry] {
        guard case .policies(let list) = try perform(.listPolicies(XfrmFilter())) else { return [] }
        return list
    }
}
