import Foundation
public import Scenario

/// The demo's scenario: its network and paths, `Resources/demo.yaml` (a salabel apply file with
/// steps: hosts client 10.77.0.1 and server 10.77.0.2, the `echo` and `other` associations), and
/// the domains its paths run as (Specs/dataplane/demo.md).
public enum DemoScenario {
    /// The echo client's domain.
    public static let client = "system_u:system_r:echoclient_t:s0"
    /// The echo server's domain.
    public static let server = "system_u:system_r:echoserver_t:s0"
    /// Another domain on the client host, with its own SA, that the server may not receive from.
    public static let other = "system_u:system_r:echo_other_t:s0"
    /// The client's domain under another SELinux user: no SA carries its label.
    public static let otherUser = "echo_u:system_r:echoclient_t:s0"

    /// The embedded `demo.yaml`, loaded.
    public static func load() throws(DemoError) -> Scenario {
        do { return try Scenario(yaml: String(decoding: PackageResources.demo_yaml, as: UTF8.self), file: "demo.yaml") } catch {
            throw DemoError("the demo's scenario does not load: \(error)")
        }
    }
}

/// Where the demo's lines go: one call per line, without its newline (the caller prints them).
public typealias DemoOutput = @Sendable (String) -> Void

/// Why the demo cannot run (the command's status 2), with what to say.
public struct DemoError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }

    /// `body`'s value; an error it throws becomes a ``DemoError`` saying the same.
    static func wrapping<T>(_ body: () throws -> T) throws(DemoError) -> T {
        do { return try body() } catch let e as DemoError { throw e } catch { throw DemoError("\(error)") }
    }
}
