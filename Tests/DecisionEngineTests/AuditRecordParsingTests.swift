import DecisionEngine
import SecurityContexts
import Testing

/// Reading AVC records back from logs (`AuditRecord(logLine:)`, `AuditRecord.records(inLog:)`).
/// The kernel lines are Debian's 6.1 kernel's own, from the scenario VM's /dev/kmsg (2026-12-06,
/// scripts/conformance with --verbose, while pluto started); the auditd, ausearch -i and USER_AVC
/// forms wrap the same bodies as audit userspace writes them (auditd's `type=AVC msg=audit(…):`,
/// ausearch's interpreted `audit(DATE TIME:SERIAL) :` with unquoted `comm=`).
struct AuditRecordParsingTests {
    static let kernel = [
        #"[   31.204131] audit: type=1400 audit(1796593274.504:203): avc:  denied  { egress } for  pid=219 comm="pluto" saddr=10.77.0.2 daddr=10.77.0.1 scontext=system_u:system_r:kernel_t:s0-s3:c0.c15 tcontext=system_u:object_r:netif_t:s0-s3:c0.c15 tclass=netif permissive=0"#,
        #"audit: type=1400 audit(1796593271.068:80): avc:  denied  { module_request } for  pid=184 comm="cryptomgr_probe" kmod="crypto-gcm(aes)" scontext=system_u:system_r:kernel_t:s0-s3:c0.c15 tcontext=system_u:system_r:kernel_t:s0-s3:c0.c15 tclass=system permissive=1"#,
        #"audit: type=1400 audit(1796593273.728:189): avc:  denied  { search } for  pid=224 comm="kworker/u4:0" name="/" dev="rootfs" ino=1 scontext=system_u:system_r:kernel_t:s0-s3:c0.c15 tcontext=system_u:object_r:unlabeled_t:s0 tclass=dir permissive=0"#,
    ]

    @Test func theKernelsLinesReadBackAndPrintAsTheKernelWroteThem() throws {
        for line in Self.kernel {
            let record = try #require(try AuditRecord(logLine: line))
            // The body from `avc:` on, byte for byte: salabel's printer is the kernel's format.
            #expect(record.description == String(line[line.range(of: "avc:")!.lowerBound...]))
        }
        let egress = try #require(try AuditRecord(logLine: Self.kernel[0]))
        #expect(egress.result == .denied && egress.permissions == ["egress"] && egress.tclass == "netif" && !egress.permissive)
        #expect(egress.subject == AuditSubject(pid: 219, comm: "pluto"))
        #expect(egress.fields.map(\.name) == ["saddr", "daddr"] && egress.fields.map(\.value) == ["10.77.0.2", "10.77.0.1"])
        #expect(egress.scontext.type == "kernel_t" && egress.tcontext.type == "netif_t")
        #expect(try AuditRecord(logLine: Self.kernel[1])?.permissive == true)
        // A quoted value keeps its quotes: it prints back as it was.
        #expect(try AuditRecord(logLine: Self.kernel[2])?.fields.first?.value == #""/""#)
    }

    @Test func auditdAusearchAndUserAVCForms() throws {
        let body = String(Self.kernel[0][Self.kernel[0].range(of: "avc:")!.lowerBound...])
        let kernel = try #require(try AuditRecord(logLine: Self.kernel[0]))
        #expect(try AuditRecord(logLine: "type=AVC msg=audit(1796593274.504:203): " + body) == kernel)
        let interpreted =
            "type=AVC msg=audit(12/06/2026 21:31:14.504:203) : avc:  denied  { egress } for  pid=219 comm=pluto saddr=10.77.0.2 "
            + "daddr=10.77.0.1 scontext=system_u:system_r:kernel_t:s0-s3:c0.c15 tcontext=system_u:object_r:netif_t:s0-s3:c0.c15 tclass=netif permissive=0"
        #expect(try AuditRecord(logLine: interpreted) == kernel)
        let user =
            "type=USER_AVC msg=audit(1796593300.001:300): pid=1 uid=81 auid=4294967295 ses=4294967295 subj=system_u:system_r:system_dbusd_t:s0 "
            + "msg='avc:  denied  { send_msg } for  scontext=system_u:system_r:a_t:s0 tcontext=system_u:system_r:b_t:s0 tclass=dbus permissive=0  "
            + #"exe="dbus-daemon" sauid=81 hostname=? addr=? terminal=?'"#
        let dbus = try #require(try AuditRecord(logLine: user))
        #expect(dbus.tclass == "dbus" && dbus.subject == nil && dbus.permissions == ["send_msg"])
        let (records, errors) = AuditRecord.records(
            inLog: [Self.kernel[0], "----", "type=AVC msg=audit(1796593274.504:203): " + body, interpreted, user].joined(separator: "\n"))
        #expect(errors.isEmpty)
        #expect(records.map(\.line) == [1, 3, 4, 5])
        #expect(records.map(\.event) == ["1796593274.504:203", "1796593274.504:203", "12/06/2026 21:31:14.504:203", "1796593300.001:300"])
    }

    @Test func aHexEncodedCommIsReadBackToItsText() throws {
        // The kernel hex-encodes a comm it would not print plainly (a space): "my prog".
        let line = "avc:  denied  { recv } for  pid=7 comm=6D792070726F67 scontext=a:b:c:s0 tcontext=a:b:d:s0 tclass=peer permissive=0"
        let r = try #require(try AuditRecord(logLine: line))
        #expect(r.subject?.comm == "my prog" && r.description == line)
        // Hex digits that decode to plain text were not the kernel's encoding: kept as written.
        #expect(try AuditRecord(logLine: line.replacingOccurrences(of: "6D792070726F67", with: "CAFE"))?.subject?.comm == "CAFE")
    }

    static let refused: [(String, String)] = [
        ("avc:  denied  recv for scontext=a:b:c tcontext=a:b:c tclass=peer", "no permission list after `avc:  denied`"),
        ("avc:  denied  { recv for scontext=a:b:c", "the permission list has no closing brace"),
        ("avc:  denied  { } for scontext=a:b:c", "the permission list is empty"),
        ("avc:  denied  { recv } for  tcontext=a:b:c tclass=peer", "no scontext="),
        ("avc:  denied  { recv } for  scontext=a:b:c tclass=peer", "no tcontext="),
        ("avc:  denied  { recv } for  scontext=a:b:c tcontext=a:b:c", "no tclass="),
        ("avc:  denied  { recv } for  scontext=nonsense tcontext=a:b:c tclass=peer", "scontext=nonsense is not a context"),
        ("avc:  denied  { recv } for  scontext=a:b:c tcontext=a:b:c tclass=peer permissive=2", "permissive=2: expected 0 or 1"),
        ("avc:  denied  { recv } for  pid=x scontext=a:b:c tcontext=a:b:c tclass=peer", "pid=x is not a process id"),
        ("avc:  denied  { re-cv } for  scontext=a:b:c tcontext=a:b:c tclass=peer", "a permission that is not a name"),
        // FuzzAuditLog's finding: an open quote after tclass= would swallow scontext= once printed.
        (#"avc:  denied  { recv } for  scontext=a:b:c tcontext=a:b:c tclass=peer x="open permissive=0"#, "a quoted value is not closed"),
    ]

    @Test(arguments: refused)
    func aMalformedRecordSaysWhy(line: String, message: String) {
        #expect(throws: AuditRecordParseError.self) { _ = try AuditRecord(logLine: line) }
        let (records, errors) = AuditRecord.records(inLog: "first line\n" + line)
        #expect(records.isEmpty && errors.count == 1 && errors.first?.line == 2)
        #expect(errors.first?.message.contains(message) == true, "\(errors.first?.message ?? "none")")
    }

    @Test func linesWithoutAnAccessRecordAreNotOnes() throws {
        for line in [
            "", "audit: type=1403 audit(1.2:3): auid=4294967295 ses=4294967295 lsm=selinux res=1",
            "type=USER_AVC msg=audit(1.2:3): pid=1 uid=0 msg='avc:  received policyload notice (seqno=2)  exe=\"/usr/lib/systemd/systemd\"'",
            "havc:  denied  { recv } for scontext=a:b:c tcontext=a:b:c tclass=peer",
        ] {
            #expect(try AuditRecord(logLine: line) == nil, "\(line)")
        }
    }
}
