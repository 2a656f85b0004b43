import Testing
import SELinuxPolicy
import SecurityContexts

/// One test per labeling statement, asserting the exact syntax tree.
@Suite struct ParserLabelingTests {
    let mlsContext = context("system_u", "object_r", "t", RangeSyntax(low: level("s0"), high: level("s15", .range("c0", "c1023"))))

    @Test func initialSIDContext() throws {
        guard
            case .initialSIDContext(let name, let value) =
                try parseOne("sid kernel system_u:object_r:t:s0 - s15:c0.c1023")
        else { Issue.record("kind"); return }
        #expect(name == "kernel" && value == mlsContext)

        guard case .initialSIDContext(_, let plain) = try parseOne("sid kernel u:r:t") else { Issue.record("kind"); return }
        #expect(plain == context("u", "r", "t"))
    }

    @Test func portcon() throws {
        guard
            case .portcon(let proto, let low, let high, let value) =
                try parseOne("portcon tcp 1024-65535 system_u:object_r:t:s0 - s15:c0.c1023")
        else { Issue.record("kind"); return }
        #expect(proto == "tcp" && low == 1024 && high == 65535 && value == mlsContext)

        guard case .portcon(_, let low2, let high2, _) = try parseOne("portcon udp 0x50 u:r:t") else { Issue.record("kind"); return }
        #expect(low2 == 80 && high2 == 80)
    }

    @Test func netifcon() throws {
        guard
            case .netifcon(let name, let interfaceContext, let packetContext) =
                try parseOne("netifcon eth0 u:r:if_t:s0 u:r:packet_t:s0")
        else { Issue.record("kind"); return }
        #expect(name == "eth0")
        #expect(interfaceContext == context("u", "r", "if_t", RangeSyntax(low: level("s0"))))
        #expect(packetContext == context("u", "r", "packet_t", RangeSyntax(low: level("s0"))))

        guard case .netifcon(let pattern, _, _) = try parseOne("netifcon eth* u:r:a u:r:b") else { Issue.record("kind"); return }
        #expect(pattern == "eth*")
    }

    @Test func nodecon() throws {
        guard
            case .nodecon(let address, let mask, let value) =
                try parseOne("nodecon 127.0.0.1 255.255.255.255 u:r:node_t:s0")
        else { Issue.record("kind"); return }
        #expect(address.bytes == [127, 0, 0, 1] && mask.bytes == [255, 255, 255, 255])
        #expect(value == context("u", "r", "node_t", RangeSyntax(low: level("s0"))))

        guard case .nodecon(let v6, let v6mask, _) = try parseOne("nodecon ::1 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff u:r:t")
        else { Issue.record("kind"); return }
        #expect(v6.bytes == Array(repeating: 0, count: 15) + [1])
        #expect(v6mask.bytes == Array(repeating: 255, count: 16))

        guard case .nodecon(let cidr, let cidrMask, _) = try parseOne("nodecon 10.1.2.3/8 u:r:t")
        else { Issue.record("kind"); return }
        #expect(cidr.bytes == [10, 0, 0, 0] && cidrMask.bytes == [255, 0, 0, 0])

        guard case .nodecon(let cidr6, let cidr6Mask, _) = try parseOne("nodecon fe80::/10 u:r:t")
        else { Issue.record("kind"); return }
        #expect(cidr6.bytes == [0xfe, 0x80] + Array(repeating: 0, count: 14))
        #expect(cidr6Mask.bytes == [0xff, 0xc0] + Array(repeating: 0, count: 14))
    }

    @Test func genfscon() throws {
        guard case .genfscon(let fs, let path, let fileType, let value) = try parseOne("genfscon proc /sys -d u:r:t")
        else { Issue.record("kind"); return }
        #expect(fs == "proc" && path == "/sys" && fileType == "d" && value == context("u", "r", "t"))

        guard case .genfscon(_, let quoted, let none, _) = try parseOne(#"genfscon afs "/" u:r:t:s0 - s0"#)
        else { Issue.record("kind"); return }
        #expect(quoted == "/" && none == nil)

        guard case .genfscon(let numeric, _, let dash, _) = try parseOne("genfscon 9p / -- u:r:t")
        else { Issue.record("kind"); return }
        #expect(numeric == "9p" && dash == "-")
    }

    @Test func fsUse() throws {
        for behavior in ["fs_use_xattr", "fs_use_task", "fs_use_trans"] {
            guard case .fsUse(let parsed, let fs, let value) = try parseOne("\(behavior) ext4 u:r:fs_t:s0;")
            else { Issue.record("kind"); return }
            #expect(parsed == behavior && fs == "ext4")
            #expect(value == context("u", "r", "fs_t", RangeSyntax(low: level("s0"))))
        }
        guard case .fsUse(let upper, _, _) = try parseOne("FS_USE_XATTR 9p u:r:t;") else { Issue.record("kind"); return }
        #expect(upper == "fs_use_xattr")
    }

    /// fscon, ibpkeycon and ibendportcon become typed statements, with checkpolicy 3.4's checks
    /// (`define_fs_context`, `define_ibpkey_context`, `define_ibendport_context`).
    @Test func fsconAndInfiniBandStatementsAreTyped() throws {
        guard case .fscon(let major, let minor, let a, let b) = try parseOne("fscon 8 0x11 u:r:a u:r:b") else { Issue.record("fscon"); return }
        #expect(major == 8 && minor == 17)
        #expect(a == context("u", "r", "a") && b == context("u", "r", "b"))
        guard case .ibpkeycon(let prefix, let low, let high, let c) = try parseOne("ibpkeycon fe80:: 0x10-0xFFFF u:r:t:s0 - s1:c0")
        else { Issue.record("ibpkeycon"); return }
        #expect(prefix == [0xfe, 0x80, 0, 0, 0, 0, 0, 0])
        #expect(low == 16 && high == 0xFFFF)
        #expect(c.type == "t")
        guard case .ibpkeycon(_, let one, let same, _) = try parseOne("ibpkeycon fe80:: 7 u:r:t") else { Issue.record("single key"); return }
        #expect(one == 7 && same == 7)
        guard case .ibendportcon(let device, let port, _) = try parseOne("ibendportcon mlx4_0 1 u:r:t") else { Issue.record("ibendportcon"); return }
        #expect(device == "mlx4_0" && port == 1)
        for (text, message) in [
            ("ibpkeycon fe80::1 1 u:r:t", "low 64 bits must be zero"),
            ("ibpkeycon fe80:: 0x10000 u:r:t", "16 bits"),
            ("ibpkeycon fe80:: 9-3 u:r:t", "low exceeds high"),
            ("ibendportcon mlx4_0 0 u:r:t", "1 to 255"),
            ("ibendportcon mlx4_0 256 u:r:t", "1 to 255"),
            ("ibendportcon \(String(repeating: "d", count: 64)) 1 u:r:t", "longer than 63 bytes"),
        ] {
            let error = #expect(throws: PolicyError.self, "\(text)") { _ = try parseOne(text) }
            #expect(error?.description.contains(message) == true, "\(text): \(String(describing: error))")
        }
    }

    @Test func otherLabelingKeptRaw() throws {
        let cases: [(String, String, [String])] = [
            ("pirqcon 33 u:r:t", "pirqcon", ["33", "u", ":", "r", ":", "t"]),
            ("iomemcon 0xfebd0000-0xfebd0fff u:r:t:s0", "iomemcon", ["0xfebd0000", "-", "0xfebd0fff", "u", ":", "r", ":", "t", ":", "s0"]),
            ("ioportcon 0x60 u:r:t", "ioportcon", ["0x60", "u", ":", "r", ":", "t"]),
            ("pcidevicecon 0xc800 u:r:t", "pcidevicecon", ["0xc800", "u", ":", "r", ":", "t"]),
            ("devicetreecon /soc/uart u:r:t", "devicetreecon", ["/soc/uart", "u", ":", "r", ":", "t"]),
        ]
        for (text, keyword, tokens) in cases {
            guard case .otherLabeling(let parsed, let parsedTokens) = try parseOne(text)
            else { Issue.record("kind for \(text)"); continue }
            #expect(parsed == keyword)
            #expect(parsedTokens == tokens)
        }
    }

    @Test func labelingStatementsWithoutSemicolonsFollowEachOther() throws {
        let statements = try parse(
            """
            portcon tcp 80 u:r:http_port_t:s0
            portcon tcp 443 u:r:http_port_t:s0
            netifcon lo u:r:a u:r:b
            nodecon 127.0.0.1 255.0.0.0 u:r:c
            """)
        #expect(statements.count == 4)
        #expect(statements[3].location == SourceLocation(file: "test.conf", line: 4, column: 1))
    }
}
