// salabel doctor's checks (HostCheck's Doctor) over host facts broken on purpose, one check at a time,
// starting from a healthy host built from the files the VM's Debian 6.1 kernel wrote
// (Tests/Fixtures/doctor/README.md). The polmatch expectations are read off the embedded policy's
// allow rules by hand (Sources/Engine/DecisionEngine/Resources/default-policy.conf, section 6):
// `allow kernel_t ipsec_spd_t:association { setcontext polmatch };` and
// `allow echo_domain ipsec_spd_t:association polmatch;` (echo_domain: echoserver_t, echoclient_t,
// echo_other_t); `allow echoserver_t ipsec_restricted_spd_t:association polmatch;`; no rule gives
// polmatch on security_t.

import DecisionEngine
import Foundation
import HostCheck
import IPsecModel
import SecurityContexts
import Testing
import TestSupport

func fixture(_ name: String) throws -> String {
    try String(contentsOf: repositoryRoot.appendingPathComponent("Tests/Fixtures/doctor/\(name)"), encoding: .utf8)
}

let embedded: SecurityServer = try! LoadedPolicy.loadWithoutKernel(.embedded)!.server
private let spdLabel = try! SecurityContext(parsing: "system_u:object_r:ipsec_spd_t:s0")
private let flowLabel = try! SecurityContext(parsing: "system_u:system_r:echoclient_t:s0")

private func prefix(_ text: String) -> IPPrefix { IPPrefix(address: IPAddress(text)!, length: 32)! }

/// A healthy host: the VM kernel's own files, enforcing, the embedded policy (network_peer_controls),
/// esp4/esp6/xfrm_user loaded, one labeled SPD entry and one labeled SA, no drop counted.
func healthy() throws -> HostFacts {
    HostFacts(
        kernelRelease: "6.1.0-57-amd64", enforce: "1", filesystems: "nodev\tsysfs\nnodev\tselinuxfs\n",
        selinuxConfig: "SELINUX=enforcing\nSELINUXTYPE=default\n", lsm: try fixture("lsm-6.1"), cmdline: try fixture("cmdline-6.1"),
        kernelConfig: ("/boot/config-6.1.0-57-amd64", try fixture("config-6.1-excerpt")), procModules: try fixture("modules-6.1"),
        sysModules: ["esp4", "esp6", "xfrm_user"], policyCapabilities: ["network_peer_controls": true, "always_check_network": false],
        sas: [
            SecurityAssociation(source: IPAddress("10.77.0.1")!, destination: IPAddress("10.77.0.2")!, spi: 0x100, securityContext: flowLabel)
        ],
        policies: [
            PolicyEntry(
                selector: TrafficSelector(source: prefix("10.77.0.1"), destination: prefix("10.77.0.2")), direction: .out,
                securityContext: spdLabel)
        ],
        xfrmStat: try fixture("xfrm_stat-6.1"), policy: embedded)
}

func findings(_ facts: HostFacts) -> [DoctorFinding] { Doctor.check(facts).filter(\.isFinding) }

@Suite("salabel doctor's checks over host facts")
struct DoctorTests {
    @Test func aHealthyHostHasNoFinding() throws {
        let all = Doctor.check(try healthy())
        #expect(all.filter(\.isFinding).isEmpty, "\(all.filter(\.isFinding).map(\.lines))")
        // The notes: who may polmatch the SPD label (kernel_t and the three echo domains, by the allow
        // rules above) and what always_check_network off means.
        let spd = try #require(all.first { $0.check == .spdLabel })
        #expect(spd.severity == .note)
        #expect(spd.seen.contains("4 domain(s) may polmatch its label: echo_other_t, echoclient_t, echoserver_t, kernel_t"), "\(spd.seen)")
        #expect(all.contains { $0.check == .alwaysCheckNetwork && $0.seen == "always_check_network is off" })
    }

    @Test func selinuxNotEnabled() throws {
        var facts = try healthy()
        facts.enforce = nil
        facts.filesystems = "nodev\tsysfs\n"
        facts.cmdline = "console=ttyS0 selinux=0"
        let f = try #require(findings(facts).first { $0.check == .selinuxEnabled })
        #expect(f.severity == .error)
        #expect(f.fix?.hasPrefix("remove selinux=0 from the kernel command line and boot with security=selinux selinux=1") == true, "\(f.fix ?? "")")
        // selinuxfs registered but not mounted: the fix is the mount.
        facts.filesystems = "nodev\tselinuxfs\n"
        #expect(findings(facts).first { $0.check == .selinuxEnabled }?.fix == "mount -t selinuxfs selinuxfs /sys/fs/selinux")
    }

    @Test func permissive() throws {
        var facts = try healthy()
        facts.enforce = "0"
        facts.selinuxConfig = "SELINUX=permissive\n"
        facts.cmdline = "console=ttyS0 security=selinux"
        let f = try #require(findings(facts).first { $0.check == .selinuxEnforcing })
        #expect(f.severity == .error && f.seen == "SELinux is permissive (/sys/fs/selinux/enforce is 0)")
        #expect(f.fix == "setenforce 1 (now); SELINUX=enforcing in /etc/selinux/config (at boot)")
        // The VM's command line has enforcing=0 (its init sets the mode after loading the policy).
        facts.cmdline = try fixture("cmdline-6.1")
        #expect(
            findings(facts).first { $0.check == .selinuxEnforcing }?.fix?.hasSuffix(
                "remove enforcing=0 from the kernel command line (GRUB_CMDLINE_LINUX in /etc/default/grub, then update-grub and a reboot)") == true)
        // Enforcing now, permissive at the next boot: a warning naming the file.
        facts.enforce = "1"
        let next = try #require(findings(facts).first { $0.check == .selinuxEnforcing })
        #expect(next.severity == .warning && next.fix == "SELINUX=enforcing in /etc/selinux/config")
    }

    @Test func lsmOrderFromSecurityfs() throws {
        var facts = try healthy()
        // What the 6.1 kernel lists with lsm=lockdown,yama,apparmor,selinux (apparmor wins).
        facts.lsm = "lockdown,capability,yama,apparmor"
        facts.cmdline = "console=ttyS0 lsm=lockdown,yama,apparmor,selinux"
        let f = try #require(findings(facts).first { $0.check == .lsmOrder })
        #expect(
            f.seen
                == "apparmor is the active exclusive LSM and selinux is not in the LSM order (lockdown,capability,yama,apparmor, from /sys/kernel/security/lsm)"
        )
        #expect(f.fix?.hasPrefix("boot with lsm=lockdown,capability,yama,selinux instead of lsm=lockdown,yama,apparmor,selinux") == true, "\(f.fix ?? "")")
    }

    @Test func lsmOrderInferredWithoutSecurityfs() throws {
        var facts = try healthy()
        facts.lsm = nil
        // No security= and no lsm=: CONFIG_LSM decides, and Debian's lists apparmor before selinux.
        facts.cmdline = "console=ttyS0 quiet"
        let f = try #require(findings(facts).first { $0.check == .lsmOrder })
        #expect(f.seen.hasPrefix("apparmor comes before selinux in the LSM order (landlock,lockdown,yama,loadpin,safesetid,integrity,apparmor,selinux"))
        #expect(f.fix?.hasPrefix("boot with security=selinux, or lsm=landlock,lockdown,yama,loadpin,safesetid,integrity,selinux,bpf") == true, "\(f.fix ?? "")")
        #expect(Doctor.check(facts).contains { $0.severity == .note && $0.seen.hasPrefix("securityfs is not mounted") })
        // security=selinux puts it first: no finding.
        facts.cmdline = try fixture("cmdline-6.1")
        #expect(findings(facts).isEmpty)
    }

    @Test func lsmOrderSkipsLSMsNotBuiltIn() throws {
        // A kernel like this machine's 6.18: SELinux built in but not in CONFIG_LSM, smack listed but not built.
        var facts = try healthy()
        facts.lsm = nil
        facts.cmdline = "console=ttyS0"
        facts.kernelConfig = (
            "/proc/config.gz",
            "CONFIG_SECURITY_NETWORK_XFRM=y\nCONFIG_SECURITY_SELINUX=y\n# CONFIG_SECURITY_SMACK is not set\nCONFIG_LSM=\"landlock,lockdown,smack,bpf\"\n"
        )
        let f = try #require(findings(facts).first { $0.check == .lsmOrder })
        #expect(f.seen == "selinux is not in the LSM order (landlock,lockdown,bpf, from CONFIG_LSM)")
        #expect(f.fix?.hasPrefix("boot with security=selinux, or lsm=landlock,lockdown,bpf,selinux") == true, "\(f.fix ?? "")")
        // A kernel without SELinux: the fix is another kernel.
        facts.kernelConfig!.text = facts.kernelConfig!.text.replacingOccurrences(of: "CONFIG_SECURITY_SELINUX=y", with: "# CONFIG_SECURITY_SELINUX is not set")
        #expect(findings(facts).first { $0.check == .lsmOrder }?.fix == "boot a kernel built with CONFIG_SECURITY_SELINUX=y (this one has it not set)")
    }

    @Test func xfrmHookMissingOrUnknown() throws {
        var facts = try healthy()
        facts.kernelConfig = ("/boot/config-x", "# CONFIG_SECURITY_NETWORK_XFRM is not set\n")
        let f = try #require(findings(facts).first { $0.check == .xfrmHook })
        #expect(f.seen == "CONFIG_SECURITY_NETWORK_XFRM is not set in /boot/config-x")
        #expect(f.fix?.contains("CONFIG_SECURITY_NETWORK_XFRM=y") == true)
        facts.kernelConfig = nil
        let unknown = try #require(Doctor.check(facts).first { $0.check == .xfrmHook })
        #expect(unknown.severity == .note && unknown.seen.contains("unknown"))
    }

    @Test func esp4Missing() throws {
        var facts = try healthy()
        facts.procModules = try fixture("modules-6.1").split(separator: "\n").filter { !$0.hasPrefix("esp4 ") }.joined(separator: "\n")
        facts.sysModules = ["esp6", "xfrm_user"]
        let f = findings(facts).filter { $0.check == .modules }
        #expect(f.map(\.subject) == ["esp4"])
        #expect(f.first?.fix?.hasPrefix("modprobe esp4") == true)
        // Built in (modules.builtin) counts as present.
        facts.modulesBuiltin = "kernel/net/ipv4/esp4.ko\n"
        #expect(findings(facts).isEmpty)
    }

    @Test func peerControlsOff() throws {
        var facts = try healthy()
        facts.policyCapabilities = ["network_peer_controls": false, "always_check_network": true]
        let f = try #require(findings(facts).first { $0.check == .peerControls })
        #expect(f.fix?.contains("policycap network_peer_controls;") == true)
        #expect(f.meaning.contains("D3 and D4"))
        #expect(Doctor.check(facts).contains { $0.check == .alwaysCheckNetwork && $0.seen == "always_check_network is on" })
    }

    @Test func spdLabelInvalidOrNotPolmatchable() throws {
        var facts = try healthy()
        // A type the policy does not define.
        facts.policies[0].securityContext = try SecurityContext(parsing: "system_u:object_r:gone_t:s0")
        let invalid = try #require(findings(facts).first { $0.check == .spdLabel })
        #expect(invalid.seen.contains("not valid in the running policy") && invalid.seen.contains("gone_t"), "\(invalid.seen)")
        // The kernel's verdict wins over the engine's.
        facts.policies[0].securityContext = spdLabel
        facts.kernelLabelVerdicts[spdLabel] = .some("Invalid argument")
        #expect(findings(facts).first { $0.check == .spdLabel }?.seen.contains("(Invalid argument)") == true)
        // Valid, but no domain may polmatch security_t.
        facts.kernelLabelVerdicts = [:]
        facts.policies[0].securityContext = try SecurityContext(parsing: "system_u:object_r:security_t:s0")
        let none = try #require(findings(facts).first { $0.check == .spdLabel })
        #expect(none.seen.hasSuffix("no local domain may polmatch its label"))
        #expect(none.fix?.contains("allow DOMAIN_t security_t:association polmatch;") == true)
        // Only echoserver_t may polmatch ipsec_restricted_spd_t.
        let restricted = try SecurityContext(parsing: "system_u:object_r:ipsec_restricted_spd_t:s0")
        #expect(
            Doctor.polmatchDomains(restricted, server: embedded, authorizer: AssociationAuthorizer(cache: AccessVectorCache(server: embedded))).map(\.type) == [
                "echoserver_t"
            ])
    }

    @Test func staleSALabel() throws {
        var facts = try healthy()
        facts.sas[0].securityContext = try SecurityContext(parsing: "system_u:system_r:stale_t:s0")
        let f = try #require(findings(facts).first { $0.check == .staleSALabel })
        #expect(f.subject == "SPI 0x100")
        #expect(f.fix?.hasPrefix("delete the SA (ip xfrm state delete src 10.77.0.1 dst 10.77.0.2 proto esp spi 0x100)") == true, "\(f.fix ?? "")")
    }

    @Test func dropCounters() throws {
        var facts = try healthy()
        facts.xfrmStat = try fixture("xfrm_stat-6.1").replacingOccurrences(of: "XfrmOutNoStates         \t0", with: "XfrmOutNoStates         \t3")
            .replacingOccurrences(of: "XfrmInTmplMismatch      \t0", with: "XfrmInTmplMismatch      \t12")
        let f = findings(facts).filter { $0.check == .xfrmStat }
        #expect(f.map(\.subject) == ["XfrmInTmplMismatch", "XfrmOutNoStates"])
        #expect(f.last?.seen == "XfrmOutNoStates is 3 in /proc/net/xfrm_stat")
        #expect(f.last?.meaning.contains("no SA was found") == true)
    }
}

@Suite("the kernel files salabel doctor reads, as the VM's 6.1 kernel wrote them")
struct KernelFileFormatTests {
    @Test func xfrmStat() throws {
        let stats = try #require(XfrmStatistics(parsing: try fixture("xfrm_stat-6.1")))
        // Every counter of net/xfrm/xfrm_proc.c's list in 6.1 (28), all zero on a fresh guest.
        #expect(stats.counters.count == 28)
        #expect(stats.counters.first?.name == "XfrmInError" && stats.counters.last?.name == "XfrmAcquireError")
        #expect(stats.counters.allSatisfy { $0.value == 0 })
        #expect(XfrmStatistics(parsing: "XfrmInError\tx\n") == nil)
    }

    @Test func lsmAndCmdline() throws {
        #expect(lsmList(try fixture("lsm-6.1")) == ["lockdown", "capability", "landlock", "yama", "selinux", "bpf"])
        let cmdline = KernelCommandLine(try fixture("cmdline-6.1"))
        #expect(cmdline.security == "selinux" && cmdline.value(of: "enforcing") == "0" && cmdline.lsmOrder == nil)
    }

    @Test func configAndModules() throws {
        let config = KernelConfig(parsing: try fixture("config-6.1-excerpt"))
        #expect(config["CONFIG_SECURITY_NETWORK_XFRM"] == "y" && config["CONFIG_INET_ESP"] == "m")
        #expect(config["CONFIG_XFRM_USER_COMPAT"] == "n")
        #expect(config["CONFIG_LSM"]?.hasPrefix("landlock,lockdown,yama") == true)
        let modules = loadedModules(try fixture("modules-6.1"))
        #expect(modules.isSuperset(of: ["esp4", "esp6", "xfrm_user", "xfrm_algo"]))
        #expect(builtinModules("kernel/net/ipv4/esp4.ko\nkernel/net/xfrm/xfrm-user.ko\n") == ["esp4", "xfrm_user"])
    }
}

@Suite("salabel doctor's NetLabel check, over netlabelctl's output in the VM")
struct NetLabelCheckTests {
    @Test func mappingsParsed() throws {
        let cipso = NetLabelMapping.parse(try fixture("netlabel-map-cipso"))
        #expect(
            cipso.map(\.description) == [
                "domain echoclient_t: CIPSO, DOI = 16", "domain DEFAULT address 10.77.0.0/24: CIPSO, DOI = 16",
                "domain DEFAULT address 0.0.0.0/0: UNLABELED", "domain DEFAULT address ::/0: UNLABELED",
            ])
        #expect(NetLabelMapping.parse(try fixture("netlabel-map-default")).map(\.description) == ["domain DEFAULT: UNLABELED"])
    }

    @Test func cipsoBesideLabeledSAs() throws {
        var facts = try healthy()
        facts.netlabelMaps = try fixture("netlabel-map-default")
        #expect(findings(facts).isEmpty)
        facts.netlabelMaps = try fixture("netlabel-map-cipso")
        let f = try #require(findings(facts).first { $0.check == .netlabel })
        #expect(f.severity == .warning)
        #expect(
            f.seen
                == "NetLabel labels on the wire beside 1 labeled SA(s): domain echoclient_t: CIPSO, DOI = 16; domain DEFAULT address 10.77.0.0/24: CIPSO, DOI = 16"
        )
        #expect(f.fix?.contains("netlabelctl map add default address:ADDR protocol:unlbl") == true)
        // Without a labeled SA it is a note.
        facts.sas = []
        #expect(findings(facts).isEmpty)
        // netlabelctl not installed: a note.
        facts.netlabelMaps = nil
        #expect(Doctor.check(facts).contains { $0.check == .netlabel && $0.severity == .note && $0.seen.contains("not installed") })
    }
}
