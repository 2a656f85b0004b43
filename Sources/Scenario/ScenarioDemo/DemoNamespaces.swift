import Foundation
import Glibc

/// The network namespaces this process made, for removal at any instant: at the end of the demo,
/// or from the signal handler while the demo is still making them.
///
/// Every namespace is made through ``create(prefix:suffix:)``, which registers its name before
/// `ip netns add` runs and holds the registry's lock until `ip` has exited, so ``removeAll()`` (which
/// takes the same lock) never runs while a namespace is half made: it waits for the `ip` in
/// flight, then deletes every name registered, and refuses any later creation. Names carry the
/// process id and a random tag, and a name another process holds already (`ip` reports that the
/// file exists) is never registered: another tag is drawn.
final class DemoNamespaces: @unchecked Sendable {  // its state is behind `lock`
    /// The one registry of the process (the signal handler's view of every namespace made).
    static let shared = DemoNamespaces()

    private let lock = NSLock()
    private var names: [String] = []
    private var stopped = false

    /// Makes a namespace named `PREFIX-PID-TAG-SUFFIX` (TAG: 8 random hex digits, drawn again
    /// when the name is taken) and returns its name. It fails when the process is stopping, when
    /// every name tried is taken, or when `ip` fails otherwise.
    func create(prefix: String, suffix: String) throws(DemoError) -> String {
        lock.lock()
        defer { lock.unlock() }
        var tried: [String] = []
        for _ in 0..<8 {
            guard !stopped else { throw DemoError("the demo is stopping") }
            let name = "\(prefix)-\(getpid())-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))-\(suffix)"
            tried.append(name)
            names.append(name)
            do {
                try DemoNetwork.ip(["netns", "add", name])
                return name
            } catch {
                // `ip` made nothing when the name was taken: that namespace is someone else's.
                if error.description.contains("File exists") {
                    names.removeAll { $0 == name }
                    continue
                }
                throw error
            }
        }
        throw DemoError("every name tried is taken: \(tried.joined(separator: ", "))")
    }

    /// Deletes the namespaces named (made by ``create(prefix:suffix:)``) and forgets them.
    func remove(_ some: [String]) {
        lock.lock()
        defer { lock.unlock() }
        for name in some where names.contains(name) {
            _ = try? DemoNetwork.ip(["netns", "del", name])
            names.removeAll { $0 == name }
        }
    }

    /// Deletes every namespace made, after the `ip` in flight (if any) has finished, and makes
    /// nothing more. Safe from any thread, any number of times.
    func removeAll() {
        lock.lock()
        defer { lock.unlock() }
        stopped = true
        for name in names { _ = try? DemoNetwork.ip(["netns", "del", name]) }
        names = []
    }
}
