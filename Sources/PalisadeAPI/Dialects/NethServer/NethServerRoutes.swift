import Hummingbird
import PalisadeServices

/// NethServer's firewall `rules` and `objects` commands over HTTP (placeholder; being written).
struct NethServerRoutes {
    let firewall: FirewallService

    func register(on group: RouterGroup<PalisadeRequestContext>) {}
}
