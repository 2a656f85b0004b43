/// A failed call of the system layer: what was being done, the error number the system reported, and
/// what it was done to.
///
/// The layer's one error type. The modules above it keep their own errors and build them from this
/// one (a netlink socket's `NetlinkSocketError`, a data-plane host's `HostError`), each with its
/// own wording.
public struct SystemError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What failed, in words: `open network namespace`, `bind`, `setsockopt SO_RCVTIMEO`.
    public var operation: String
    /// The error number the system reported.
    public var errno: Errno
    /// What the operation was applied to, when that helps: a path, an address.
    public var detail: String?

    public init(operation: String, errno: Errno, detail: String? = nil) {
        self.operation = operation
        self.errno = errno
        self.detail = detail
    }

    /// `open network namespace /run/netns/x: No such file or directory (ENOENT)`.
    public var description: String {
        let subject = detail.map { "\(operation) \($0)" } ?? operation
        return "\(subject): \(errno.messageAndName)"
    }
}
