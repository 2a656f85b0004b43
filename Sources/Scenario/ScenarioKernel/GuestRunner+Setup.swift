import Foundation
import Glibc
import IPsecModel
import LinuxSystem
import NetlinkProtocol
import NetlinkSocket
import Scenario
import SecurityContexts
import XfrmManager
import XfrmNetlink
import XfrmWire

extension GuestRunner {
    /// Loads the policy in one write, sets the booleans, then the mode.
    func load(policy: String, booleans: [String: Bool]) throws {
        guard let bytes = FileManager.default.contents(atPath: policy) else { throw ScenarioKernelError("cannot read \(policy)") }
        try write(Array(bytes), to: "/sys/fs/selinux/load")
        for (name, value) in booleans.sorted(by: { $0.key < $1.key }) {
            try write(Array((value ? "1" : "0").utf8), to: "/sys/fs/selinux/booleans/\(name)")
        }
        if !booleans.isEmpty { try write(Array("1".utf8), to: "/sys/fs/selinux/commit_pending_bools") }
    }

    /// The algorithms' crypto instances (`seqiv(rfc4106(gcm(aes)))`, `authenc(hmac(sha256),cbc(aes))`,
    /// …) are built on first use by kernel threads that the scenarios' policies do not provide for;
    /// one SA of each kind, added while the boot is still permissive, builds them for the whole run.
    func warmUp() throws {
        let ns = namespacePrefix + "warmup"
        try ip(["netns", "add", ns])
        defer { try? ip(["netns", "del", ns]) }
        let kernel = NetlinkXfrmKernel(connection: try NetlinkConnection(namespace: .named(ns)))
        let lines = [
            "state add src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x1 mode transport aead rfc4106(gcm(aes)) 0x0102030405060708090a0b0c0d0e0f1011121314 128",
            "state add src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x2 mode tunnel aead rfc4106(gcm(aes)) 0x0102030405060708090a0b0c0d0e0f1011121314 128",
            "state add src 192.0.2.1 dst 192.0.2.2 proto esp spi 0x3 mode transport enc cbc(aes) 0x00112233445566778899aabbccddeeff auth-trunc hmac(sha256) 0x00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff 128",
        ]
        for line in lines {
            guard let op = try IPXfrmSyntax.parse(line: line) else { continue }
            _ = try kernel.perform(op)
        }
    }

    /// Writes `bytes` to `path` in one write; with `createMode`, creates (or truncates) it with that
    /// mode first. Errors name the path, never the bytes.
    func write(_ bytes: [UInt8], to path: String, createMode: mode_t? = nil) throws {
        let fd: Int32
        let opened =
            createMode.map { mode in valueOrErrno { open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode) } } ?? valueOrErrno { open(path, O_WRONLY) }
        switch opened {
        case .success(let opened): fd = opened
        case .failure(let code): throw ScenarioKernelError("open \(path): \(code.message)")
        }
        defer { close(fd) }
        switch bytes.withUnsafeBytes({ raw in valueOrErrno { Glibc.write(fd, raw.baseAddress, raw.count) } }) {
        case .success(let n) where n == bytes.count: return
        case .success: throw ScenarioKernelError("write \(path): short write")
        case .failure(let code): throw ScenarioKernelError("write \(path): \(code.message)")
        }
    }

    /// One namespace per host, with `eth0` on a veth pair (two hosts) or on a bridge in
    /// `salabel-hub` (more); each host has its address as /32 and a route to every other host.
    func network(_ scenario: Scenario) throws {
        let hosts = scenario.hosts
        for h in hosts {
            guard let address = scenario.layout.hosts[h]?.address, address.family == .inet else {
                throw ScenarioKernelError("host \(h): the kernel run supports IPv4 hosts only")
            }
            try ip(["netns", "add", namespace(h)])
            try noIPv6(namespace(h))
            try ip(["-n", namespace(h), "link", "set", "lo", "up"])
        }
        if hosts.count == 2 {
            try ip(["link", "add", "eth0", "netns", namespace(hosts[0]), "type", "veth", "peer", "name", "eth0", "netns", namespace(hosts[1])])
        } else {
            let hub = namespacePrefix + "hub"
            try ip(["netns", "add", hub])
            try noIPv6(hub)
            try ip(["-n", hub, "link", "add", "br0", "type", "bridge"])
            try ip(["-n", hub, "link", "set", "br0", "up"])
            for (i, h) in hosts.enumerated() {
                try ip(["-n", hub, "link", "add", "p\(i)", "type", "veth", "peer", "name", "eth0", "netns", namespace(h)])
                try ip(["-n", hub, "link", "set", "p\(i)", "master", "br0", "up"])
            }
        }
        for h in hosts {
            let address = scenario.layout.hosts[h]!.address
            try ip(["-n", namespace(h), "addr", "add", "\(address)/32", "dev", "eth0"])
            try ip(["-n", namespace(h), "link", "set", "eth0", "up"])
            for other in hosts where other != h {
                try ip(["-n", namespace(h), "route", "add", "\(scenario.layout.hosts[other]!.address)/32", "dev", "eth0"])
            }
        }
    }

    /// `host`'s namespace for a guest of a pair: the link to the other guest (eth0) moves into it,
    /// with the host's address as /32 and a route to the other host. A removed namespace gives
    /// eth0 back to the guest's own (asynchronously: this waits for it).
    func attach(_ scenario: Scenario, host: String) throws {
        guard let address = scenario.layout.hosts[host]?.address, address.family == .inet else {
            throw ScenarioKernelError("host \(host): the kernel run supports IPv4 hosts only")
        }
        var waited = 0
        while !FileManager.default.fileExists(atPath: "/sys/class/net/eth0") {
            guard waited < 100 else { throw ScenarioKernelError("eth0 did not come back from the previous scenario's namespace") }
            usleep(50_000)
            waited += 1
        }
        let ns = namespace(host)
        try ip(["netns", "add", ns])
        try noIPv6(ns)
        try ip(["-n", ns, "link", "set", "lo", "up"])
        try ip(["link", "set", "eth0", "netns", ns])
        try ip(["-n", ns, "addr", "add", "\(address)/32", "dev", "eth0"])
        try ip(["-n", ns, "link", "set", "eth0", "up"])
        for other in scenario.hosts where other != host {
            try ip(["-n", ns, "route", "add", "\(scenario.layout.hosts[other]!.address)/32", "dev", "eth0"])
        }
    }

    /// No IPv6 in a namespace: its neighbour discovery would put the kernel's own packets
    /// (kernel_t) through the peer checks, AVC lines no scenario is about.
    func noIPv6(_ ns: String) throws {
        let run = ChildProcess.run([
            "/bin/ip", "netns", "exec", ns, "/bin/sh", "-c",
            "echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6 && echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6",
        ])
        guard run.status == 0 else { throw ScenarioKernelError("disable IPv6 in \(ns): \(run.output)") }
    }

    /// Fresh random keys for the scenario's associations: the static SAs' keys and the pre-shared
    /// keys of those keyed by IKE (both hosts' pluto read the same one). Generated once per
    /// scenario, never printed.
    static func keys(for scenario: Scenario) -> KeyFile {
        KeyFile.generate(for: scenario.layout) { n in (0..<n).map { _ in UInt8.random(in: 0...255) } }
    }

    /// The scenario's SAs and SPD entries (`Scenario.contents(host:keys:ikeRoutes:)`), installed by the
    /// harness (its own checks are not the scenario's): SAs, then SPD entries. The SPD entries of
    /// associations keyed by IKE are left to pluto, which routes them (``startIKE(_:keys:hosts:)``). With `hosts`, only theirs.
    func install(_ scenario: Scenario, keys: KeyFile, hosts: [String]? = nil) throws {
        for host in hosts ?? scenario.hosts {
            let (sas, policies) = try scenario.contents(host: host, keys: keys, ikeRoutes: false)
            let ops = sas.map { XfrmOperation.addSA($0) } + policies.map { .addPolicy($0) }
            guard !ops.isEmpty else { continue }
            let kernel = NetlinkXfrmKernel(connection: try NetlinkConnection(namespace: .named(namespace(host))))
            for op in ops {
                do { _ = try kernel.perform(op) } catch { throw ScenarioKernelError("host \(host): \(op): \(error)") }
            }
        }
    }

    /// Stops every pluto a previous scenario started, then removes every namespace it left (their
    /// SAs and SPD entries go with them).
    func teardown() throws {
        stopIKE()
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/run/netns")) ?? []
        for n in names where n.hasPrefix(namespacePrefix) { try ip(["netns", "del", n]) }
    }

    func ip(_ arguments: [String]) throws {
        let run = ChildProcess.run(["/bin/ip"] + arguments)
        guard run.status == 0 else { throw ScenarioKernelError("ip \(arguments.joined(separator: " ")): exit \(run.status): \(run.output)") }
    }
}
