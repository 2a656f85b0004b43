// swift-tools-version: 6.1
// libFuzzer targets for every parser of outside input. Built only with the fuzzer sanitizer:
//   swift build --package-path Fuzz -c debug --sanitize=fuzzer --sanitize=address -Xswiftc -sanitize=fuzzer,address
//   Fuzz/.build/debug/FuzzPolicyParser -max_total_time=60 Fuzz/corpus/policy
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
        .executableTarget(
            name: "FuzzPolicyParser",
            dependencies: [.product(name: "SELinuxPolicy", package: "salabel")],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
    ]
)
