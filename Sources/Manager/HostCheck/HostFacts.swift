public import DecisionEngine
public import IPsecModel
public import SecurityContexts

/// Everything `salabel doctor` reads from a host, as the host gave it: file contents as text (nil
/// where the file could not be read), the SAD and SPD, and the running policy. The ``Doctor``
/// decides over this value alone, so each check is tested with facts broken on purpose; the reader
/// of a live host is `XfrmNetlink`'s `HostFactsReader` (Specs/manager/doctor.md).
public struct HostFacts: Sendable {
    /// The kernel release (`/proc/sys/kernel/osrelease`, what `uname -r` prints).
    public var kernelRelease: String?
    /// `/sys/fs/selinux/enforce` (`0` or `1`); nil when selinuxfs is not mounted there.
    public var enforce: String?
    /// `/proc/filesystems`: whether the kernel registered `selinuxfs` (SELinux initialized).
    public var filesystems: String?
    /// `/etc/selinux/config`, where the mode at boot (`SELINUX=`) is set.
    public var selinuxConfig: String?
    /// `/sys/kernel/security/lsm`: the active LSMs in order; nil when securityfs is not mounted.
    public var lsm: String?
    /// `/proc/cmdline`.
    public var cmdline: String?
    /// The kernel's build configuration and the file it came from (`/boot/config-RELEASE` or
    /// `/proc/config.gz`); nil when neither exists.
    public var kernelConfig: (source: String, text: String)?
    /// `/proc/modules`.
    public var procModules: String?
    /// Which of ``Doctor/modules`` have a directory `/sys/module/NAME` (loaded, or built in with
    /// parameters).
    public var sysModules: Set<String>
    /// `/lib/modules/RELEASE/modules.builtin`.
    public var modulesBuiltin: String?
    /// `/sys/fs/selinux/policy_capabilities/NAME`, each file's value; nil without selinuxfs.
    public var policyCapabilities: [String: Bool]?
    /// The SAD of the namespace (nil with ``xfrmError``).
    public var sas: [SecurityAssociation]
    /// The SPD of the namespace.
    public var policies: [PolicyEntry]
    /// Why the SAD/SPD could not be dumped.
    public var xfrmError: String?
    /// `/proc/net/xfrm_stat` of the namespace (per network namespace).
    public var xfrmStat: String?
    /// The kernel's own verdict on each SA and SPD label (`security_check_context`): nil for a label
    /// it accepts, else why not. Empty when SELinux is off.
    public var kernelLabelVerdicts: [SecurityContext: String?]
    /// The running policy (`/sys/fs/selinux/policy`), for the polmatch checks; nil with ``policyError``.
    public var policy: SecurityServer?
    /// Why the running policy could not be read.
    public var policyError: String?
    /// The network namespace read (`--netns`), nil for the caller's own.
    public var namespace: String?
    /// `netlabelctl -p map list` (NetLabel's domain mappings, for the whole host); nil when
    /// netlabelctl (Debian netlabel-tools) is not installed or failed (``netlabelError``).
    public var netlabelMaps: String? = nil
    /// Why `netlabelctl` gave no mapping list: not installed, or its error.
    public var netlabelError: String? = nil
    /// libreswan: pluto and its labeled conns; nil when libreswan is not installed and pluto does
    /// not run (check 9).
    public var libreswan: LibreswanFacts? = nil

    public init(
        kernelRelease: String? = nil, enforce: String? = nil, filesystems: String? = nil, selinuxConfig: String? = nil, lsm: String? = nil,
        cmdline: String? = nil, kernelConfig: (source: String, text: String)? = nil, procModules: String? = nil, sysModules: Set<String> = [],
        modulesBuiltin: String? = nil, policyCapabilities: [String: Bool]? = nil, sas: [SecurityAssociation] = [], policies: [PolicyEntry] = [],
        xfrmError: String? = nil, xfrmStat: String? = nil, kernelLabelVerdicts: [SecurityContext: String?] = [:], policy: SecurityServer? = nil,
        policyError: String? = nil, namespace: String? = nil
    ) {
        self.kernelRelease = kernelRelease
        self.enforce = enforce
        self.filesystems = filesystems
        self.selinuxConfig = selinuxConfig
        self.lsm = lsm
        self.cmdline = cmdline
        self.kernelConfig = kernelConfig
        self.procModules = procModules
        self.sysModules = sysModules
        self.modulesBuiltin = modulesBuiltin
        self.policyCapabilities = policyCapabilities
        self.sas = sas
        self.policies = policies
        self.xfrmError = xfrmError
        self.xfrmStat = xfrmStat
        self.kernelLabelVerdicts = kernelLabelVerdicts
        self.policy = policy
        self.policyError = policyError
        self.namespace = namespace
    }
}
