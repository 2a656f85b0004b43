// Network namespaces: a namespace by name or path, entering it on the calling thread, and running a
// body on a short-lived thread inside it (how a socket is created in a namespace without moving the
// caller). `setns(CLONE_NEWNET)` changes only the calling thread.

internal import CLinux
internal import Glibc

/// A network namespace: to open a socket in, or to move a thread into.
public enum NetworkNamespace: Hashable, Sendable {
    /// A namespace created by `ip netns add NAME`, bound at `/run/netns/NAME`.
    case named(String)
    /// Any file that refers to a network namespace: `/proc/PID/ns/net`, a bind mount.
    case path(String)

    /// A namespace given as the CLI takes it: a path when it contains `/`, else a name.
    public init(nameOrPath spec: String) {
        self = spec.contains("/") ? .path(spec) : .named(spec)
    }

    /// The file that refers to the namespace.
    public var path: String {
        switch self {
        case .named(let name): "/run/netns/\(name)"
        case .path(let path): path
        }
    }

    /// The operation of a ``SystemError`` when the namespace's file cannot be opened (or a name is
    /// not one: empty, `.`, `..`, or with a `/`).
    public static let openOperation = "open network namespace"
    /// The operation of a ``SystemError`` when the namespace cannot be entered (`setns`, or creating
    /// the helper thread).
    public static let enterOperation = "enter network namespace"

    /// Moves the calling thread into this namespace (`setns(fd, CLONE_NEWNET)`): sockets it creates
    /// afterwards belong to the namespace. For programs that manage their own threads (the VM
    /// scenario runner); ``run(_:)`` never moves its caller.
    public func enterOnCurrentThread() throws(SystemError) {
        let fd = try valueOrErrno { Glibc.open(path, O_RDONLY | O_CLOEXEC) }.get(Self.openOperation, path)
        defer { _ = Glibc.close(fd) }
        try Self.enterOnCurrentThread(descriptor: fd)
    }

    /// Moves the calling thread into the namespace an open descriptor refers to (e.g. one of
    /// `/proc/self/ns/net` kept to come back).
    public static func enterOnCurrentThread(descriptor fd: Int32) throws(SystemError) {
        _ = try valueOrErrno { setns(fd, Int32(CLONE_NEWNET)) }.get(enterOperation, "descriptor \(fd)")
    }

    /// Runs `body` on a new thread that has entered this namespace, and waits for it: what `body`
    /// creates (a socket) belongs to the namespace, and the calling thread never changes namespace.
    /// The thread ends right after `body`, so it is never moved back.
    ///
    /// - Throws: ``SystemError`` with ``openOperation`` (`EINVAL` for a name that is not one,
    ///   `ENOENT` when the namespace does not exist) or ``enterOperation`` (`setns` failed, or the
    ///   thread could not be created: detail `PATH (helper thread)`); the detail is the path.
    public func run<T>(_ body: () -> T) throws(SystemError) -> T {
        let path = self.path
        if case .named(let name) = self, name.isEmpty || name == "." || name == ".." || name.contains("/") {
            throw SystemError(operation: Self.openOperation, errno: .invalidArgument, detail: path)
        }
        let namespaceFD = try valueOrErrno { Glibc.open(path, O_RDONLY | O_CLOEXEC) }.get(Self.openOperation, path)
        defer { _ = Glibc.close(namespaceFD) }
        let outcome = runOnHelperThread { () -> Result<T, Errno> in
            valueOrErrno { setns(namespaceFD, Int32(CLONE_NEWNET)) }.map { _ in body() }
        }
        switch outcome {
        case .success(.success(let value)): return value
        case .success(.failure(let code)): throw SystemError(operation: Self.enterOperation, errno: code, detail: path)
        case .failure(let code): throw SystemError(operation: Self.enterOperation, errno: code, detail: "\(path) (helper thread)")
        }
    }
}

/// A closure handed to a helper thread through `pthread_create`'s context pointer.
private final class HelperThreadBody: @unchecked Sendable {
    let run: () -> Void
    init(_ run: @escaping () -> Void) { self.run = run }
}

/// Runs `body` on a new thread and waits for it.
private func runOnHelperThread<T>(_ body: () -> T) -> Result<T, Errno> {
    var result: T?
    let started: Result<Void, Errno> = withoutActuallyEscaping(body) { body in
        let box = HelperThreadBody { result = body() }
        let context = Unmanaged.passRetained(box).toOpaque()
        var thread = pthread_t()
        let created = zeroOrErrno {
            pthread_create(
                &thread, nil,
                { context in
                    Unmanaged<HelperThreadBody>.fromOpaque(context!).takeRetainedValue().run()
                    return nil
                }, context)
        }
        guard case .success = created else {
            Unmanaged<HelperThreadBody>.fromOpaque(context).release()
            return created
        }
        pthread_join(thread, nil)
        return created
    }
    return started.map { result! }
}
