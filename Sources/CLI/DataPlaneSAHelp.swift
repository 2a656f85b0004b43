import ArgumentParser

extension DataPlaneCommand.SA.Add {
    /// `sa add` passes its words through to the `ip xfrm state add` parser, so ArgumentParser does
    /// not see a `--help` or `-h` among them; no `ip xfrm` word is either, so either one asks for
    /// this command's help (rather than a connection to the host).
    func validate() throws {
        if arguments.contains(where: { $0 == "--help" || $0 == "-h" }) { throw CleanExit.helpRequest(self) }
    }
}
