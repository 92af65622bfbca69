import ArgumentParser
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A small JSON client for the daemon's API, used by every online CLI command.
struct APIClient {
    let server: URL
    let token: String?

    /// The client for `--server`/`PALISADE_SERVER` with `--token`/`PALISADE_TOKEN`, else the saved token.
    static func make(server: String?, token: String?) throws -> APIClient {
        let text = try Setting("server", default: "http://127.0.0.1:7878").resolve(server)
        guard let url = URL(string: text), url.scheme == "http" || url.scheme == "https", url.host != nil else {
            throw ValidationError("--server must be an http(s) URL such as http://127.0.0.1:7878, got '\(text)'")
        }
        let token = try Setting("token", default: "").resolve(token)
        return APIClient(server: url, token: token.isEmpty ? CredentialStore.standard().token(for: url) : token)
    }

    struct Reply {
        let status: Int
        let body: Data
        /// Response headers, names lower-cased.
        var headers: [String: String] = [:]

        var json: Any? { try? JSONSerialization.jsonObject(with: body) }
        var object: [String: Any] { json as? [String: Any] ?? [:] }
    }

    func send(_ method: String, _ path: String, body: [String: Any]? = nil) async throws -> Reply {
        guard let url = URL(string: path, relativeTo: server) else {
            throw CLIError("bad server URL \(server)")
        }
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.timeoutInterval = 30
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let body {
            request.httpBody = try JSONSerialization.data(withJSONObject: body)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpShouldSetCookies = false
        let session = URLSession(configuration: configuration)
        defer { session.finishTasksAndInvalidate() }
        do {
            let (data, response) = try await session.data(for: request)
            let http = response as? HTTPURLResponse
            var headers: [String: String] = [:]
            for (name, value) in http?.allHeaderFields ?? [:] {
                if let name = name as? String, let value = value as? String { headers[name.lowercased()] = value }
            }
            return Reply(status: http?.statusCode ?? 0, body: data, headers: headers)
        } catch {
            throw CLIError("cannot reach \(server.absoluteString): \(error.localizedDescription)")
        }
    }

    /// Sends and returns the reply when 2xx; otherwise throws the server's problem details as a readable error.
    func expect(_ method: String, _ path: String, body: [String: Any]? = nil) async throws -> Reply {
        let reply = try await send(method, path, body: body)
        guard (200..<300).contains(reply.status) else { throw CLIError(problem: reply) }
        return reply
    }
}

/// An error printed as `error: …` with exit code 1.
struct CLIError: Error, CustomStringConvertible {
    let description: String

    init(_ message: String) { description = message }

    init(problem reply: APIClient.Reply) {
        let object = reply.object
        let detail = object["detail"] as? String ?? object["status"] as? String ?? "request failed"
        var lines = ["\(detail) (HTTP \(reply.status))"]
        let fields = (object["errors"] as? [[String: Any]] ?? []).map { "\($0["field"] as? String ?? ""): \($0["reason"] as? String ?? "")" }
        if fields != [detail] {
            lines += fields.map { "  " + $0 }
        }
        if reply.status == 401 { lines.append("  run `palisade login` first") }
        description = lines.joined(separator: "\n")
    }
}
