import DataPlaneHost
import Foundation
import Glibc
import IPsecModel
import LinuxSystem

/// Where the demo's hosts live: two network namespaces joined by a veth pair (root and `ip`), or,
/// when namespaces cannot be made, one namespace with each host on its own loopback ports.
final class DemoNetwork {
    enum Kind { case namespaces, loopback }

    let kind: Kind
    /// Why namespaces were not used (loopback only).
    let fallbackReason: String?
    private(set) var namespaces: [String: String] = [:]

    private init(kind: Kind, fallbackReason: String?) {
        self.kind = kind
        self.fallbackReason = fallbackReason
    }

    /// Namespaces for `hosts` (name → address with prefix length 24), or loopback when `loopback`
    /// is asked or namespaces cannot be made. The namespaces are `salabel-demo-PID-TAG-HOST`
    /// (``DemoNamespaces``: collision-free, removable at any instant); the veth pair is made in the
    /// first namespace with its peer in the second, so nothing of the demo's is ever in the
    /// caller's namespace.
    static func make(hosts: [(name: String, address: IPAddress)], loopback: Bool) -> DemoNetwork {
        if loopback { return DemoNetwork(kind: .loopback, fallbackReason: "--loopback was given") }
        guard geteuid() == 0 else { return DemoNetwork(kind: .loopback, fallbackReason: "network namespaces need root") }
        guard hosts.count == 2 else { return DemoNetwork(kind: .loopback, fallbackReason: "the demo joins two hosts") }
        let net = DemoNetwork(kind: .namespaces, fallbackReason: nil)
        let links = ["veth0", "veth1"]
        do {
            for h in hosts {
                let ns = try DemoNamespaces.shared.create(prefix: "salabel-demo", suffix: h.name)
                net.lock.lock()
                net.namespaces[h.name] = ns
                net.lock.unlock()
            }
            let ns = hosts.map { net.namespaces[$0.name]! }
            try ip(["-n", ns[0], "link", "add", links[0], "type", "veth", "peer", "name", links[1], "netns", ns[1]])
            for (i, h) in hosts.enumerated() {
                try ip(["-n", ns[i], "addr", "add", "\(h.address)/24", "dev", links[i]])
                try ip(["-n", ns[i], "link", "set", links[i], "up"])
                try ip(["-n", ns[i], "link", "set", "lo", "up"])
            }
            return net
        } catch {
            net.teardown()
            return DemoNetwork(kind: .loopback, fallbackReason: "network namespaces could not be made (\(error))")
        }
    }

    /// The namespace a host's sockets live in (`nil` on loopback).
    func namespace(_ host: String) -> NetworkNamespace? { namespaces[host].map { .named($0) } }

    /// The host's ESP-in-UDP and clear socket addresses to bind.
    func bindAddresses(_ address: IPAddress) -> (esp: SocketAddress, clear: SocketAddress) {
        switch kind {
        case .namespaces: (SocketAddress(address, 4500), SocketAddress(address, 4501))
        case .loopback: (SocketAddress(IPAddress("127.0.0.1")!, 0), SocketAddress(IPAddress("127.0.0.1")!, 0))
        }
    }

    /// Deletes the namespaces (their veth pair and sockets go with them). Safe to call twice; the
    /// signal handler removes every namespace of the process instead (``DemoNamespaces/removeAll()``).
    func teardown() {
        lock.lock()
        let names = Array(namespaces.values)
        namespaces = [:]
        lock.unlock()
        DemoNamespaces.shared.remove(names)
    }

    private let lock = NSLock()

    /// Runs iproute2's `ip` with `arguments` and waits for it; when it fails, the error has its
    /// words and what it wrote.
    static func ip(_ arguments: [String]) throws(DemoError) {
        let ip = FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip") ? "/usr/sbin/ip" : "/sbin/ip"
        let run = ChildProcess.run([ip] + arguments)
        guard run.status >= 0 else { throw DemoError("ip: \(run.output)") }
        guard run.status == 0 else {
            throw DemoError("ip \(arguments.joined(separator: " ")): \(run.output.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
    }
}
