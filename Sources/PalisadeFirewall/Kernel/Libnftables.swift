import CNFTables
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One libnftables call's outcome: the return code and both captured buffers.
struct LibnftablesRun: Sendable {
    var succeeded: Bool
    var output: String
    var errors: String
}

/// Thin wrappers over libnftables. Callers must be on a ``KernelThread``.
enum Libnftables {
    /// libnftables keeps some process-wide state (xtables, gmp), so calls from every
    /// ``NFTablesKernel`` in the process are serialised, not only calls of one instance. The
    /// lock also guards the low-descriptor reserve its netlink socket is opened in.
    private static let lock = Mutex(LowDescriptorReserve())

    /// Reserves a few descriptors below `FD_SETSIZE` (1024) now, while the process has few open:
    /// call once at start, before the proxy opens thousands of sockets.
    static func reserveLowDescriptors() {
        lock.withLock { $0.topUp() }
    }

    /// Runs `commands` (nft syntax or a JSON document) in a fresh context with JSON output.
    ///
    /// nftables 1.0.6 has no input flags: it tries its JSON parser first exactly when JSON
    /// *output* is on, and falls back to the nft syntax parser when the text is not JSON.
    /// A context per call keeps no cache between calls, so changes made by others are always seen.
    static func run(_ commands: String, dryRun: Bool) -> Result<LibnftablesRun, KernelError> {
        lock.withLock { reserve in
            let created = reserve.creatingLowSocket { nft_ctx_new(UInt32(NFT_CTX_DEFAULT)) }
            guard case .success(let made) = created else {
                if case .failure(let error) = created { return .failure(error) }
                return .failure(.unavailable("libnftables could not create a context"))
            }
            guard let context = made else {
                return .failure(.unavailable("libnftables could not create a context (nft_ctx_new failed)"))
            }
            defer {
                nft_ctx_free(context)
                reserve.topUp()  // take the socket's freed descriptor back at once
            }
            nft_ctx_output_set_flags(context, UInt32(NFT_CTX_OUTPUT_JSON))
            nft_ctx_set_dry_run(context, dryRun)
            guard nft_ctx_buffer_output(context) == 0, nft_ctx_buffer_error(context) == 0 else {
                return .failure(.unavailable("libnftables could not buffer its output"))
            }
            let code = nft_run_cmd_from_buffer(context, commands)
            let output = nft_ctx_get_output_buffer(context).map { String(cString: $0) } ?? ""
            let errors = nft_ctx_get_error_buffer(context).map { String(cString: $0) } ?? ""
            return .success(LibnftablesRun(succeeded: code == 0, output: output, errors: errors))
        }
    }

    /// The error for a failed run: `.unavailable` when the failure is a missing permission, else `.refused`.
    static func failure(_ run: LibnftablesRun, commandIndex: Int?) -> KernelError {
        let text = errorText(run.errors)
        if run.errors.contains("Operation not permitted") {
            return .unavailable("no CAP_NET_ADMIN: \(text)")
        }
        return .refused(message: text.isEmpty ? "libnftables failed without a message" : text, commandIndex: commandIndex)
    }

    /// libnftables' error buffer without blank lines and without the `internal:0:0-0: ` location it
    /// gives every error about JSON input (JSON commands carry no position).
    static func errorText(_ errors: String) -> String {
        errors.split(whereSeparator: \.isNewline)
            .map { line in
                line.hasPrefix(internalLocation) ? line.dropFirst(internalLocation.count) : line[...]
            }
            .filter { !$0.allSatisfy(\.isWhitespace) }
            .joined(separator: "\n")
    }

    private static let internalLocation = "internal:0:0-0: "

    /// The index libnftables' JSON parser names: "Error: Parsing command array at index 3 failed."
    static func blamedIndex(in errors: String) -> Int? {
        let marker = "Parsing command array at index "
        guard let range = errors.range(of: marker) else { return nil }
        return Int(errors[range.upperBound...].prefix(while: \.isNumber))
    }

    /// Finds the first refused command of a document libnftables refused, by dry-running ever
    /// shorter prefixes of its `nftables` array (binary search: about log2(n) dry runs).
    ///
    /// Errors from the kernel and from libnftables' evaluation carry no position for JSON input,
    /// but both the kernel and libnftables process a batch in order, so a prefix fails exactly when
    /// it contains the first bad command. Returns nil when even the whole document passes a dry
    /// run (an error only the commit detects) or the document cannot be split.
    static func bisect(_ document: String, knownToFailInDryRun: Bool) -> Int? {
        guard let commands = ScopedDocument.commandTexts(of: document), !commands.isEmpty else { return nil }
        func fails(_ length: Int) -> Bool {
            let prefix = #"{"nftables":["# + commands[..<length].joined(separator: ",") + "]}"
            guard case .success(let run) = run(prefix, dryRun: true) else { return false }
            return !run.succeeded
        }
        if !knownToFailInDryRun, !fails(commands.count) { return nil }
        var low = 1  // the shortest failing prefix has a length in low...high
        var high = commands.count
        while low < high {
            let middle = (low + high) / 2
            if fails(middle) { high = middle } else { low = middle + 1 }
        }
        return low - 1
    }
}

/// libnftables waits for the kernel's answer with `select()`, which aborts the process
/// ("bit out of range 0 - FD_SETSIZE") when its netlink socket's descriptor is 1024 or more.
/// A daemon relaying thousands of proxied connections has every low descriptor in use, so a few
/// are held here (on /dev/null) and released only for the instant `nft_ctx_new` opens its socket,
/// which the kernel gives the lowest free descriptor: one of these.
struct LowDescriptorReserve: ~Copyable {
    static let limit: Int32 = 1024
    static let size = 8
    private var held: [Int32] = []

    /// Holds up to `size` descriptors below the limit (fewer if none is free down there).
    mutating func topUp() {
        while held.count < Self.size {
            let descriptor = open("/dev/null", O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { return }
            guard descriptor < Self.limit else {
                close(descriptor)
                return
            }
            held.append(descriptor)
        }
    }

    /// Runs `create` (which opens one socket) with the reserve released, then takes it back.
    /// Refuses when no descriptor below the limit would be free, rather than let libnftables abort.
    mutating func creatingLowSocket<T>(_ create: () -> T) -> Result<T, KernelError> {
        topUp()
        if held.isEmpty, lowestFree() >= Self.limit {
            return .failure(.unavailable("no file descriptor below \(Self.limit) is free for libnftables' netlink socket"))
        }
        for descriptor in held { close(descriptor) }
        held.removeAll()
        let made = create()
        topUp()
        return .success(made)
    }

    private func lowestFree() -> Int32 {
        let probe = open("/dev/null", O_RDONLY | O_CLOEXEC)
        if probe >= 0 { close(probe) }
        return probe < 0 ? Self.limit : probe
    }
}
