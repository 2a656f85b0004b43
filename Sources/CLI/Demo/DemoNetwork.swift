import DataPlaneHost
import Foundation
import Glibc
import IPsecModel
import NetlinkSocket

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
    /// is asked or namespaces cannot be made.
    static func make(hosts: [(name: String, address: IPAddress)], loopback: Bool) -> DemoNetwork {
        if loopback { return DemoNetwork(kind: .loopback, fallbackReason: "--loopback was given") }
        guard geteuid() == 0 else { return DemoNetwork(kind: .loopback, fallbackReason: "network namespaces need root") }
        guard hosts.count == 2 else { return DemoNetwork(kind: .loopback, fallbackReason: "the demo joins two hosts") }
        let net = DemoNetwork(kind: .namespaces, fallbackReason: nil)
        current = net
        let tag = "\(getpid() % 100_000)"
        let links = ["sld\(tag)a", "sld\(tag)b"]
        do {
            for h in hosts {
                let ns = "salabel-demo-\(tag)-\(h.name)"
                net.lock.lock()
                net.namespaces[h.name] = ns
                net.lock.unlock()
                try ip(["netns", "add", ns])
            }
            try ip(["link", "add", links[0], "type", "veth", "peer", "name", links[1]])
            for (i, h) in hosts.enumerated() {
                let ns = net.namespaces[h.name]!
                try ip(["link", "set", links[i], "netns", ns])
                try ip(["-n", ns, "addr", "add", "\(h.address)/24", "dev", links[i]])
                try ip(["-n", ns, "link", "set", links[i], "up"])
                try ip(["-n", ns, "link", "set", "lo", "up"])
            }
            return net
        } catch {
            net.teardown()
            _ = try? ip(["link", "del", links[0]])
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

    /// Deletes the namespaces (their veth pair and sockets go with them). Safe to call twice and
    /// from the signal handler's queue.
    func teardown() {
        lock.lock()
        let names = namespaces.values
        namespaces = [:]
        lock.unlock()
        for ns in names { _ = try? Self.ip(["netns", "del", ns]) }
    }

    private let lock = NSLock()

    /// The network being made or used, for the demo's signal handler.
    nonisolated(unsafe) static var current: DemoNetwork?

    struct CommandError: Error, CustomStringConvertible {
        var description: String
    }

    static func ip(_ arguments: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip") ? "/usr/sbin/ip" : "/sbin/ip")
        p.arguments = arguments
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        do { try p.run() } catch { throw CommandError(description: "ip: \(error)") }
        p.waitUntilExit()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        guard p.terminationStatus == 0 else {
            throw CommandError(description: "ip \(arguments.joined(separator: " ")): \(text.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
    }
}
