// salabel-dataplane-bench: packets per second through the userspace data plane's full inbound path
// (ESP in UDP classification, SA by SPI, AES-GCM open and replay window, the inner UDP datagram,
// the inbound policy check, the label from the SA, and the delivery decision of the engine),
// side by side in one run with the ESP open alone on the same packets, so the ratio says what
// labeling and deciding add to decryption. `swift run -c release salabel-dataplane-bench`.
import DataPlaneNode
import DecisionEngine
import ESPDataPlane
import Foundation
import IPsecModel
import SecurityContexts

let sizes = [64, 512, 1400]
let count = 20_000
let rounds = 5
let client = try SecurityContext(parsing: "system_u:system_r:echoclient_t:s0")
let server = try SecurityContext(parsing: "system_u:system_r:echoserver_t:s0")
let a = IPAddress("10.77.0.1")!, b = IPAddress("10.77.0.2")!
let key = KeyMaterial((0..<20).map { UInt8($0 &* 7 &+ 1) })
func sa(_ spi: UInt32, _ src: IPAddress, _ dst: IPAddress, _ label: SecurityContext) -> SecurityAssociation {
    SecurityAssociation(source: src, destination: dst, spi: spi, replayWindow: 32,
                        algorithms: SAAlgorithms(aead: XfrmAlgorithm(name: "rfc4106(gcm(aes))", key: key, truncationBits: 128)),
                        securityContext: label)
}
let sas = [sa(0x100, a, b, client), sa(0x101, b, a, server)]
let spd = try SecurityContext(parsing: "system_u:object_r:ipsec_spd_t:s0")
let policies = [
    PolicyEntry(selector: TrafficSelector(source: IPPrefix(host: a), destination: IPPrefix(host: b), upperProtocol: 17, destinationPort: 7, destinationPortMask: 0xFFFF),
                direction: .out, templates: [PolicyTemplate(source: a, destination: b)], securityContext: spd),
    PolicyEntry(selector: TrafficSelector(source: IPPrefix(host: a), destination: IPPrefix(host: b), upperProtocol: 17, destinationPort: 7, destinationPortMask: 0xFFFF),
                direction: .in, templates: [PolicyTemplate(source: a, destination: b)], securityContext: spd),
]
let authorizer = AssociationAuthorizer(cache: AccessVectorCache(server: try SecurityServer.embedded()))

func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }
func seconds(_ body: () -> Void) -> Double {
    let t0 = DispatchTime.now().uptimeNanoseconds
    body()
    return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
}

print("salabel-dataplane-bench: \(count) packets per round, \(rounds) rounds, medians; AES-128-GCM, transport mode, one labeled SA")
print("size   open alone (pps)   full inbound path (pps)   full / open")
for size in sizes {
    var fullRates: [Double] = [], openRates: [Double] = []
    for _ in 0..<rounds {
        let sender = try DataPlaneNode(address: a, sas: sas, policies: policies, authorizer: authorizer)
        let receiver = try DataPlaneNode(address: b, sas: sas, policies: policies, authorizer: authorizer)
        let port = try sender.bind(port: 0, context: client).port
        try receiver.bind(port: 7, context: server)
        let payload = [UInt8](repeating: 0x5A, count: size)
        let packets: [[UInt8]] = (0..<count).map { _ in
            guard case .esp(let p, _) = sender.send(payload, from: port, to: b, port: 7).outcome else { fatalError("not sealed") }
            return p
        }
        let opener = try ESPSecurityAssociation(sas[0])
        var opened = 0
        let tOpen = seconds { for p in packets { if case .success = opener.open(p) { opened += 1 } } }
        var delivered = 0
        let tFull = seconds { for p in packets where receiver.receiveESP(p).delivery != nil { delivered += 1 } }
        precondition(opened == count && delivered == count, "not every packet went through")
        openRates.append(Double(count) / tOpen)
        fullRates.append(Double(count) / tFull)
    }
    let o = median(openRates), f = median(fullRates)
    print(String(format: "%4d   %16.0f   %23.0f   %10.0f%%", size, o, f, f / o * 100))
}
