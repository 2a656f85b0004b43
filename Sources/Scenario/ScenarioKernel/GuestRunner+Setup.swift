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
    /// `salabel-hub` (more); each host has its address as a host route (/32, /128) and a route to
    /// every other host, through a gateway where the scenario routes it so, and gateways forward
    /// (``forward(in:family:)``). The hosts are all IPv4 or all IPv6 (``addressing(_:)``).
    func network(_ scenario: Scenario) throws {
        let hosts = scenario.hosts
        let family = try addressing(scenario)
        for h in hosts {
            try ip(["netns", "add", namespace(h)])
            try quietIPv6(namespace(h), family: family)
            // IPv6 forwarding before any link is up (``forward(in:family:)`` says why).
            if family == .inet6 && scenario.forwarding.gateways.contains(h) { try forward(in: namespace(h), family: family) }
            try ip(["-n", namespace(h), "link", "set", "lo", "up"])
        }
        if hosts.count == 2 {
            try ip(["link", "add", "eth0", "netns", namespace(hosts[0]), "type", "veth", "peer", "name", "eth0", "netns", namespace(hosts[1])])
        } else {
            let hub = namespacePrefix + "hub"
            try ip(["netns", "add", hub])
            try quietIPv6(hub, family: .inet)
            try ip(["-n", hub, "link", "add", "br0", "type", "bridge"])
            try ip(["-n", hub, "link", "set", "br0", "up"])
            for (i, h) in hosts.enumerated() {
                try ip(["-n", hub, "link", "add", "p\(i)", "type", "veth", "peer", "name", "eth0", "netns", namespace(h)])
                try ip(["-n", hub, "link", "set", "p\(i)", "master", "br0", "up"])
            }
        }
        for h in hosts { try address(scenario, host: h, in: namespace(h)) }
        if family == .inet { for g in scenario.forwarding.gateways.sorted() { try forward(in: namespace(g), family: family) } }
    }

    /// A gateway's namespace forwards (Specs/scenarios/README.md, "Gateways"). IPv4: `ip_forward` 1
    /// and no ICMP redirect (`send_redirects` 0 for all links and eth0, which must exist): its hosts
    /// share one link, so every packet it forwards leaves by the link it came in on, which is when
    /// the kernel would tell the sender to go direct. IPv6: `conf/all/forwarding` 1, which
    /// `addrconf_fixup_forwarding` copies to `default`, so the links that enter the namespace later
    /// forward too; set before any link is up, the all-routers group it joins (`dev_forward_change`)
    /// is reported with the others when the link comes up, before the scenario's labels exist. An
    /// IPv6 router sends no redirect without a link-local address (`ndisc_send_redirect`), and the
    /// hosts have none (``quietIPv6(_:family:)``).
    func forward(in ns: String, family: IPAddress.Family) throws {
        let script: String
        if family == .inet {
            let conf = "/proc/sys/net/ipv4"
            script = "echo 1 > \(conf)/ip_forward && echo 0 > \(conf)/conf/all/send_redirects && echo 0 > \(conf)/conf/eth0/send_redirects"
        } else {
            script = "echo 1 > /proc/sys/net/ipv6/conf/all/forwarding"
        }
        let run = ChildProcess.run(["/bin/ip", "netns", "exec", ns, "/bin/sh", "-c", script])
        guard run.status == 0 else { throw ScenarioKernelError("turn forwarding on in \(ns): \(run.output)") }
    }

    /// `host`'s namespace for a guest of a pair: the link to the other guest (eth0) moves into it,
    /// with the host's address as a host route and a route to the other host. A removed namespace
    /// gives eth0 back to the guest's own (asynchronously: this waits for it).
    func attach(_ scenario: Scenario, host: String) throws {
        let family = try addressing(scenario)
        var waited = 0
        while !FileManager.default.fileExists(atPath: "/sys/class/net/eth0") {
            guard waited < 100 else { throw ScenarioKernelError("eth0 did not come back from the previous scenario's namespace") }
            usleep(50_000)
            waited += 1
        }
        let ns = namespace(host)
        try ip(["netns", "add", ns])
        try quietIPv6(ns, family: family)
        try ip(["-n", ns, "link", "set", "lo", "up"])
        try ip(["link", "set", "eth0", "netns", ns])
        try address(scenario, host: host, in: ns)
    }

    /// The scenario's address family: every host's address is IPv4, or every one is IPv6.
    func addressing(_ scenario: Scenario) throws -> IPAddress.Family {
        let families = Set(scenario.hosts.compactMap { scenario.layout.hosts[$0]?.address.family })
        guard families.count == 1, let family = families.first else {
            throw ScenarioKernelError("the kernel run wants every host's address of one family, IPv4 or IPv6")
        }
        return family
    }

    /// A fixed MAC address per host (its place among the scenario's hosts, sorted), so that each
    /// host can know its peers' without asking: IPv6 hosts get them as permanent neighbours.
    static func mac(_ scenario: Scenario, _ host: String) -> String {
        let n = (scenario.hosts.sorted().firstIndex(of: host) ?? 0) + 1
        return String(format: "02:5a:00:00:00:%02x", n)
    }

    /// `host`'s address, link and routes on `eth0` in `ns`. IPv6 addresses are added with `nodad`
    /// and every other host is a permanent neighbour (``quietIPv6(_:family:)`` says why).
    func address(_ scenario: Scenario, host: String, in ns: String) throws {
        let address = scenario.layout.hosts[host]!.address
        let prefix = address.family == .inet ? 32 : 128
        try ip(["-n", ns, "link", "set", "eth0", "address", Self.mac(scenario, host)])
        try ip(["-n", ns, "addr", "add", "\(address)/\(prefix)", "dev", "eth0"] + (address.family == .inet6 ? ["nodad"] : []))
        try ip(["-n", ns, "link", "set", "eth0", "up"])
        // Direct routes first: a route through a gateway needs the gateway's own route.
        let others = scenario.hosts.filter { $0 != host }
        let routed = others.filter { scenario.forwarding.gateway(from: host, to: $0) != nil }
        for other in others.filter({ !routed.contains($0) }) + routed {
            let peer = scenario.layout.hosts[other]!.address
            if let gateway = scenario.forwarding.gateway(from: host, to: other) {
                let via = scenario.layout.hosts[gateway]!.address
                try ip(["-n", ns, "route", "add", "\(peer)/\(prefix)", "via", "\(via)", "dev", "eth0"])
                continue
            }
            try ip(["-n", ns, "route", "add", "\(peer)/\(prefix)", "dev", "eth0"])
            if peer.family == .inet6 {
                try ip(["-n", ns, "neigh", "add", "\(peer)", "lladdr", Self.mac(scenario, other), "dev", "eth0", "nud", "permanent"])
            }
        }
    }

    /// IPv6 in a namespace, off for IPv4 scenarios, and for IPv6 ones on without any packet of the
    /// kernel's own. Neighbour discovery, duplicate address detection and router solicitations
    /// would send packets as `kernel_t` (the kernel's own sockets), through the peer checks and
    /// the SPD, AVC lines no scenario is about. So an IPv6 host gets no link-local address
    /// (`addr_gen_mode` 1), no DAD (`accept_dad` 0, addresses added `nodad`), no router
    /// solicitation or advertisement (`router_solicitations` 0, `accept_ra` 0), and its peers as
    /// permanent neighbours (``address(_:host:in:)``): no neighbour solicitation is ever needed.
    /// The settings are the namespace's defaults, which a link takes when it enters it.
    func quietIPv6(_ ns: String, family: IPAddress.Family) throws {
        let conf = "/proc/sys/net/ipv6/conf"
        let script =
            family == .inet
            ? "echo 1 > \(conf)/all/disable_ipv6 && echo 1 > \(conf)/default/disable_ipv6"
            : ["addr_gen_mode 1", "accept_dad 0", "dad_transmits 0", "router_solicitations 0", "accept_ra 0"].map {
                let kv = $0.split(separator: " ")
                return "echo \(kv[1]) > \(conf)/default/\(kv[0])"
            }.joined(separator: " && ") + " && echo 0 > \(conf)/all/accept_dad && echo 0 > \(conf)/all/accept_ra"
        let run = ChildProcess.run(["/bin/ip", "netns", "exec", ns, "/bin/sh", "-c", script])
        guard run.status == 0 else { throw ScenarioKernelError("set up IPv6 in \(ns): \(run.output)") }
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
