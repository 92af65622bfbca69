import CNFTables
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One thread that runs jobs in order, after entering a network namespace if asked to.
///
/// Network namespaces belong to threads in Linux, and libnftables opens its netlink socket in the
/// namespace of the thread that creates a context, so all libnftables work of one
/// ``NFTablesKernel`` happens here. Jobs block this thread, never the Swift concurrency pool.
final class KernelThread: @unchecked Sendable {
    /// Guards `jobs` and `stopping`.
    private let condition = NSCondition()
    private var jobs: [@Sendable (_ namespaceFailure: String?) -> Void] = []
    private var stopping = false

    init(name: String, namespacePath: String?) {
        let thread = Thread { [self] in
            let failure = namespacePath.flatMap(Self.enterNetworkNamespace)
            serve(namespaceFailure: failure)
        }
        thread.name = name
        thread.start()
    }

    /// Runs `body` on the thread. `body` gets why the namespace could not be entered, if it could
    /// not, and must then not call libnftables.
    func run<T: Sendable>(_ body: @escaping @Sendable (_ namespaceFailure: String?) -> T) async -> T {
        await withCheckedContinuation { continuation in
            enqueue { failure in continuation.resume(returning: body(failure)) }
        }
    }

    /// Lets the thread finish the queued jobs and exit.
    func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    private func enqueue(_ job: @escaping @Sendable (_ namespaceFailure: String?) -> Void) {
        condition.lock()
        guard !stopping else {
            condition.unlock()
            job("the nftables backend was shut down")
            return
        }
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    private func serve(namespaceFailure: String?) {
        while true {
            condition.lock()
            while jobs.isEmpty, !stopping { condition.wait() }
            if jobs.isEmpty {
                condition.unlock()
                return
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job(namespaceFailure)
        }
    }

    /// Moves the calling thread into the network namespace at `path`; returns why it could not.
    private static func enterNetworkNamespace(_ path: String) -> String? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            return "cannot open network namespace \(path): \(String(cString: strerror(errno)))"
        }
        defer { close(descriptor) }
        guard cnftables_enter_network_namespace(descriptor) == 0 else {
            return "cannot enter network namespace \(path): \(String(cString: strerror(errno)))"
        }
        return nil
    }
}
