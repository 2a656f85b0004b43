// `salabel status` on a live kernel: the sync protocol (MirrorSync) carried out on an XfrmEventFeed,
// a snapshot once the first dump is in, then (watching) one StatusChange per notification, a stale
// notice on every loss and a fresh snapshot after each resynchronization. Specs/manager/status.md.

import Foundation
import IPsecModel
import Resolver
public import SecurityContexts
public import XfrmManager

/// What `salabel status` prints: a snapshot, or a change.
public enum StatusOutput: Sendable {
    case snapshot(StatusReport)
    case change(StatusChange)
}

/// Runs `salabel status`: one snapshot, or a snapshot and then the changes as they happen.
///
/// ```swift
/// let watch = StatusWatch(netns: "blue")
/// try watch.run(watching: true, while: { !stopped }) { output in print(output); return true }
/// ```
public final class StatusWatch {
    public let netns: String?
    public let labelCheck: StatusLabelCheck
    private let verdict: @Sendable (SecurityContext) -> StatusLabelVerdict
    private let makeFeed: () throws(XfrmKernelError) -> XfrmEventFeed
    private let lookUpSender: (UInt32) -> SAInstaller

    /// - Parameters:
    ///   - netns: the network namespace (name or path), nil for the caller's.
    ///   - labelCheck: whether labels are checked, and against what.
    ///   - verdict: the policy's verdict on one label.
    ///   - makeFeed: opens a new feed for every (re)subscription (a fake kernel in tests).
    public init(
        netns: String?, labelCheck: StatusLabelCheck, verdict: @escaping @Sendable (SecurityContext) -> StatusLabelVerdict,
        makeFeed: @escaping () throws(XfrmKernelError) -> XfrmEventFeed
    ) {
        self.netns = netns
        self.labelCheck = labelCheck
        self.verdict = verdict
        self.makeFeed = makeFeed
        self.lookUpSender = { NetlinkSender.installer(portID: $0, netns: netns) }
    }

    /// A watch over a socket in `netns` (nil: the caller's namespace), whose receives wait at most
    /// 200 ms so that the stop conditions are checked often.
    public convenience init(
        netns: String?, labelCheck: StatusLabelCheck = .unchecked(reason: "no policy"),
        verdict: @escaping @Sendable (SecurityContext) -> StatusLabelVerdict = { _ in .unchecked }
    ) {
        self.init(netns: netns, labelCheck: labelCheck, verdict: verdict) { () throws(XfrmKernelError) in
            try XfrmEventFeed(netns: netns, receiveTimeout: .milliseconds(200))
        }
    }

    /// Syncs a mirror and hands each output to `emit` (which returns `false` to stop).
    ///
    /// - Parameters:
    ///   - watching: `false`: stop after the first snapshot.
    ///   - shouldContinue: checked between steps (at least every 200 ms while nothing arrives).
    ///   - emit: takes each snapshot and change in order; `false` stops the run.
    /// - Throws: a failure before the first snapshot (the namespace, the socket, the dump); after it,
    ///   failures make the mirror stale and are reported as ``StatusChange/stale(_:)``, then retried.
    public func run(watching: Bool, while shouldContinue: () -> Bool, emit: (StatusOutput) -> Bool) throws(XfrmKernelError) {
        var sync = MirrorSync()
        var feed: XfrmEventFeed?
        var installers: [SADKey: SAInstaller] = [:]
        var lastLoss: MirrorSync.StaleReason?
        while shouldContinue() {
            do throws(XfrmKernelError) {
                switch sync.nextAction {
                case .subscribe(let delay):
                    if delay > .zero { Thread.sleep(forTimeInterval: Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18) }
                    feed = nil
                    let fresh = try makeFeed()
                    try fresh.subscribe()
                    feed = fresh
                    sync.handle(.subscribed)
                case .dumpSAs:
                    sync.handle(.sasDumped(try Self.subscribed(feed).dumpSAs()))
                case .dumpPolicies:
                    let wasSynchronized = sync.statistics.synchronizations
                    sync.handle(.policiesDumped(try Self.subscribed(feed).dumpPolicies()))
                    guard sync.statistics.synchronizations > wasSynchronized else { continue }
                    // Installers are known only for SAs seen arrive; those of a fresh dump are not.
                    let live = Set(sync.mirror.sas.map(SADKey.init))
                    installers = installers.filter { live.contains($0.key) }
                    if wasSynchronized > 0 {
                        let change = StatusChange.resynchronized(after: lastLoss, sas: sync.statistics.lastDumpSAs, policies: sync.statistics.lastDumpPolicies)
                        guard emit(.change(change)) else { return }
                    }
                    guard emit(.snapshot(report(sync, installers))), watching else { return }
                case .receive:
                    guard let (event, port) = try Self.subscribed(feed).nextWithSender() else { continue }
                    var installer = SAInstaller.portZero
                    if case .sa(let type, let sa) = event {
                        if type == .delSA {
                            installers[SADKey(sa)] = nil
                        } else {
                            installer = port.map(lookUpSender) ?? .portZero
                            installers[SADKey(sa)] = installer
                        }
                    }
                    let change = StatusChange(event, before: sync.mirror, installer: installer, verdict: verdict)
                    sync.handle(.notification(event))
                    if case .stale(let reason) = sync.status {
                        lastLoss = reason
                        guard emit(.change(.stale(reason))) else { return }
                    } else {
                        guard emit(.change(change)) else { return }
                    }
                }
            } catch {
                guard sync.statistics.synchronizations > 0 else { throw error }
                feed = nil
                sync.handle(.failed(error.description))
                if case .stale(let reason) = sync.status {
                    lastLoss = reason
                    guard emit(.change(.stale(reason))) else { return }
                }
            }
        }
    }

    /// The report of the machine's mirror as it stands.
    private func report(_ sync: MirrorSync, _ installers: [SADKey: SAInstaller]) -> StatusReport {
        StatusReport(mirror: sync.mirror, status: sync.status, installers: installers, labelCheck: labelCheck, verdict: verdict)
    }

    private static func subscribed(_ feed: XfrmEventFeed?) throws(XfrmKernelError) -> XfrmEventFeed {
        guard let feed else { throw XfrmKernelError(errno: 107, message: "no subscription (ENOTCONN)") }
        return feed
    }
}
