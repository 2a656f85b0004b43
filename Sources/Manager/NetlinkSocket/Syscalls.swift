// The socket's side of the syscall funnel (LinuxSystem's `valueOrErrno`): an error number becomes a
// `NetlinkSocketError` for the operation that failed.

internal import LinuxSystem

extension Result where Failure == Errno {
    /// Turns the errno into a ``NetlinkSocketError`` for `operation`.
    @inline(__always)
    internal func get(_ operation: NetlinkSocketError.Operation, _ detail: String? = nil) throws(NetlinkSocketError) -> Success {
        switch self {
        case .success(let value): return value
        case .failure(let code): throw NetlinkSocketError(operation: operation, errno: code, detail: detail)
        }
    }
}
