// The syscall funnel: every call into libc (or a C library over it, such as libmnl) that reports
// failure through `errno` goes through `valueOrErrno`, which reads `errno` right after the call and
// retries `EINTR` in this one place. `package`, not public: the modules of salabel share it, and
// nothing else reads `errno` by hand.

internal import Glibc

/// Calls `call` until it does not fail with `EINTR` (unless `retryOnInterrupt` is false); returns its
/// value, or the error number when `failed(value)`.
@inline(__always)
package func valueOrErrno<T>(
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
package func valueOrErrno<I: FixedWidthInteger>(
    retryOnInterrupt: Bool = true, _ call: () -> I
) -> Result<I, Errno> {
    valueOrErrno(retryOnInterrupt: retryOnInterrupt, failed: { $0 == -1 }, call)
}

/// The funnel for calls that return `NULL` on failure.
@inline(__always)
package func pointerOrErrno<P>(retryOnInterrupt: Bool = true, _ call: () -> P?) -> Result<P, Errno> {
    valueOrErrno(retryOnInterrupt: retryOnInterrupt, failed: { $0 == nil }, call).map { $0! }
}

/// The funnel for calls that return the error number itself, `0` on success (`pthread_create`,
/// `posix_spawn`): no `errno` to read, and `EINTR` is not retried (these calls do not return it).
@inline(__always)
package func zeroOrErrno(_ call: () -> Int32) -> Result<Void, Errno> {
    let code = call()
    return code == 0 ? .success(()) : .failure(Errno(rawValue: code))
}

extension Result where Failure == Errno {
    /// Turns the errno into a `SystemError` for `operation`.
    @inline(__always)
    package func get(_ operation: String, _ detail: String? = nil) throws(SystemError) -> Success {
        switch self {
        case .success(let value): return value
        case .failure(let code): throw SystemError(operation: operation, errno: code, detail: detail)
        }
    }
}
