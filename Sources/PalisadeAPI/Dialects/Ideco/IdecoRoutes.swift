import Hummingbird
import PalisadeServices

/// Ideco NGFW's login, firewall and alias routes (placeholder; being written).
struct IdecoRoutes {
    let auth: AuthService
    let firewall: FirewallService

    func register(on router: Router<PalisadeRequestContext>) {}
}
