import Foundation
import Glibc
import IPsecModel
import LinuxSystem
import NetlinkProtocol
import NetlinkSocket
import Scenario
import SecurityContexts
import XfrmManager
import XfrmNetlink
import XfrmWire

extension GuestRunner {
    /// The labels of the ACQUIREs waiting on a monitor socket (`unlabeled` for none).
    static func acquires(_ socket: NetlinkSocket) -> [String] {
        var labels: [String] = []
        while let datagram = try? socket.receive() {
            guard let messages = try? XfrmMessage.decodeAll(datagram) else { continue }
            for m in messages {
                guard case .acquire = m.body else { continue }
                let ctx = m.body.attributes.lazy.compactMap { a -> XfrmUserSecCtx? in
                    if case .securityContext(let c) = a { return c }
                    return nil
                }.first
                labels.append(ctx.map { String(decoding: $0.textBytes, as: UTF8.self) } ?? "unlabeled")
            }
        }
        return labels
    }

    // MARK: - xfrm requests

    /// Exit statuses of `guest-act` at and above this are the harness's own failures.
    public static let actFailure: Int32 = 200

    func xfrm(_ command: ScenarioStep.XfrmCommand) -> StepOutcome {
        var message: XfrmMessage
        switch (command.request, command.operation) {
        case (.hardExpire, .deleteSA(let id, let source, let mark)):
            // XFRM_MSG_EXPIRE, hard: iproute2 has no command for it (Specs/kernel/labeled-ipsec.md, edge 35).
            message = XfrmRequest.expireSA(id, source: source ?? .any(id.destination.family), hard: true, mark: mark)
        case (.hardExpire, .deletePolicy(let key, let mark, let policyType, _)):
            // XFRM_MSG_POLEXPIRE, hard: no iproute2 command either (edge 35).
            switch key {
            case .index(let index, let direction):
                message = XfrmRequest.expirePolicy(index: index, direction: direction, hard: true, mark: mark, policyType: policyType)
            case .selector(let selector, let direction, let context):
                do {
                    message = try XfrmRequest.expirePolicy(
                        selector: selector, direction: direction, securityContext: context, hard: true, mark: mark, policyType: policyType)
                } catch {
                    return StepOutcome(result: "EINVAL", stage: "harness", notes: ["cannot encode the request: \(error)"])
                }
            }
        case (.migrate(let m), .deletePolicy(.selector(let selector, let direction, _), _, let policyType, _)):
            // XFRM_MSG_MIGRATE: iproute2 has no command for it either (edge 36).
            message = XfrmRequest.migrate(selector: selector, direction: direction, migrations: [m], policyType: policyType)
        default:
            do { message = try NetlinkXfrmKernel.request(for: command.operation) } catch {
                return StepOutcome(result: "EINVAL", stage: "harness", notes: ["cannot encode the request: \(error)"])
            }
        }
        if let raw = command.rawContext {
            let ctx = XfrmAttribute.securityContext(XfrmUserSecCtx(alg: 1, doi: 1, contextBytes: Array(raw.utf8) + [0]))
            func swap(_ a: [XfrmAttribute]) -> [XfrmAttribute] {
                a.map { if case .securityContext = $0 { return ctx } else { return $0 } }
            }
            switch message.body {
            case .sa(let i, let a): message.body = .sa(i, swap(a))
            case .policy(let i, let a): message.body = .policy(i, swap(a))
            case .policyID(let i, let a): message.body = .policyID(i, swap(a))
            default: break
            }
        }
        message.sequence = 1
        let bytes: [UInt8]
        do { bytes = try message.encoded() } catch {
            return StepOutcome(result: "EINVAL", stage: "harness", notes: ["cannot encode the request: \(error)"])
        }
        let hex = bytes.map { String(format: "%02x", $0) }.joined()
        let run = ChildProcess.run([
            salabel, "scenario", "guest-act", "--netns", "/run/netns/\(namespace(command.host))",
            "--context", command.actorContext.description, "--message", hex,
        ])
        let status = run.status
        if status == 0 { return StepOutcome(result: "ok") }
        if status > 0 && status < Self.actFailure {
            return StepOutcome(result: Errno(rawValue: status).name, notes: ["guest-act exit \(status)"])
        }
        return StepOutcome(result: "EHARNESS", stage: "harness", notes: ["guest-act exit \(status): \(run.output)"])
    }
}
