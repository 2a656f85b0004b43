// labeled-echo: an echo server and client over salabel's userspace data plane, as a user writes
// them. Each side connects to its host's local socket (`salabel dataplane run … --control PATH`),
// states the SELinux context it runs as, and then sends and receives datagrams; the server prints
// the label each datagram arrived with (the SA's), and the client the label of the reply.
//
//   labeled-echo server --control /run/salabel/server.sock [--as CONTEXT] [--port 7] [--count N]
//   labeled-echo client --control /run/salabel/client.sock --to 10.77.0.2 [--as CONTEXT] [--port 7] MESSAGE
//
// Specs/dataplane/endpoints.md describes the local socket; `salabel demo` runs both sides for you.
import DataPlaneHost
import Glibc
import IPsecModel
import SecurityContexts

func fail(_ message: String) -> Never {
    print("labeled-echo: \(message)")
    exit(2)
}

var args = Array(CommandLine.arguments.dropFirst())
guard let role = args.first, role == "server" || role == "client" else {
    fail("usage: labeled-echo server|client --control PATH [--as CONTEXT] [--port N] [--to ADDRESS] [--count N] [MESSAGE]")
}
args.removeFirst()
var options: [String: String] = [:]
var words: [String] = []
while !args.isEmpty {
    let a = args.removeFirst()
    if a.hasPrefix("--") {
        guard !args.isEmpty else { fail("\(a) needs a value") }
        options[String(a.dropFirst(2))] = args.removeFirst()
    } else {
        words.append(a)
    }
}
guard let control = options["control"] else { fail("--control PATH is required") }
let defaultContext = role == "server" ? "system_u:system_r:echoserver_t:s0" : "system_u:system_r:echoclient_t:s0"
let context: SecurityContext
do { context = try SecurityContext(parsing: options["as"] ?? defaultContext) } catch { fail("--as: \(error)") }
guard let port = UInt16(options["port"] ?? "7") else { fail("--port must be a port number") }

do {
    let socket = try LabeledSocket(host: control)
    if role == "server" {
        try socket.bind(port: port, context: context)
        print("echo server on port \(port) as \(context)")
        let count = Int(options["count"] ?? "0") ?? 0
        var served = 0
        while count == 0 || served < count {
            guard let datagram = try? socket.receive(timeout: .seconds(3600)) else { continue }
            print(
                "from \(datagram.source):\(datagram.sourcePort), label \(datagram.peer?.description ?? "none (unlabeled)"): \(String(decoding: datagram.data, as: UTF8.self))"
            )
            try socket.send(datagram.data, to: datagram.source, port: datagram.sourcePort)
            served += 1
        }
    } else {
        guard let to = options["to"].flatMap(IPAddress.init) else { fail("--to ADDRESS is required") }
        let message = words.joined(separator: " ")
        let (local, _) = try socket.bind(port: 0, context: context)  // any free port, as a socket that does not bind
        let sent = try socket.send(Array(message.utf8), to: to, port: port)
        print("sent from port \(local) as \(context): \(sent.summary)")
        let reply = try socket.receive(timeout: .seconds(2))
        print(
            "reply from \(reply.source):\(reply.sourcePort), label \(reply.peer?.description ?? "none (unlabeled)"): \(String(decoding: reply.data, as: UTF8.self))"
        )
    }
} catch {
    fail("\(error)")
}
