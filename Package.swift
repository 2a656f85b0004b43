// swift-tools-version: 6.1
//
// salabel: labeled IPsec on Linux. The layout of Sources/ follows the architecture:
//   Sources/SecurityContexts          security contexts, MLS levels and ranges (shared value types)
//   Sources/IPsecModel             the one model of an SA and an SPD entry (shared value types)
//   Sources/Engine/SELinuxPolicy     the kernel policy language: lexer, parser, compiler to a policy database
//   Sources/Engine/DecisionEngine     the decision engine: security server, AVC, audit records, association API
//   Sources/Engine/SELinuxKernel  the same decisions asked of the running kernel (libselinux)
//   Sources/Manager           the xfrm manager: pure codecs and operations (NetlinkProtocol, XfrmWire, XfrmManager),
//                             the socket (NetlinkSocket, libmnl) and the live-kernel pieces (XfrmNetlink);
//                             libreswan's configuration (IKEConfig) and its files and control commands (IKEControl)
//   Sources/Resolver          the resolver: inbound labels by SA, outbound SPD/SA choices, with reasons (no I/O)
//   Sources/DataPlane         the userspace ESP data plane (libcrypto)
//   Sources/Scenario          scenario files and their players: the model, the data plane, a real kernel
//   Sources/LinuxSystem       the system layer at the bottom: Errno (swift-system's, with C names), the syscall
//                             funnel, network namespaces, UDP and local sockets, processes
//   Sources/CLI               the `salabel` command
//   Sources/CLibraries        one system-library target per C library (and CLinux, Linux's own declarations),
//                             each imported by one Swift module
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny")
]

let package = Package(
    name: "salabel",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "salabel", targets: ["salabel"]),
        .executable(name: "salabel-resolver-bench", targets: ["salabel-resolver-bench"]),
        .library(name: "SecurityContexts", targets: ["SecurityContexts"]),
        .library(name: "SELinuxPolicy", targets: ["SELinuxPolicy"]),
        .library(name: "IPsecModel", targets: ["IPsecModel"]),
        .library(name: "DecisionEngine", targets: ["DecisionEngine"]),
        .library(name: "SELinuxKernel", targets: ["SELinuxKernel"]),
        .library(name: "NetlinkProtocol", targets: ["NetlinkProtocol"]),
        .library(name: "NetlinkSocket", targets: ["NetlinkSocket"]),
        .library(name: "XfrmWire", targets: ["XfrmWire"]),
        .library(name: "XfrmManager", targets: ["XfrmManager"]),
        .library(name: "XfrmNetlink", targets: ["XfrmNetlink"]),
        .library(name: "IKEConfig", targets: ["IKEConfig"]),
        .library(name: "IKEControl", targets: ["IKEControl"]),
        .library(name: "HostCheck", targets: ["HostCheck"]),
        .library(name: "Resolver", targets: ["Resolver"]),
        .library(name: "Scenario", targets: ["Scenario"]),
        .library(name: "ScenarioKernel", targets: ["ScenarioKernel"]),
        .library(name: "ScenarioDemo", targets: ["ScenarioDemo"]),
        .library(name: "ESPCrypto", targets: ["ESPCrypto"]),
        .library(name: "ESPDataPlane", targets: ["ESPDataPlane"]),
        .library(name: "DataPlaneNode", targets: ["DataPlaneNode"]),
        .library(name: "DataPlaneHost", targets: ["DataPlaneHost"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        // Errno (and what else the system layer takes from it): `SystemPackage`, in LinuxSystem only.
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        // `swift package generate-documentation` (scripts/docs): the DocC catalogs of the libraries.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        // C libraries, through pkg-config. Each is imported by exactly one Swift module.
        .systemLibrary(
            name: "CSELinux", path: "Sources/CLibraries/CSELinux", pkgConfig: "libselinux",
            providers: [.apt(["libselinux1-dev"])]),
        .systemLibrary(
            name: "CMnl", path: "Sources/CLibraries/CMnl", pkgConfig: "libmnl",
            providers: [.apt(["libmnl-dev"])]),
        .systemLibrary(
            name: "CCrypto", path: "Sources/CLibraries/CCrypto", pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]),
        // Linux's own declarations Swift's Glibc module lacks (setns, CLONE_NEWNET): no library, libc has them.
        .systemLibrary(name: "CLinux", path: "Sources/CLibraries/CLinux"),

        // Shared value types.
        .target(name: "SecurityContexts", path: "Sources/SecurityContexts", swiftSettings: swiftSettings),

        // The one model of an SA and an SPD entry, shared by the manager, resolver and data plane.
        .target(
            name: "IPsecModel", dependencies: ["SecurityContexts"], path: "Sources/IPsecModel", swiftSettings: swiftSettings),

        // The decision engine.
        .target(
            name: "SELinuxPolicy", dependencies: ["SecurityContexts"], path: "Sources/Engine/SELinuxPolicy",
            swiftSettings: swiftSettings),
        .target(
            name: "DecisionEngine",
            dependencies: ["SecurityContexts", "SELinuxPolicy"],
            path: "Sources/Engine/DecisionEngine",
            resources: [.embedInCode("Resources/default-policy.conf"), .embedInCode("Resources/default-policy.33")],
            swiftSettings: swiftSettings),
        .target(
            name: "SELinuxKernel", dependencies: ["CSELinux", "SecurityContexts", "DecisionEngine", "LinuxSystem"],
            path: "Sources/Engine/SELinuxKernel", swiftSettings: swiftSettings),

        // The xfrm manager's netlink transport: framing, attributes, ACKs and the request state
        // machine in pure Swift (NetlinkProtocol); the socket and the connection over it (NetlinkSocket).
        .target(
            name: "NetlinkProtocol", dependencies: ["LinuxSystem"], path: "Sources/Manager/NetlinkProtocol", swiftSettings: swiftSettings),
        // The xfrm manager's socket layer and the data plane's crypto layer.
        .target(
            name: "NetlinkSocket", dependencies: ["CMnl", "NetlinkProtocol", "LinuxSystem"], path: "Sources/Manager/NetlinkSocket",
            swiftSettings: swiftSettings),
        .target(
            name: "ESPCrypto", dependencies: ["CCrypto"], path: "Sources/DataPlane/ESPCrypto",
            swiftSettings: swiftSettings),

        // The userspace ESP data plane (RFC 4303): the per-SA transform and the replay window, over ESPCrypto.
        .target(
            name: "ESPDataPlane", dependencies: ["ESPCrypto", "IPsecModel"], path: "Sources/DataPlane/ESPDataPlane",
            swiftSettings: swiftSettings),

        // The userspace data plane's hosts: the per-host pipeline (SAD/SPD, resolver, engine; no I/O) and
        // the UDP/local-socket host around it (Specs/dataplane/node.md, endpoints.md).
        .target(
            name: "DataPlaneNode", dependencies: ["ESPDataPlane", "Resolver", "DecisionEngine", "IPsecModel", "SecurityContexts"],
            path: "Sources/DataPlane/DataPlaneNode", swiftSettings: swiftSettings),
        .target(
            name: "DataPlaneHost",
            dependencies: [
                "DataPlaneNode", "ESPDataPlane", "Resolver", "DecisionEngine", "IPsecModel", "SecurityContexts", "LinuxSystem", "XfrmManager",
                "SELinuxKernel",
            ],
            path: "Sources/DataPlane/DataPlaneHost", swiftSettings: swiftSettings),

        // The NETLINK_XFRM message codecs: kernel structs, attributes, requests and notifications;
        // pure Swift, no I/O (Specs/manager/wire-format.md).
        .target(
            name: "XfrmWire", dependencies: ["IPsecModel", "SecurityContexts", "NetlinkProtocol"],
            path: "Sources/Manager/XfrmWire", swiftSettings: swiftSettings),

        // The xfrm manager: operations on labeled SAs and SPD entries, `ip xfrm` lines, apply files,
        // batches as transactions, over the XfrmKernel protocol; no I/O of its own.
        .target(
            name: "XfrmManager",
            dependencies: ["IPsecModel", "SecurityContexts", "DecisionEngine", .product(name: "Yams", package: "Yams")],
            path: "Sources/Manager/XfrmManager", swiftSettings: swiftSettings),

        // libreswan's configuration from an apply file's associations keyed by IKE: conns, secrets and
        // the engine's checks of the labels the daemon will install, as values and text; no I/O.
        .target(
            name: "IKEConfig", dependencies: ["XfrmManager", "IPsecModel", "SecurityContexts", "DecisionEngine"],
            path: "Sources/Manager/IKEConfig", swiftSettings: swiftSettings),
        // That configuration on a host: its files written whole (the secrets 0600) and loaded through
        // libreswan's control commands.
        .target(
            name: "IKEControl", dependencies: ["IKEConfig", "LinuxSystem"], path: "Sources/Manager/IKEControl", swiftSettings: swiftSettings),

        // `salabel doctor`'s checks of a host for labeled IPsec over the facts read from it (kernel
        // files, SAD/SPD, the running policy), each finding with its fix; no I/O (Specs/manager/doctor.md).
        .target(
            name: "HostCheck", dependencies: ["DecisionEngine", "IPsecModel", "SecurityContexts", "XfrmManager"], path: "Sources/Manager/HostCheck",
            swiftSettings: swiftSettings),

        // The resolver: labels inbound traffic by its SA and explains outbound choices; no I/O.
        .target(
            name: "Resolver", dependencies: ["IPsecModel", "SecurityContexts", "DecisionEngine"],
            path: "Sources/Resolver", swiftSettings: swiftSettings),

        // The manager and the resolver on a live kernel: the XfrmKernel over NETLINK_XFRM, the event
        // feed and monitor, and the mirror kept in sync from them. The only library above libmnl
        // besides the socket layer itself.
        .target(
            name: "XfrmNetlink",
            dependencies: [
                "XfrmManager", "Resolver", "XfrmWire", "NetlinkSocket", "NetlinkProtocol", "LinuxSystem", "DecisionEngine", "IPsecModel",
                "SecurityContexts", "SELinuxKernel", "HostCheck",
            ],
            path: "Sources/Manager/XfrmNetlink", swiftSettings: swiftSettings),
        // Scenario files and the players that run them without a kernel: the model and the data plane.
        .target(
            name: "Scenario",
            dependencies: [
                "Resolver", "XfrmManager", "IPsecModel", "DecisionEngine", "SecurityContexts", "LinuxSystem", "DataPlaneNode",
                "ESPDataPlane", "IKEConfig",
            ],
            path: "Sources/Scenario/Scenario", swiftSettings: swiftSettings),
        // The scenarios in a real kernel: the guest's player (namespaces, SAs, labeled sockets, AVC lines,
        // ACQUIREs), the host's VM run around it (scripts/vm), and the socket probe.
        .target(
            name: "ScenarioKernel",
            dependencies: [
                "Scenario", "XfrmNetlink", "XfrmManager", "XfrmWire", "NetlinkSocket", "NetlinkProtocol", "IPsecModel",
                "SecurityContexts", "LinuxSystem", "DecisionEngine", "IKEConfig",
            ],
            path: "Sources/Scenario/ScenarioKernel", swiftSettings: swiftSettings),
        // `salabel demo`: its scenario (Resources/demo.yaml), the userspace run (hosts, threads, the five paths),
        // the kernel run over ScenarioKernel, the engine-only decisions, its namespaces and their removal
        // on SIGINT/SIGTERM; its lines go to the caller (Specs/dataplane/demo.md).
        .target(
            name: "ScenarioDemo",
            dependencies: [
                "Scenario", "ScenarioKernel", "DataPlaneHost", "DataPlaneNode", "DecisionEngine", "ESPCrypto", "IPsecModel",
                "Resolver", "SELinuxKernel", "SecurityContexts", "XfrmManager", "LinuxSystem",
            ],
            path: "Sources/Scenario/ScenarioDemo", resources: [.embedInCode("Resources/demo.yaml")], swiftSettings: swiftSettings),

        // The system layer, at the bottom: error numbers (swift-system's Errno with their C names, the one
        // part the I/O-free modules may use), the syscall funnel, network namespaces, sockets, processes.
        .target(
            name: "LinuxSystem", dependencies: ["CLinux", .product(name: "SystemPackage", package: "swift-system")], path: "Sources/LinuxSystem",
            swiftSettings: swiftSettings),

        // The command-line tool.
        .executableTarget(
            name: "salabel",
            dependencies: [
                "SecurityContexts", "SELinuxPolicy", "DecisionEngine", "SELinuxKernel", "IPsecModel", "NetlinkProtocol", "NetlinkSocket", "XfrmManager",
                "XfrmNetlink", "XfrmWire", "IKEConfig", "IKEControl", "ESPCrypto", "Resolver", "Scenario", "ScenarioKernel", "ScenarioDemo", "LinuxSystem",
                "ESPDataPlane", "DataPlaneNode", "DataPlaneHost", "HostCheck",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/CLI", swiftSettings: swiftSettings),

        // Examples: small programs a user can read.
        .executableTarget(
            name: "association-check", dependencies: ["DecisionEngine", "SecurityContexts"],
            path: "Examples/association-check", swiftSettings: swiftSettings),
        .executableTarget(
            name: "labeled-echo", dependencies: ["DataPlaneHost", "IPsecModel", "SecurityContexts"],
            path: "Examples/labeled-echo", swiftSettings: swiftSettings),

        // Test-only reference: libsepol (static, for its policydb internals) behind a small C API.
        .target(
            name: "SepolOracle", path: "Tests/Oracle/SepolOracle",
            linkerSettings: [.unsafeFlags(["-l:libsepol.a"])]),

        // Benchmarks, side by side with libsepol: `swift run -c release salabel-bench`.
        .executableTarget(
            name: "salabel-bench",
            dependencies: ["SecurityContexts", "SELinuxPolicy", "DecisionEngine", "SepolOracle"],
            path: "Benchmarks/EngineBench", swiftSettings: swiftSettings),
        // The xfrm manager side by side with iproute2 in a throwaway netns (root): `salabel-xfrm-bench`.
        .executableTarget(
            name: "salabel-xfrm-bench",
            dependencies: ["XfrmManager", "XfrmNetlink", "XfrmWire", "IPsecModel", "SecurityContexts", "NetlinkProtocol", "NetlinkSocket"],
            path: "Benchmarks/XfrmBench", swiftSettings: swiftSettings),
        // The resolver's mirror: resync from a 100,000-SA dump through the netlink and XFRM codecs, no kernel:
        // `swift run -c release salabel-resolver-bench`.
        .executableTarget(
            name: "salabel-resolver-bench",
            dependencies: [
                "Resolver", "DecisionEngine", "XfrmManager", "XfrmNetlink", "XfrmWire", "IPsecModel", "SecurityContexts", "NetlinkProtocol", "NetlinkSocket",
            ],
            path: "Benchmarks/ResolverBench", swiftSettings: swiftSettings),

        // The ESP data plane side by side with `openssl speed -evp aes-128-gcm`: `swift run -c release salabel-esp-bench`.
        .executableTarget(
            name: "salabel-esp-bench", dependencies: ["ESPDataPlane", "IPsecModel"], path: "Benchmarks/ESPBench",
            swiftSettings: swiftSettings),

        // The data plane's full inbound path against the ESP open alone: `swift run -c release salabel-dataplane-bench`.
        .executableTarget(
            name: "salabel-dataplane-bench", dependencies: ["DataPlaneNode", "ESPDataPlane", "DecisionEngine", "IPsecModel", "SecurityContexts"],
            path: "Benchmarks/DataPlaneBench", swiftSettings: swiftSettings),

        // Helpers every test target may share: SplitMix64, hex, running a process, the repository root.
        .target(name: "TestSupport", path: "Tests/TestSupport", swiftSettings: swiftSettings),
        .testTarget(
            name: "SecurityContextsTests", dependencies: ["SecurityContexts", "TestSupport"], exclude: ["Reference"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "IPsecModelTests", dependencies: ["IPsecModel", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "SELinuxPolicyTests", dependencies: ["SELinuxPolicy", "SecurityContexts", "TestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "DecisionEngineTests",
            dependencies: ["DecisionEngine", "SELinuxPolicy", "SecurityContexts", "SELinuxKernel", "TestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "ConformanceTests",
            dependencies: ["DecisionEngine", "SELinuxPolicy", "SecurityContexts", "SepolOracle", "TestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "XfrmManagerTests", dependencies: ["XfrmManager", "IPsecModel", "SecurityContexts", "DecisionEngine", "TestSupport"],
            swiftSettings: swiftSettings),
        // libreswan's configuration from apply files, checked with libreswan's own parser (addconn, readwriteconf).
        .testTarget(
            name: "IKEConfigTests",
            dependencies: ["IKEConfig", "IKEControl", "XfrmManager", "IPsecModel", "SecurityContexts", "DecisionEngine", "TestSupport"],
            swiftSettings: swiftSettings),
        // salabel doctor's checks over host facts broken on purpose, with the VM kernel's files as vectors.
        .testTarget(
            name: "HostCheckTests", dependencies: ["HostCheck", "DecisionEngine", "IPsecModel", "SecurityContexts", "XfrmManager", "TestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "ResolverTests",
            dependencies: [
                "Resolver", "DecisionEngine", "IPsecModel", "SecurityContexts", "XfrmManager", "XfrmNetlink", "XfrmWire", "Scenario",
                "NetlinkProtocol", "NetlinkSocket", "NetlinkTestSupport", "TestSupport",
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "ScenarioTests",
            dependencies: ["Scenario", "ScenarioKernel", "Resolver", "DecisionEngine", "IKEConfig", "IPsecModel", "SecurityContexts", "TestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "CLITests", dependencies: ["salabel", "association-check", "labeled-echo", "TestSupport"], swiftSettings: swiftSettings),
        // Specs/architecture.md's rules for what may import what, against Package.swift and the sources.
        .testTarget(name: "ArchitectureTests", dependencies: ["TestSupport"], swiftSettings: swiftSettings),
        // The VM harness: scripts/vm boots Debian's kernel (SELinux, XFRM, ESP) under QEMU; VMHarness runs a
        // script in it from a test; KernelVMTests are the tests that need that kernel (Tests/VM/README.md).
        .target(name: "VMHarness", dependencies: ["TestSupport"], path: "Tests/VMHarness", swiftSettings: swiftSettings),
        .testTarget(
            name: "KernelVMTests",
            dependencies: [
                "VMHarness", "Scenario", "ScenarioKernel", "Resolver", "DataPlaneNode", "DecisionEngine", "IPsecModel", "SecurityContexts", "XfrmManager",
                "TestSupport",
            ],
            swiftSettings: swiftSettings),
        // A scripted fake kernel at message level, and throwaway network namespaces, for tests of code that talks netlink.
        .target(
            name: "NetlinkTestSupport", dependencies: ["NetlinkProtocol", "LinuxSystem", "TestSupport"], path: "Tests/NetlinkTestSupport",
            swiftSettings: swiftSettings),
        .testTarget(
            name: "NetlinkProtocolTests", dependencies: ["NetlinkProtocol", "NetlinkSocket", "LinuxSystem", "NetlinkTestSupport", "TestSupport"],
            exclude: ["Reference"], swiftSettings: swiftSettings),
        .testTarget(
            name: "NetlinkSocketTests", dependencies: ["NetlinkSocket", "LinuxSystem", "NetlinkTestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "XfrmWireTests",
            dependencies: [
                "XfrmWire", "NetlinkProtocol", "IPsecModel", "SecurityContexts", "XfrmManager", "XfrmNetlink", "NetlinkSocket",
                "NetlinkTestSupport", "TestSupport",
            ],
            exclude: ["Captures"], swiftSettings: swiftSettings),
        .testTarget(name: "LinuxSystemTests", dependencies: ["LinuxSystem"], swiftSettings: swiftSettings),
        .testTarget(
            name: "ESPCryptoTests", dependencies: ["ESPCrypto", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "DataPlaneTests",
            dependencies: [
                "ESPDataPlane", "ESPCrypto", "IPsecModel", "DataPlaneNode", "DataPlaneHost",
                "DecisionEngine", "Resolver", "SecurityContexts", "XfrmManager", "TestSupport",
            ],
            exclude: ["Vectors"], swiftSettings: swiftSettings),
    ]
)
