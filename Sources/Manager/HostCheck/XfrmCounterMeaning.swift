/// What each `/proc/net/xfrm_stat` counter counts, in salabel's words after the kernel's
/// Documentation/networking/xfrm_proc.rst, and what it most likely means on a host with labeled
/// SAs (Specs/manager/doctor.md; the checks are Specs/kernel/labeled-ipsec.md §a.2, D1 and D2).
public struct XfrmCounterMeaning: Sendable, Hashable {
    /// The kernel's name (`XfrmInNoStates`).
    public var name: String
    /// What the kernel counts.
    public var counts: String
    /// Where to look on a labeled host.
    public var look: String

    /// The meaning of a counter; a counter this table does not know still gets a generic one.
    public static func of(_ name: String) -> XfrmCounterMeaning {
        if let known = table[name] { return XfrmCounterMeaning(name: name, counts: known.0, look: known.1) }
        return XfrmCounterMeaning(
            name: name, counts: "a packet dropped by the xfrm code (a counter salabel has no description for)",
            look: "see Documentation/networking/xfrm_proc.rst for this kernel")
    }

    private static let table: [String: (String, String)] = [
        "XfrmInError": ("inbound packets dropped for an error no other counter covers", "dmesg, and the SAs of the peer"),
        "XfrmInBufferError": ("inbound packets dropped for lack of buffer space", "memory pressure on the host"),
        "XfrmInHdrError": ("inbound packets with a malformed header", "the peer's ESP (salabel esp-wire can decode a capture)"),
        "XfrmInNoStates": (
            "inbound ESP/AH packets whose SPI, destination or protocol match no SA here",
            "the peer sends on an SA this host lacks: compare both ends' SAs (ip xfrm state on each, or salabel status)"
        ),
        "XfrmInStateProtoError": (
            "inbound packets the SA's transform rejected, e.g. a wrong key or an ICV that does not verify",
            "the two ends' keys and algorithms for the SPI differ: reinstall the SA pair from one apply file"
        ),
        "XfrmInStateModeError": ("inbound packets the SA's mode (transport/tunnel) could not handle", "the mode of the SA on both ends"),
        "XfrmInStateSeqError": (
            "inbound packets whose sequence number is outside the replay window (replays, or a reused SPI)",
            "an SA reinstalled on one end only: reinstall both ends"
        ),
        "XfrmInStateExpired": ("inbound packets on an expired SA", "the SA lifetimes and the key manager's rekeying"),
        "XfrmInStateMismatch": ("inbound packets whose SA options do not match (e.g. UDP encapsulation)", "the encap settings of both ends"),
        "XfrmInStateInvalid": ("inbound packets on an SA that is not valid", "the SA's state (ip xfrm state)"),
        "XfrmInTmplMismatch": (
            "inbound packets whose SAs match no template of the inbound SPD entry; on a labeled host also an SA whose label the entry's flow check refused",
            "the dir in entries' templates and labels against the SAs (salabel why with the AVC records of polmatch)"
        ),
        "XfrmInNoPols": (
            "inbound IPsec packets for which no inbound SPD entry was found; a labeled entry whose polmatch is denied is skipped as if absent",
            "the dir in SPD entries, and which domains may polmatch their labels (the spd-label check)"
        ),
        "XfrmInPolBlock": ("inbound packets dropped by a block policy", "ip xfrm policy: entries with action block"),
        "XfrmInPolError": (
            "inbound packets dropped for an error in the policy lookup (a label that is not an SELinux context ends the lookup with EINVAL)",
            "the labels of the inbound SPD entries"
        ),
        "XfrmOutError": ("outbound packets dropped for an error no other counter covers", "dmesg"),
        "XfrmOutBundleGenError": ("outbound packets for which no transform bundle could be built", "the SAs of the SPD entry's templates"),
        "XfrmOutBundleCheckError": ("outbound packets whose bundle was no longer valid", "SAs deleted or replaced while in use"),
        "XfrmOutNoStates": (
            "outbound packets for which no SA was found; on a labeled host, no SA carries the flow's label, and an ACQUIRE went to the key manager",
            "whether a key manager answers ACQUIREs for that label (salabel status --watch; the IKE daemon's conns)"
        ),
        "XfrmOutStateProtoError": ("outbound packets the SA's transform could not process", "the SA's algorithms and keys"),
        "XfrmOutStateModeError": ("outbound packets the SA's mode could not handle", "the SA's mode"),
        "XfrmOutStateSeqError": ("outbound packets not sent because the SA's sequence number overflowed", "rekeying: the SA must be replaced"),
        "XfrmOutStateExpired": ("outbound packets on an expired SA", "the SA lifetimes and the key manager's rekeying"),
        "XfrmOutPolBlock": ("outbound packets dropped by a block policy", "ip xfrm policy: entries with action block"),
        "XfrmOutPolDead": ("outbound packets on a policy that was being removed", "SPD entries deleted while in use"),
        "XfrmOutPolError": ("outbound packets dropped for an error in the policy lookup", "the labels of the outbound SPD entries"),
        "XfrmFwdHdrError": ("forwarded packets whose routing is not allowed", "the dir fwd SPD entries"),
        "XfrmOutStateInvalid": ("outbound packets on an SA that is not valid (perhaps expired)", "the SA's state (ip xfrm state)"),
        "XfrmAcquireError": (
            "packets that met an SA still being acquired (larval), or an ACQUIRE that failed",
            "the key manager's answers to ACQUIREs (salabel status --watch)"
        ),
    ]
}
