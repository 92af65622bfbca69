import ArgumentParser
import Foundation

/// How an online command reaches the daemon.
struct ServerOptions: ParsableArguments {
    @Option(help: "Daemon URL (env PALISADE_SERVER, default http://127.0.0.1:7878).")
    var server: String?

    @Option(help: "Session token to use instead of the one saved by `palisade login` (env PALISADE_TOKEN).")
    var token: String?

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func client() throws -> APIClient { try APIClient.make(server: server, token: token) }
}

/// Prints rows as an aligned table.
func printTable(_ header: [String], _ rows: [[String]]) {
    var widths = header.map(\.count)
    for row in rows {
        for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
    }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
            .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
    }
    print(line(header))
    for row in rows { print(line(row)) }
}

/// One line of JSON, keys sorted: `{"add":{"rule":{…}}}`.
func compactJSON(_ value: Any) -> String {
    let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes])
    return data.map { String(decoding: $0, as: UTF8.self) } ?? "\(value)"
}

func printJSON(_ value: Any) {
    if let data = try? JSONSerialization.data(withJSONObject: value, options: [.prettyPrinted, .sortedKeys]) {
        print(String(decoding: data, as: UTF8.self))
    }
}

/// Reads a password from `--password`, standard input (`--password-stdin`) or a prompt.
func readPassword(flag: String?, fromStdin: Bool, prompt: String) throws -> String {
    if let flag { return flag }
    if fromStdin {
        guard let line = readLine(strippingNewline: true) else { throw CLIError("no password on standard input") }
        return line
    }
    guard isatty(0) != 0, let entered = getpass(prompt) else {
        throw CLIError("give a password with --password or --password-stdin")
    }
    return String(cString: entered)
}
