// salabel doctor: a host's readiness for labeled IPsec, checked over the facts read from it
// (Specs/manager/doctor.md). The references to edges and sections are to Specs/kernel/labeled-ipsec.md.

internal import Foundation

/// Checks a host for labeled IPsec, item by item, and says what to fix. Pure: it decides over a
/// ``HostFacts`` value alone; `XfrmNetlink`'s `HostFactsReader` reads one from a live host.
public enum Doctor {
    /// The modules labeled IPsec needs, with the kernel option that builds each in: ESP for IPv4 and
    /// IPv6, and the NETLINK_XFRM interface (`ip xfrm`, salabel, IKE daemons).
    public static let modules: [(name: String, option: String)] = [
        ("esp4", "CONFIG_INET_ESP"), ("esp6", "CONFIG_INET6_ESP"), ("xfrm_user", "CONFIG_XFRM_USER"),
    ]
    /// The LSMs that Linux 6.1 lets only one of be active (`LSM_FLAG_EXCLUSIVE`): the first one in the
    /// order wins, the later ones are not initialized (`security/security.c`).
    public static let exclusiveLSMs: Set<String> = ["selinux", "apparmor", "smack", "tomoyo"]
    /// How to change the kernel command line on a GRUB host.
    static let grub = "GRUB_CMDLINE_LINUX in /etc/default/grub, then update-grub and a reboot"

    /// Every finding and note, errors first, then warnings, then notes; each kind in check order.
    public static func check(_ facts: HostFacts) -> [DoctorFinding] {
        var out: [DoctorFinding] = []
        out += selinuxMode(facts)
        out += lsmOrder(facts)
        out += xfrmHook(facts)
        out += moduleChecks(facts)
        out += policyCapabilities(facts)
        out += labelChecks(facts)
        out += counterChecks(facts)
        out += netlabelCheck(facts)
        out += libreswanChecks(facts)
        return out.enumerated().sorted { ($0.element.severity, $0.offset) < ($1.element.severity, $1.offset) }.map(\.element)
    }

    // MARK: 1. SELinux enabled and enforcing

    static func selinuxMode(_ facts: HostFacts) -> [DoctorFinding] {
        let configMode = facts.selinuxConfig.flatMap { configValue("SELINUX", in: $0) }
        let cmdline = facts.cmdline.map(KernelCommandLine.init)
        guard let enforce = facts.enforce?.trimmingCharacters(in: .whitespacesAndNewlines) else {
            let registered = facts.filesystems.map { $0.split(separator: "\n").contains { $0.hasSuffix("\tselinuxfs") || $0 == "nodev\tselinuxfs" } }
            if registered == true {
                return [
                    DoctorFinding(
                        check: .selinuxEnabled, severity: .error,
                        seen: "SELinux is initialized (selinuxfs in /proc/filesystems) but selinuxfs is not mounted at /sys/fs/selinux",
                        meaning: "libselinux, salabel and IKE daemons cannot ask the kernel's policy, and the running policy cannot be read",
                        fix: "mount -t selinuxfs selinuxfs /sys/fs/selinux")
                ]
            }
            var fix =
                "boot with security=selinux selinux=1 (\(grub)), with a policy installed (Debian: apt install selinux-basics selinux-policy-default; selinux-activate)"
            if cmdline?.value(of: "selinux") == "0" { fix = "remove selinux=0 from the kernel command line and " + fix }
            return [
                DoctorFinding(
                    check: .selinuxEnabled, severity: .error,
                    seen: "SELinux is not enabled: no /sys/fs/selinux/enforce" + (registered == false ? " and no selinuxfs in /proc/filesystems" : ""),
                    meaning: "no SELinux check is made on SAs, SPD entries or the traffic they carry: the labels are not enforced",
                    fix: fix)
            ]
        }
        if enforce == "0" {
            var fix = "setenforce 1 (now); SELINUX=enforcing in /etc/selinux/config (at boot)"
            if configMode == "enforcing" { fix = "setenforce 1 (/etc/selinux/config already says SELINUX=enforcing)" }
            if cmdline?.value(of: "enforcing") == "0" { fix += "; remove enforcing=0 from the kernel command line (\(grub))" }
            return [
                DoctorFinding(
                    check: .selinuxEnforcing, severity: .error, seen: "SELinux is permissive (/sys/fs/selinux/enforce is 0)",
                    meaning:
                        "every denial (setcontext, polmatch, sendto, recvfrom, peer recv) is logged and then allowed: every labeled SPD entry matches every flow (Specs/kernel/labeled-ipsec.md, edge 27)",
                    fix: fix)
            ]
        }
        if let configMode, configMode != "enforcing" {
            return [
                DoctorFinding(
                    check: .selinuxEnforcing, severity: .warning,
                    seen: "SELinux is enforcing now, but /etc/selinux/config says SELINUX=\(configMode)",
                    meaning: "the next boot starts \(configMode == "disabled" ? "without SELinux" : "permissive"): labels will not be enforced",
                    fix: "SELINUX=enforcing in /etc/selinux/config")
            ]
        }
        return []
    }

    /// The value of `NAME=value` in a shell-style configuration file (`/etc/selinux/config`).
    static func configValue(_ name: String, in text: String) -> String? {
        text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.last { $0.hasPrefix(name + "=") }
            .map { String($0.dropFirst(name.count + 1)).trimmingCharacters(in: CharacterSet(charactersIn: "\"' ")) }
    }

    // MARK: 2. The LSM order

    static func lsmOrder(_ facts: HostFacts) -> [DoctorFinding] {
        let cmdline = KernelCommandLine(facts.cmdline ?? "")
        let config = facts.kernelConfig.map { KernelConfig(parsing: $0.text) }
        let order: [String]
        let from: String
        var out: [DoctorFinding] = []
        if let lsm = facts.lsm {
            order = lsmList(lsm)
            from = "/sys/kernel/security/lsm"
        } else {
            let configOrder = config?["CONFIG_LSM"].map(lsmList)
            // An exclusive LSM the kernel was built without is skipped wherever it is listed.
            func built(_ lsm: String) -> Bool { !exclusiveLSMs.contains(lsm) || config.map { $0["CONFIG_SECURITY_\(lsm.uppercased())"] == "y" } ?? true }
            if let asked = cmdline.lsmOrder {
                order = asked.filter(built)
                from = "lsm= on the kernel command line"
            } else if let configOrder {
                // security=NAME puts that LSM first (security/security.c, ordered_lsm_init).
                order = (cmdline.security.map { s in [s] + configOrder.filter { $0 != s } } ?? configOrder).filter(built)
                from = "CONFIG_LSM" + (cmdline.security.map { " with security=\($0)" } ?? "")
            } else {
                return [
                    DoctorFinding(
                        check: .lsmOrder, severity: .note, seen: "the LSM order is unknown: securityfs is not mounted and neither lsm= nor CONFIG_LSM was read",
                        meaning: "salabel cannot say which exclusive LSM the kernel chose",
                        fix: nil)
                ]
            }
            out.append(
                DoctorFinding(
                    check: .lsmOrder, severity: .note, seen: "securityfs is not mounted at /sys/kernel/security: the LSM order is taken from \(from)",
                    meaning: "mount -t securityfs -o ro securityfs /sys/kernel/security lets the kernel's own list be read",
                    fix: nil))
        }
        let first = order.first { exclusiveLSMs.contains($0) }
        guard first != "selinux" else { return out }
        let listed = "(\(order.joined(separator: ",")), from \(from))"
        let seen: String
        switch (first, order.contains("selinux")) {
        case (let f?, true): seen = "\(f) comes before selinux in the LSM order \(listed)"
        case (let f?, false): seen = "\(f) is the active exclusive LSM and selinux is not in the LSM order \(listed)"
        case (nil, _): seen = "selinux is not in the LSM order \(listed)"
        }
        let meaning =
            (first.map { "\($0) and selinux exclude each other and the first one wins: " } ?? "")
            + "SELinux is not active, so no label on an SA or SPD entry is checked"
        var fixed = order.filter { !exclusiveLSMs.contains($0) || $0 == "selinux" }
        if !fixed.contains("selinux") {
            let at = first.flatMap { f in order.filter { !exclusiveLSMs.contains($0) || $0 == f }.firstIndex(of: f) } ?? fixed.count
            fixed.insert("selinux", at: at)
        }
        let fix: String
        if let config, config["CONFIG_SECURITY_SELINUX"] != "y" {
            fix = "boot a kernel built with CONFIG_SECURITY_SELINUX=y (this one has \(config["CONFIG_SECURITY_SELINUX"] == "n" ? "it not set" : "none"))"
        } else if let asked = cmdline.value(of: "lsm") {
            fix = "boot with lsm=\(fixed.joined(separator: ",")) instead of lsm=\(asked) (\(grub))"
        } else {
            fix = "boot with security=selinux, or lsm=\(fixed.joined(separator: ",")) (\(grub))"
        }
        return out + [DoctorFinding(check: .lsmOrder, severity: .error, seen: seen, meaning: meaning, fix: fix)]
    }
}
