import HTTPTypes
import Hummingbird
import PalisadeFirewall
import PalisadeModel
import PalisadeServices

/// The query parameters every firewall change accepts: `?preview=true` (answer with what the
/// change would do, change nothing) and `?confirm_within=SECONDS` (revert unless confirmed).
extension FirewallRoutes {
    static let placementKeys = ["before", "after", "position"]
    static let changeKeys = ["preview", "confirm_within"]

    /// The change options of a request; a malformed or unknown query parameter is a 400 naming it.
    static func changeOptions(_ query: Parameters, alsoAllowed: [String] = []) throws(PalisadeError) -> ChangeOptions {
        var options = ChangeOptions()
        var errors: [FieldError] = []
        if let text = query["preview"] {
            switch text {
            case "true", "1": options.preview = true
            case "false", "0": options.preview = false
            default: errors.append(FieldError(field: "preview", reason: "must be true or false"))
            }
        }
        if let text = query["confirm_within"] {
            if let seconds = Int64(text), (1...ChangeOptions.longestConfirmationWindow).contains(seconds) {
                options.confirmWithin = seconds
            } else {
                errors.append(FieldError(field: "confirm_within",
                                         reason: "must be a number of seconds from 1 to \(ChangeOptions.longestConfirmationWindow)"))
            }
        }
        if options.preview && options.confirmWithin != nil {
            errors.append(FieldError(field: "confirm_within", reason: "cannot be combined with preview (a preview applies nothing)"))
        }
        let allowed = changeKeys + alsoAllowed
        for (key, _) in query where !allowed.contains(String(key)) {
            errors.append(FieldError(field: String(key), reason: "unknown query parameter; use \(allowed.joined(separator: ", "))"))
        }
        guard errors.isEmpty else { throw PalisadeError.malformed(errors) }
        return options
    }

    /// Routes that take no query parameter refuse any (a `?preview=true` must not be ignored).
    static func noQuery(_ query: Parameters) throws(PalisadeError) {
        let errors = query.map { FieldError(field: String($0.key), reason: "unknown query parameter; this route takes none") }
        guard errors.isEmpty else { throw PalisadeError.malformed(errors) }
    }

    static func confirmationJSON(_ entry: PendingConfirmation) -> JSONValue {
        .object(["revision": .integer(entry.revision), "author": .string(entry.author),
                 "deadline": .string(entry.deadline.description), "window": .integer(entry.window)])
    }
}

extension FirewallService {
    /// `response`, with `Palisade-Revision` and `Palisade-Confirm-Before` when the change awaits confirmation.
    func answer(_ response: Response, _ options: ChangeOptions) -> Response {
        guard let entry = options.receipt.awaiting else { return response }
        var response = response
        response.headers[.palisadeRevision] = "\(entry.revision)"
        response.headers[.palisadeConfirmBefore] = entry.deadline.description
        return response
    }
}

extension HTTPField.Name {
    static let palisadeRevision = HTTPField.Name("Palisade-Revision")!
    static let palisadeConfirmBefore = HTTPField.Name("Palisade-Confirm-Before")!
}

/// A preview is the answer to a `?preview=true` change: 200 with what the change would do.
extension FirewallPreview: CompleteAnswer {
    func response() -> Response {
        var check: [String: JSONValue]
        switch kernelCheck {
        case .passed:
            check = ["status": .string("passed")]
        case .refused(let refusal):
            check = ["status": .string("refused"), "message": .string(refusal.message)]
            if let rule = refusal.ruleID { check["rule"] = .integer(rule) }
        case .skipped(let why):
            check = ["status": .string("skipped"), "message": .string(why)]
        }
        return JSONBody.response(JSONValue.object([
            "preview": .bool(true), "summary": .string(summary), "changes": .array(changes),
            "kernel_check": .object(check), "ruleset": ruleset.document,
        ]))
    }
}
