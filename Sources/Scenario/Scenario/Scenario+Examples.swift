public import DecisionEngine

extension Scenario {
    /// The embedded example of `salabel resolve` and `salabel trace`: the echo client and server of
    /// the embedded policy on two hosts, with one labeled SA pair (the same network as
    /// Examples/apply/echo.yaml and Specs/scenarios/echo.yaml).
    public static func echoExample() throws(Scenario.Error) -> Scenario {
        try Scenario(yaml: echoExampleYAML, file: "echo (embedded)")
    }

    static let echoExampleYAML = """
        description: the echo client and server of the embedded policy, one labeled SA pair between them
        policy: embedded
        hosts:
          client: { address: 10.77.0.1 }
          server: { address: 10.77.0.2 }
        associations:
          - name: echo-client
            between: [client, server]
            context: system_u:system_r:echoclient_t:s0
            reply_context: system_u:system_r:echoserver_t:s0
            policy_context: system_u:object_r:ipsec_spd_t:s0
            selector: { proto: tcp, port: 7 }
        """

    /// The security server the resolver commands decide with: the policy file at `policyPath` (with
    /// the scenario's booleans), else the scenario's policy, else the embedded policy; permissive
    /// when asked.
    public static func securityServer(policyPath: String?, scenario: Scenario?, permissive: Bool) throws(PolicyLoadError) -> SecurityServer {
        if let policyPath {
            return try SecurityServer.load(path: policyPath, enforcing: !permissive, booleans: scenario?.booleans ?? [:])
        }
        if let scenario {
            let server = try scenario.securityServer()
            if permissive { server.setEnforcing(false) }
            return server
        }
        return try SecurityServer.embedded(enforcing: !permissive)
    }
}
