// salabel doctor's facts read from a live host: /proc, /sys, /boot, /etc/selinux, the SAD/SPD over
// NETLINK_XFRM and the running policy, for HostCheck's Doctor (Specs/manager/doctor.md). The
// per-namespace files (/proc/net/xfrm_stat) are read by a thread inside the namespace.

import Foundation
public import HostCheck
import IPsecModel
import LinuxSystem
import SecurityContexts
import SELinuxKernel
import DecisionEngine

/// Reads the `HostFacts` of this host, or of one network namespace of it.
public enum HostFactsReader {
    /// Everything `salabel doctor` checks: what cannot be read stays nil (the doctor says so).
    /// - Parameter netns: a network namespace (name or path) whose SAD/SPD and xfrm_stat to read;
    ///   nil: the caller's.
    /// - Parameter ipsecConf: libreswan's configuration, read with its own parser (readwriteconf).
    public static func read(netns: String? = nil, ipsecConf: String = LibreswanFacts.defaultConfig) -> HostFacts {
        var facts = HostFacts(namespace: netns)
        let release = text("/proc/sys/kernel/osrelease")?.trimmingCharacters(in: .whitespacesAndNewlines)
        facts.kernelRelease = release
        facts.enforce = text("/sys/fs/selinux/enforce")
        facts.filesystems = text("/proc/filesystems")
        facts.selinuxConfig = text("/etc/selinux/config")
        facts.lsm = text("/sys/kernel/security/lsm")
        facts.cmdline = text("/proc/cmdline")
        if let release, let config = text("/boot/config-\(release)") {
            facts.kernelConfig = ("/boot/config-\(release)", config)
        } else if FileManager.default.fileExists(atPath: "/proc/config.gz") {
            let r = ChildProcess.run(["gzip", "-dc", "/proc/config.gz"], searchPath: true)
            if r.status == 0 { facts.kernelConfig = ("/proc/config.gz", r.output) }
        }
        facts.procModules = text("/proc/modules")
        facts.sysModules = Set(Doctor.modules.map(\.name).filter { FileManager.default.fileExists(atPath: "/sys/module/\($0)") })
        if let release { facts.modulesBuiltin = text("/lib/modules/\(release)/modules.builtin") }
        facts.policyCapabilities = capabilities()

        do {
            let kernel = try NetlinkXfrmKernel(netns: netns)
            facts.sas = try kernel.allSAs()
            facts.policies = try kernel.allPolicies()
        } catch {
            facts.xfrmError = "\(error)"
        }
        facts.xfrmStat = namespaceText("xfrm_stat", netns: netns)

        facts.libreswan = libreswan(config: ipsecConf)
        if KernelBackend.isActive, let kernel = try? KernelBackend() {
            let connLabels = (facts.libreswan?.conns ?? []).compactMap { try? SecurityContext(parsing: $0.label) }
            let labels = Set(facts.sas.compactMap(\.securityContext) + facts.policies.compactMap(\.securityContext) + connLabels)
            for label in labels {
                do {
                    try kernel.validate(label)
                    facts.kernelLabelVerdicts[label] = .some(nil)
                } catch {
                    facts.kernelLabelVerdicts[label] = .some("\(error)")
                }
            }
        }
        // NetLabel's configuration is the host's (its generic netlink family is not per namespace).
        let maps = ChildProcess.run(["netlabelctl", "-p", "map", "list"], searchPath: true)
        if maps.status == 0 {
            facts.netlabelMaps = maps.output
        } else {
            facts.netlabelError = maps.status == -1 ? "netlabelctl (Debian netlabel-tools) is not installed" : "netlabelctl -p map list: \(maps.output)"
        }
        if RunningPolicy.isAvailable {
            do { facts.policy = try PolicyOrigin.running.load().server } catch { facts.policyError = "\(error)" }
        } else {
            facts.policyError = RunningPolicyError.notEnabled.description
        }
        return facts
    }

    /// Why `netns` (a name or path, as `--netns` takes it) names no network namespace: not a name
    /// (empty, `.`, `..`), or its file (`/run/netns/NAME`, or the path) does not exist; nil when it does.
    public static func namespaceProblem(_ netns: String) -> String? {
        let namespace = NetworkNamespace(nameOrPath: netns)
        if case .named(let name) = namespace, name.isEmpty || name == "." || name == ".." { return "not a namespace name" }
        guard entryExists(atPath: namespace.path) else {
            return "no such network namespace (\(namespace.path) does not exist; ip netns list shows the named ones)"
        }
        return nil
    }

    /// A file's text, nil when it cannot be read.
    static func text(_ path: String) -> String? {
        (try? readFileContents(atPath: path, limit: 1 << 24)).map { String(decoding: $0, as: UTF8.self) }
    }

    /// `/sys/fs/selinux/policy_capabilities/NAME` → value; nil when the directory is not there.
    static func capabilities() -> [String: Bool]? {
        let dir = "/sys/fs/selinux/policy_capabilities"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return nil }
        var out: [String: Bool] = [:]
        for name in names {
            if let value = text("\(dir)/\(name)")?.trimmingCharacters(in: .whitespacesAndNewlines) { out[name] = value == "1" }
        }
        return out
    }

    /// A file of `/proc/net` as the namespace sees it: read by a thread that entered the namespace,
    /// through `/proc/thread-self/net` (`/proc/self/net` follows the process's main thread).
    static func namespaceText(_ name: String, netns: String?) -> String? {
        guard let netns else { return text("/proc/thread-self/net/\(name)") }
        return (try? NetworkNamespace(nameOrPath: netns).run { text("/proc/thread-self/net/\(name)") }) ?? nil
    }
}
