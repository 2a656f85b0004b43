import IPsecModel
import Resolver
import XfrmManager

extension ScenarioModel {
    /// The path of a traffic step's flow: through the gateway the sender routes the receiver
    /// through (the route back goes through it too: `Scenario.forwarding`), else direct.
    func path(_ flow: Flow, _ t: ScenarioStep.Traffic, reply: Bool, socketPolicy: PolicyEntry?) -> PathTrace {
        if let g = scenario.forwarding.gateway(from: t.from, to: t.to), let address = scenario.layout.hosts[g]?.address {
            return PathTrace.traceForwarded(
                flow, sender: resolver(t.from), gateway: resolver(g), gatewayAddress: address, receiver: resolver(t.to), socket: t.serverContext,
                reply: reply)
        }
        return PathTrace.trace(flow, sender: resolver(t.from), receiver: resolver(t.to), socket: t.serverContext, reply: reply, socketPolicy: socketPolicy)
    }
}
