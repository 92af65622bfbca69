import Hummingbird
import Logging
import Prometheus

/// Counts requests and records their latency by route and status into Palisade's own registry
/// (no global metrics bootstrap, so each server instance, and each test, has its own).
/// Also logs each request at debug level with its request id.
struct RequestMetricsMiddleware: RouterMiddleware {
    typealias Context = PalisadeRequestContext

    let registry: PrometheusCollectorRegistry

    static let buckets: [Duration] = [
        .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2.5), .milliseconds(5),
        .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
        .milliseconds(500), .seconds(1), .seconds(2.5),
    ]

    static var requests: MetricNameDescriptor {
        MetricNameDescriptor(
        namespace: "palisade", subsystem: "http", metricName: "requests", unitName: "total",
        helpText: "HTTP requests answered, by method, route and status")
    }
    static var duration: MetricNameDescriptor {
        MetricNameDescriptor(
        namespace: "palisade", subsystem: "http", metricName: "request_duration", unitName: "seconds",
        helpText: "Time from request to response head, by method, route and status")
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        let elapsed = ContinuousClock.now - start
        // Unmatched paths share one label (Hummingbird names them "NotFound") so scanners cannot
        // blow up the series count.
        let route = context.endpointPath ?? "NotFound"
        let labels = [("method", request.method.rawValue), ("route", route), ("status", String(response.status.code))]
        registry.makeCounter(descriptor: Self.requests, labels: labels).increment()
        registry.makeDurationHistogram(descriptor: Self.duration, labels: labels, buckets: Self.buckets)
            .recordNanoseconds(elapsed.nanoseconds)
        context.logger.debug("request", metadata: [
            "method": "\(request.method)", "path": "\(request.uri.path)", "status": "\(response.status.code)",
            "duration_us": "\(elapsed.nanoseconds / 1000)",
        ])
        return response
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
