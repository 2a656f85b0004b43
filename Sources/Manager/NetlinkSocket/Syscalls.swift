// The syscall funnel: every call into libmnl or libc that reports failure through `errno` goes through
// `valueOrErrno`, which reads `errno` right after the call and retries `EINTR` in this one place.
// Nothing else in the module reads `errno`.

internal import Glibc

/// Calls `call` until it does not fail with `EINTR` (unless `retryOnInterrupt` is false); returns its
/// value, or the error number when `failed(value)`.
@inline(__always)
internal func valueOrErrno<T>(
    retryOnInterrupt: Bool = true, failed: (T) -> Bool, _ call: () -> T
) -> Result<T, Errno> {
    while true {
        let value = call()
        guard failed(value) else { return .success(value) }
        let code = Errno(rawValue: Glibc.errno)
        if retryOnInterrupt && code == .interrupted { continue }
        return .failure(code)
    }
}

/// The funnel for calls that return `-1` on failure (`ssize_t`, `int`).
@inline(__always)
internal func valueOrErrno<I: FixedWidthInteger>(
    retryOnInterrupt: Bool = true, _ call: () -> I
) -> Result<I, Errno> {
    valueOrErrno(retryOnInterrupt: retryOnInterrupt, failed: { $0 == -1 }, call)
}

/// The funnel for calls that return `NULL` on failure.
@inline(__always)
internal func pointerOrErrno<P>(retryOnInterrupt: Bool = true, _ call: () -> P?) -> Result<P, Errno> {
    valueOrErrno(retryOnInterrupt: retryOnInterrupt, failed: { $0 == nil }, call).map { $0! }
}

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
