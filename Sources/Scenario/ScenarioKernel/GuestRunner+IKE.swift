import Foundation
import Glibc
import IKEConfig
import IPsecModel
import LinuxSystem
import Scenario
import SecurityContexts
import XfrmManager
import XfrmNetlink

// Associations keyed by IKE in the kernel run (Specs/scenarios/README.md, "The kernel run"): one
// pluto per host of such an association, in the host's namespace and in the context `ike_daemon`
// names, with the conns `salabel apply` writes for the host; the steps' traffic is negotiated for
// real. No key byte is ever printed: errors quote pluto's log, which names secrets, never shows them.

extension GuestRunner {
    /// Where each host's pluto keeps its configuration, NSS database, control socket and log:
    /// `ikeRoot/HOST`, made by the harness and removed at teardown (`/run/salabel-ike` with the
    /// default namespace prefix).
    var ikeRoot: String { "/run/\(namespacePrefix)ike" }
    /// pluto, whack and addconn (`scripts/vm --libreswan`).
    static let ipsecLibexec = "/usr/libexec/ipsec"
    /// The empty NSS database `scripts/vm --libreswan` puts in the image; each pluto gets a copy.
    static let nssTemplate = "/var/lib/ipsec/nss"
    /// The file with the host's conns, which the harness's `addconn` loads.
    static let connsFile = "conns.conf"
    /// The file holding the pid of the pluto the harness started, in each host's directory.
    static let plutoPidFile = "harness.pid"
    /// How long pluto may take to open its control socket (NSS's start is slow under TCG).
    static let plutoStartSeconds = 30.0
    /// How long a step waits for the SAs that answer its ACQUIREs.
    static let negotiationSeconds = 8.0

    /// The directory of `host`'s pluto.
    func ikeDirectory(_ host: String) -> String { "\(ikeRoot)/\(host)" }

    /// Starts a pluto for every host of `scenario.ikeHosts` (of `hosts`, when given) and loads its conns: the files, pluto
    /// in the host's namespace and `ike_daemon` context, `whack --listen`, `addconn --autoall`
    /// (which routes the `ondemand` and `route` conns and initiates the `start` ones, which the
    /// harness routes), then checks that the kernel holds the SPD entries pluto was to route; once
    /// every pluto is up, it waits for the childless IKE SAs of the `start` conns. Any failure is a setup error with the tail of pluto's log.
    func startIKE(_ scenario: Scenario, keys: KeyFile, hosts: [String]? = nil) throws {
        try prepareIKEHost()
        for host in scenario.ikeHosts where hosts?.contains(host) ?? true {
            guard let context = scenario.ikeDaemons[host] else { throw ScenarioKernelError("host \(host): no ike_daemon context") }
            let dir = ikeDirectory(host)
            try writeIKEFiles(scenario, host: host, keys: keys, directory: dir)
            let pluto = try startPluto(host: host, context: context, directory: dir)
            let control = "\(dir)/pluto.ctl"
            let listen = ChildProcess.run(["\(Self.ipsecLibexec)/whack", "--ctlsocket", control, "--listen"])
            guard listen.status == 0 else {
                throw plutoError(host, "whack --listen: exit \(listen.status): \(listen.output)")
            }
            let addconn = ChildProcess.run([
                "\(Self.ipsecLibexec)/addconn", "--config", "\(dir)/\(Self.connsFile)", "--ctlsocket", control, "--autoall",
            ])
            guard addconn.status == 0, pluto.isRunning else {
                throw plutoError(host, "addconn --autoall: exit \(addconn.status): \(addconn.output)")
            }
            // addconn initiates `auto=start` conns and routes none of them; salabel apply routes
            // them too (Specs/manager/apply.md, "Loading"), and so does the harness.
            for conn in try scenario.ikeConfiguration(host: host).conns where conn.auto.initiates {
                let route = ChildProcess.run(["\(Self.ipsecLibexec)/whack", "--ctlsocket", control, "--name", conn.name.text, "--route"])
                guard route.status == 0 else { throw plutoError(host, "whack --route \(conn.name.text): exit \(route.status): \(route.output)") }
            }
            try waitForRoutes(scenario, host: host)
        }
        // The childless IKE SAs of `auto=start` conns, once every pluto of this guest is up: the
        // steps begin with them established, as libreswan's childless tests do.
        for host in scenario.ikeHosts where hosts?.contains(host) ?? true {
            try waitForChildlessIKESA(scenario, host: host)
        }
    }

    /// How long the childless IKE SA of an `auto=start` conn may take: the peer's pluto may start
    /// after this one, and pluto's retransmissions back off (0.5 s, 1 s, 2 s, …).
    static let childlessSeconds = 40.0

    /// Waits until `host`'s pluto has an established IKE SA for each of its `auto=start` conns
    /// (`whack --showstates`: `STATE_V2_ESTABLISHED_IKE_SA` on a line naming the conn).
    func waitForChildlessIKESA(_ scenario: Scenario, host: String) throws {
        let started = try scenario.ikeConfiguration(host: host).conns.filter { $0.auto.initiates }.map(\.name.text)
        guard !started.isEmpty else { return }
        let control = "\(ikeDirectory(host))/pluto.ctl"
        let start = Date()
        var pending = Set(started)
        while !pending.isEmpty {
            let states = ChildProcess.run(["\(Self.ipsecLibexec)/whack", "--ctlsocket", control, "--showstates"]).output
            for line in states.split(separator: "\n") where line.contains("STATE_V2_ESTABLISHED_IKE_SA") {
                pending = pending.filter { !line.contains("\"\($0)\"") }
            }
            guard !pending.isEmpty else { return }
            guard Date().timeIntervalSince(start) < Self.childlessSeconds else {
                throw plutoError(host, "no IKE SA established for \(pending.sorted().joined(separator: ", ")) (auto=start) in \(Int(Self.childlessSeconds)) s")
            }
            usleep(250_000)
        }
    }

    /// What every pluto of the guest shares: `/etc/selinux/config`, without which libselinux calls
    /// SELinux disabled and pluto's own label checks allow everything (Specs/kernel/two-hosts.md
    /// §2), and the empty `/etc/hosts` and `/etc/resolv.conf` addconn reads.
    func prepareIKEHost() throws {
        let fm = FileManager.default
        guard fm.isExecutableFile(atPath: "\(Self.ipsecLibexec)/pluto") else {
            throw ScenarioKernelError("no pluto in the guest (\(Self.ipsecLibexec)/pluto; scripts/vm --libreswan)")
        }
        do {
            try fm.createDirectory(atPath: "/etc/selinux", withIntermediateDirectories: true)
            if !fm.fileExists(atPath: "/etc/selinux/config") {
                try Data("SELINUX=enforcing\nSELINUXTYPE=default\n".utf8).write(to: URL(fileURLWithPath: "/etc/selinux/config"))
            }
            for file in ["/etc/hosts", "/etc/resolv.conf"] where !fm.fileExists(atPath: file) {
                try Data().write(to: URL(fileURLWithPath: file))
            }
        } catch { throw ScenarioKernelError("prepare the guest for pluto: \(error)") }
    }

    /// `host`'s `ipsec.conf` (`config setup` only: what pluto reads at start), `conns.conf`
    /// (`config setup` and the conns, each with `leftupdown=%disabled`: the guest has no `_updown`
    /// script, and pluto would run it through a shell), `ipsec.secrets` (mode 0600) and a copy of
    /// the NSS database, in `directory`. The conns are in a file of their own because pluto 4.10
    /// runs `addconn --autoall` on its `--config` by itself at start: with the conns there, the
    /// harness's own `addconn` (whose exit status says whether they loaded) would add and route
    /// them a second time over the first.
    func writeIKEFiles(_ scenario: Scenario, host: String, keys: KeyFile, directory: String) throws {
        var config: LibreswanConfiguration
        do { config = try LibreswanConfiguration.forHost(scenario.layout, host: host, psks: keys.psks) } catch {
            throw ScenarioKernelError("host \(host): \(error.path): \(error.message)")
        }
        config.conns = config.conns.map {
            var conn = $0
            conn.updown = false
            return conn
        }
        let conf: String
        do { conf = try config.confText() } catch { throw ScenarioKernelError("host \(host): \(error)") }
        let fm = FileManager.default
        do {
            try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let setup = "config setup\n\tdnssec-enable=no\n"
            try Data(setup.utf8).write(to: URL(fileURLWithPath: "\(directory)/ipsec.conf"))
            try Data((setup + "\n" + conf).utf8).write(to: URL(fileURLWithPath: "\(directory)/\(Self.connsFile)"))
            try fm.copyItem(atPath: Self.nssTemplate, toPath: "\(directory)/nss")
        } catch { throw ScenarioKernelError("host \(host): write pluto's files: \(error)") }
        try write(Array(config.secretsText(censored: false).utf8), to: "\(directory)/ipsec.secrets", createMode: 0o600)
    }

    /// Starts pluto in `host`'s namespace, in `context`: a helper thread enters the namespace,
    /// sets its `attr/exec` to the context and spawns pluto, which inherits both (the exec
    /// transition is checked as for any daemon: `process transition` from the harness,
    /// `file entrypoint` for the daemon's domain). No `ip netns exec`: it would mount a fresh
    /// sysfs without selinuxfs, and libselinux would call SELinux disabled. Waits for the control
    /// socket.
    func startPluto(host: String, context: SecurityContext, directory dir: String) throws -> ChildProcess.Running {
        let arguments = [
            "\(Self.ipsecLibexec)/pluto", "--nofork", "--config", "\(dir)/ipsec.conf", "--secretsfile", "\(dir)/ipsec.secrets",
            "--ipsecdir", dir, "--nssdir", "\(dir)/nss", "--rundir", dir, "--dumpdir", dir, "--logfile", "\(dir)/pluto.log", "--no-dnssec",
            "--log-no-audit",
        ]
        let spawned: Result<ChildProcess.Running, ScenarioKernelError>
        do {
            spawned = try NetworkNamespace.named(namespace(host)).run { () -> Result<ChildProcess.Running, ScenarioKernelError> in
                do { try write(Array(context.description.utf8), to: "/proc/thread-self/attr/exec") } catch {
                    return .failure(ScenarioKernelError("host \(host): pluto's context \(context): \(error)"))
                }
                return ChildProcess.spawn(arguments, output: "\(dir)/pluto.stderr").mapError {
                    ScenarioKernelError("host \(host): cannot start pluto: \($0.messageAndName)")
                }
            }
        } catch { throw ScenarioKernelError("host \(host): \(error)") }
        let pluto = try spawned.get()
        try? Data("\(pluto.pid)\n".utf8).write(to: URL(fileURLWithPath: "\(dir)/\(Self.plutoPidFile)"))
        let control = "\(dir)/pluto.ctl"
        let start = Date()
        while Date().timeIntervalSince(start) < Self.plutoStartSeconds {
            if let status = pluto.ended() { throw plutoError(host, "pluto exited with status \(status) at start") }
            var info = stat()
            if stat(control, &info) == 0, info.st_mode & S_IFMT == S_IFSOCK { return pluto }
            usleep(100_000)
        }
        throw plutoError(host, "pluto opened no control socket in \(Int(Self.plutoStartSeconds)) s")
    }

    /// Waits up to 5 s until `host`'s kernel holds every SPD entry pluto was to route (same
    /// selector, direction and label; the priority is pluto's own).
    func waitForRoutes(_ scenario: Scenario, host: String) throws {
        let routes = ApplyPlanner.ikeRoutes(scenario.layout, host: host)
        func key(_ p: PolicyEntry) -> String {
            let s = p.selector
            return "\(p.direction) \(s.source) → \(s.destination) proto \(s.upperProtocol) sport \(s.sourcePort)/\(s.sourcePortMask) "
                + "dport \(s.destinationPort)/\(s.destinationPortMask) ctx \(p.securityContext?.description ?? "none")"
        }
        let wanted = Set(routes.map(key))
        var held: Set<String> = []
        let start = Date()
        repeat {
            let kernel: NetlinkXfrmKernel
            do { kernel = try NetlinkXfrmKernel(netns: namespace(host)) } catch { throw ScenarioKernelError("host \(host): \(error)") }
            if case .policies(let policies) = try? kernel.perform(.listPolicies(XfrmFilter())) {
                held = Set(policies.filter { !$0.isSocketPolicy }.map(key))
            }
            if wanted.isSubset(of: held) { return }
            usleep(100_000)
        } while Date().timeIntervalSince(start) < 5
        throw plutoError(
            host,
            "addconn loaded the conns, but the kernel lacks \(wanted.subtracting(held).sorted().joined(separator: "; ")) "
                + "(it holds: \(held.sorted().joined(separator: "; ")))")
    }

    /// A setup error about `host`'s pluto, with its log's errors and refusals, the end of its log
    /// and its standard error (the start-up banner and the algorithm lists left out).
    func plutoError(_ host: String, _ message: String) -> ScenarioKernelError {
        let dir = ikeDirectory(host)
        var text = "host \(host): \(message)"
        let fm = FileManager.default
        if let data = fm.contents(atPath: "\(dir)/pluto.log"), !data.isEmpty {
            let lines = String(decoding: data, as: UTF8.self).split(separator: "\n")
            let errors = lines.filter { $0.contains("ERROR") || $0.contains("FATAL") || $0.contains("denied") }.suffix(10)
            text += "\n--- pluto.log, errors and refusals:\n" + errors.joined(separator: "\n")
            text += "\n--- pluto.log (end):\n" + lines.suffix(10).joined(separator: "\n")
        }
        if let data = fm.contents(atPath: "\(dir)/pluto.stderr"), !data.isEmpty {
            text += "\n--- pluto's standard error (end):\n" + String(decoding: data, as: UTF8.self).split(separator: "\n").suffix(10).joined(separator: "\n")
        }
        return ScenarioKernelError(text)
    }

    /// Stops every pluto the harness started (`SIGTERM`, 3 s, then `SIGKILL`) and removes their
    /// directories: before the namespaces go. A pid file is trusted only for a child of this
    /// process. With ``GuestPlan/verbose``, each pluto's log goes to standard error first (pluto
    /// logs which secrets it loaded, never their bytes).
    func stopIKE() {
        let fm = FileManager.default
        let hosts = (try? fm.contentsOfDirectory(atPath: ikeRoot)) ?? []
        for host in hosts.sorted() {
            let dir = "\(ikeRoot)/\(host)"
            if let data = fm.contents(atPath: "\(dir)/\(Self.plutoPidFile)"),
                let pid = Int32(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)), pid > 1,
                Self.parent(of: pid) == getpid()
            {
                let status = ChildProcess.Running(pid: pid).stop(grace: 3)
                if plan.verbose == true { diagnose("pluto of \(host) stopped: status \(status.map(String.init) ?? "unknown")") }
            }
            if plan.verbose == true, let log = fm.contents(atPath: "\(dir)/pluto.log") {
                diagnose("--- pluto.log of \(host):\n" + String(decoding: log, as: UTF8.self))
            }
            try? fm.removeItem(atPath: dir)
        }
    }

    /// The parent process of `pid` (`/proc/PID/stat`'s fourth field), nil when it is gone.
    static func parent(of pid: Int32) -> Int32? {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/stat") else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        // PID (COMM) STATE PPID …: COMM may hold spaces and parentheses; the last ')' ends it.
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        return fields.count > 1 ? Int32(fields[1]) : nil
    }

    /// After a traffic step of a scenario keyed by IKE: waits until each host that raised an
    /// ACQUIRE holds an outbound SA (not a larval one) labeled with that ACQUIRE's label, polling
    /// every 100 ms, or ``negotiationSeconds`` pass. A negotiation that never completes is not an
    /// error here: the step's outcome and AVC lines say what happened.
    func waitForNegotiations(_ acquired: [String: [String]], scenario: Scenario) {
        var pending: [(host: String, address: IPAddress, label: SecurityContext?)] = []
        for (host, labels) in acquired {
            guard let address = scenario.layout.hosts[host]?.address else { continue }
            for label in Set(labels) {
                pending.append((host, address, label == "unlabeled" ? nil : try? SecurityContext(parsing: label)))
            }
        }
        let start = Date()
        while !pending.isEmpty && Date().timeIntervalSince(start) < Self.negotiationSeconds {
            // One SAD dump per host and round.
            var sads: [String: [SecurityAssociation]] = [:]
            for host in Set(pending.map(\.host)) {
                if let kernel = try? NetlinkXfrmKernel(netns: namespace(host)), case .sas(let sas) = try? kernel.perform(.listSA(XfrmFilter())) {
                    sads[host] = sas
                }
            }
            pending.removeAll { p in
                (sads[p.host] ?? []).contains { $0.source == p.address && $0.spi != 0 && !$0.algorithms.isEmpty && $0.securityContext == p.label }
            }
            if !pending.isEmpty { usleep(100_000) }
        }
    }
}
