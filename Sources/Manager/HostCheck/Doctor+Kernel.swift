// salabel doctor: the kernel's build (the xfrm LSM hook), its IPsec modules and the policy
// capabilities (Specs/manager/doctor.md; sections and D-checks of Specs/kernel/labeled-ipsec.md).

internal import Foundation

extension Doctor {
    // MARK: 3. The xfrm LSM hook and the modules

    static func xfrmHook(_ facts: HostFacts) -> [DoctorFinding] {
        let release = facts.kernelRelease ?? "RELEASE"
        guard let config = facts.kernelConfig else {
            return [
                DoctorFinding(
                    check: .xfrmHook, severity: .note,
                    seen: "CONFIG_SECURITY_NETWORK_XFRM: unknown (neither /boot/config-\(release) nor /proc/config.gz exists)",
                    meaning: "without it SELinux has no hook on SAs and SPD entries; a kernel that accepts a labeled SA under SELinux has it",
                    fix: nil)
            ]
        }
        let value = KernelConfig(parsing: config.text)["CONFIG_SECURITY_NETWORK_XFRM"]
        guard value != "y" else { return [] }
        return [
            DoctorFinding(
                check: .xfrmHook, severity: .error,
                seen: "CONFIG_SECURITY_NETWORK_XFRM is \(value.map { $0 == "n" ? "not set" : "=\($0)" } ?? "absent") in \(config.source)",
                meaning: "the kernel has no LSM hook on xfrm: SA and SPD labels are refused or never checked (no setcontext, polmatch or sendto check)",
                fix: "boot a kernel built with CONFIG_SECURITY_NETWORK_XFRM=y (Debian's linux-image-amd64 has it)")
        ]
    }

    static func moduleChecks(_ facts: HostFacts) -> [DoctorFinding] {
        guard let procModules = facts.procModules else {
            return [
                DoctorFinding(
                    check: .modules, severity: .note, seen: "/proc/modules could not be read: whether esp4, esp6 and xfrm_user are there is unknown",
                    meaning: "", fix: nil)
            ]
        }
        let loaded = loadedModules(procModules)
        let builtin = facts.modulesBuiltin.map(builtinModules) ?? []
        let config = facts.kernelConfig.map { KernelConfig(parsing: $0.text) }
        var out: [DoctorFinding] = []
        for (name, option) in modules {
            if loaded.contains(name) || builtin.contains(name) || config?[option] == "y" || facts.sysModules.contains(name) { continue }
            let meaning: String
            switch name {
            case "esp4": meaning = "no IPv4 ESP transform: adding an IPv4 ESP SA fails unless the kernel can load it on demand (modprobe, the module file)"
            case "esp6": meaning = "no IPv6 ESP transform: adding an IPv6 ESP SA fails unless the kernel can load it on demand (modprobe, the module file)"
            default: meaning = "no NETLINK_XFRM interface: ip xfrm, salabel and IKE daemons cannot add SAs or SPD entries unless the kernel loads it on demand"
            }
            out.append(
                DoctorFinding(
                    check: .modules, severity: .warning,
                    seen:
                        "module \(name) is neither loaded (/proc/modules) nor built in (/sys/module/\(name), modules.builtin\(config == nil ? "" : ", \(option)"))",
                    meaning: meaning, fix: "modprobe \(name) (at boot: a line \(name) in /etc/modules-load.d/ipsec.conf)", subject: name))
        }
        return out
    }

    // MARK: 4. Policy capabilities

    static func policyCapabilities(_ facts: HostFacts) -> [DoctorFinding] {
        guard let caps = facts.policyCapabilities else { return [] }
        var out: [DoctorFinding] = []
        switch caps["network_peer_controls"] {
        case true?: break
        case false?, nil:
            out.append(
                DoctorFinding(
                    check: .peerControls, severity: .warning,
                    seen: caps["network_peer_controls"] == nil
                        ? "the kernel reports no capability network_peer_controls (/sys/fs/selinux/policy_capabilities)"
                        : "the running policy lacks network_peer_controls (/sys/fs/selinux/policy_capabilities/network_peer_controls is 0)",
                    meaning:
                        "the kernel uses the old checks: each packet delivered to an INET socket is checked association recvfrom against the first labeled SA's label (unlabeled_t without one), each outgoing packet association sendto against unlabeled_t (D3 and D4, Specs/kernel/labeled-ipsec.md §a.2); peer recv, netif and node are not checked",
                    fix:
                        "add `policycap network_peer_controls;` to the policy (refpolicy: policy/policy_capabilities), rebuild it and load it (semodule -B, or load_policy)"
                ))
        }
        let labeled = facts.sas.filter { $0.securityContext != nil }.count + facts.policies.filter { $0.securityContext != nil }.count
        let always = caps["always_check_network"] == true
        out.append(
            DoctorFinding(
                check: .alwaysCheckNetwork, severity: .note,
                seen: "always_check_network is \(always ? "on" : "off")",
                meaning: always
                    ? "peer recv, netif and node checks apply to all traffic, unlabeled traffic too (as unlabeled_t)"
                    : "peer recv, netif and node checks apply only while a labeled SA or SPD entry exists on the host (any namespace) or NetLabel is configured (edge 26, Specs/kernel/labeled-ipsec.md); this namespace has \(labeled) labeled SA(s) and SPD entries",
                fix: nil))
        return out
    }
}

extension Doctor {
    // MARK: 8. NetLabel

    static func netlabelCheck(_ facts: HostFacts) -> [DoctorFinding] {
        guard let text = facts.netlabelMaps else {
            return [
                DoctorFinding(
                    check: .netlabel, severity: .note,
                    seen: "NetLabel's configuration was not read: \(facts.netlabelError ?? "netlabelctl (Debian netlabel-tools) is not installed")",
                    meaning: "whether CIPSO/CALIPSO labels packets beside the labeled SAs is not known", fix: nil)
            ]
        }
        let labeling = NetLabelMapping.parse(text).filter(\.labels)
        guard !labeling.isEmpty else {
            return [
                DoctorFinding(
                    check: .netlabel, severity: .note, seen: "NetLabel maps no domain or address to CIPSO or CALIPSO (netlabelctl -p map list)",
                    meaning: "peer labels come from the labeled SAs alone", fix: nil)
            ]
        }
        let mappings = labeling.map(\.description).joined(separator: "; ")
        let labeled = facts.sas.filter { $0.securityContext != nil }.count
        guard labeled > 0 else {
            return [
                DoctorFinding(
                    check: .netlabel, severity: .note, seen: "NetLabel labels on the wire: \(mappings)",
                    meaning:
                        "no labeled SA here: peer labels come from NetLabel alone, and its configuration turns the peer checks on for all traffic (edge 26, Specs/kernel/labeled-ipsec.md)",
                    fix: nil)
            ]
        }
        return [
            DoctorFinding(
                check: .netlabel, severity: .warning, seen: "NetLabel labels on the wire beside \(labeled) labeled SA(s): \(mappings)",
                meaning:
                    "a packet that comes over a labeled SA and carries a CIPSO/CALIPSO option has two peer labels: the kernel takes the SA's only when the two have the same MLS level (security_net_peersid_resolve), else selinux_skb_peerlbl_sid fails and the packet is dropped",
                fix:
                    "label each peer one way: for the peers reached over labeled SAs, map their addresses to unlabeled (netlabelctl map add default address:ADDR protocol:unlbl) or delete the CIPSO/CALIPSO mapping (netlabelctl map del …)"
            )
        ]
    }
}
