import ArgumentParser

@main
struct Palisade: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "palisade",
        abstract: "Palisade: the control plane of a Linux security gateway.",
        discussion: """
            Run the daemon with `palisade serve`. The other commands talk to a running daemon \
            (--server, default http://127.0.0.1:7878) or, for `user`, work offline on a data directory.
            """,
        subcommands: [
            Serve.self, StatusCommand.self, LoginCommand.self, LogoutCommand.self, UserCommand.self,
            ObjectsCommand.self, RulesCommand.self, RulesetCommand.self, RevisionsCommand.self, CountersCommand.self, ConfirmCommand.self,
            ProxyCommand.self,
        ]
    )
}
