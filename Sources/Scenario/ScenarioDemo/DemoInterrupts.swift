import Dispatch
import Glibc

/// What the demo does when it is interrupted: a closed output (`salabel demo | head`) or a
/// SIGINT or SIGTERM must not leave namespaces behind.
public enum DemoInterrupts {
    nonisolated(unsafe) static var sources: [any DispatchSourceSignal] = []

    /// Ignores SIGPIPE; on SIGINT or SIGTERM removes every namespace made so far, and the one being
    /// made (``DemoNamespaces/removeAll()``), flushes standard output, and ends the process with
    /// status 128 + the signal's number, without running exit handlers under the threads still at
    /// work. Call it once, before the demo makes anything.
    public static func removeNamespacesOnSignal() {
        signal(SIGPIPE, SIG_IGN)
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                DemoNamespaces.shared.removeAll()
                fflush(nil)
                Glibc._exit(128 + sig)
            }
            source.resume()
            sources.append(source)
        }
    }
}
