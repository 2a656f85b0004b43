import ArgumentParser

/// `salabel`: labeled IPsec on Linux.
@main
struct Salabel: ParsableCommand {
    /// `salabel xfrm --batch FILE …` is the spelling of `salabel xfrm batch FILE …` that `ip -batch`
    /// users expect; the rewrite keeps the subcommands' own options unshadowed.
    static func main() {
        var args = Array(CommandLine.arguments.dropFirst())
        if args.count >= 3, args[0] == "xfrm", args[1] == "--batch" { args.replaceSubrange(0..<2, with: ["xfrm", "batch"]) }
        Salabel.main(args)
    }

    static let configuration = CommandConfiguration(
        commandName: "salabel",
        abstract: "Labeled IPsec on Linux: SELinux contexts on IPsec SAs, and the decisions that govern them.",
        discussion: """
            The decision engine (salabel policy …) loads an SELinux policy in the kernel policy language
            (the embedded default when --policy is not given) and answers as the kernel's security server.
            The xfrm manager (salabel xfrm …, salabel apply) installs labeled SAs and SPD entries through
            netlink, asking the engine first whether the caller may set each label.
            """,
        version: "0.1.0",
        subcommands: [PolicyCommand.self, XfrmCommand.self, ApplyCommand.self, KeygenCommand.self, ResolveCommand.self, TraceCommand.self, ScenarioCommand.self, DemoCommand.self, DataPlaneCommand.self, ProbeCommand.self, ESPWireCommand.self])
}

/// Exit statuses shared by the decision commands.
enum Status {
    /// Every requested permission granted (or a query answered).
    static let allowed: Int32 = 0
    /// At least one requested permission denied.
    static let denied: Int32 = 1
    /// The question could not be answered: bad context, class, policy or arguments.
    static let error: Int32 = 2
}
