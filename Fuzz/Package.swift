// swift-tools-version: 6.1
// libFuzzer targets for every parser of outside input. Built only with the fuzzer sanitizer:
//   swift build --package-path Fuzz --scratch-path .build-fuzz --sanitize=fuzzer --sanitize=address -Xswiftc -sanitize=fuzzer,address
//   .build-fuzz/debug/FuzzPolicyParser -max_total_time=60 -dict=Fuzz/policy.dict /tmp/new Fuzz/corpus/policy
// (SwiftPM passes the two sanitizers to swiftc as separate `-sanitize=` flags, and the last one
// wins: without the combined `-Xswiftc` flag the code gets ASan but no coverage instrumentation.)
// scripts/fuzz runs them all for a bounded time.
import PackageDescription

let package = Package(
    name: "salabel-fuzz",
    dependencies: [.package(name: "salabel", path: "..")],
    targets: [
        .executableTarget(
            name: "FuzzContextParser",
            dependencies: [.product(name: "SecurityContexts", package: "salabel")],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
        // AVC records read back from logs (`salabel why`).
        .executableTarget(
            name: "FuzzAuditLog",
            dependencies: [.product(name: "DecisionEngine", package: "salabel")],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
        .executableTarget(
            name: "FuzzPolicyParser",
            dependencies: [.product(name: "SELinuxPolicy", package: "salabel")],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
        // The whole load path: parse, compile, load into a SecurityServer, ask decisions.
        .executableTarget(
            name: "FuzzPolicyLoad",
            dependencies: [
                .product(name: "DecisionEngine", package: "salabel"),
                .product(name: "SELinuxPolicy", package: "salabel"),
                .product(name: "SecurityContexts", package: "salabel"),
            ],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
        // The kernel binary policy reader: bytes → PolicyDB(binary:) → SecurityServer → decisions.
        .executableTarget(
            name: "FuzzBinaryPolicy",
            dependencies: [
                .product(name: "DecisionEngine", package: "salabel"),
                .product(name: "SecurityContexts", package: "salabel"),
            ],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
        // Netlink framing, attributes, NLMSG_ERROR/NLMSG_DONE decoding and the request state machine.
        .executableTarget(
            name: "FuzzNetlinkFraming",
            dependencies: [.product(name: "NetlinkProtocol", package: "salabel")],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
        // The NETLINK_XFRM codecs: decode or refuse, and decode → encode → decode stable.
        .executableTarget(
            name: "FuzzXfrmDecoder",
            dependencies: [.product(name: "XfrmWire", package: "salabel")],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
        // The ESP data plane's inbound path: every packet accepted or dropped with a counted reason.
        .executableTarget(
            name: "FuzzESPParser",
            dependencies: [.product(name: "ESPDataPlane", package: "salabel"), .product(name: "IPsecModel", package: "salabel")],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
        // Behind the ICV: packets sealed with the SA's key from fuzzed plaintexts (padding, next header,
        // sequence numbers near window edges, ESN, the inner datagram), opened by an SA and by a node.
        .executableTarget(
            name: "FuzzESPSealed",
            dependencies: [
                .product(name: "ESPCrypto", package: "salabel"), .product(name: "ESPDataPlane", package: "salabel"),
                .product(name: "DataPlaneNode", package: "salabel"), .product(name: "DecisionEngine", package: "salabel"),
                .product(name: "IPsecModel", package: "salabel"), .product(name: "SecurityContexts", package: "salabel"),
                .product(name: "XfrmManager", package: "salabel"),
            ],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
        // The local socket's messages and the inner UDP datagram (transport and tunnel).
        .executableTarget(
            name: "FuzzDataPlaneInput",
            dependencies: [
                .product(name: "DataPlaneNode", package: "salabel"), .product(name: "ESPDataPlane", package: "salabel"),
                .product(name: "IPsecModel", package: "salabel"),
            ],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
        // Users' configuration: apply files, scenario files, `ip xfrm` lines (ADDSA arguments).
        .executableTarget(
            name: "FuzzConfigInput",
            dependencies: [
                .product(name: "XfrmManager", package: "salabel"), .product(name: "Scenario", package: "salabel"),
                .product(name: "IPsecModel", package: "salabel"), .product(name: "IKEConfig", package: "salabel"),
            ],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
    ]
)
