import Hummingbird
import PalisadeServices

/// Ideco NGFW's HTTP API, as far as Palisade serves it: the administrator login (`/web`), the
/// firewall (`/firewall`) and the aliases its rules refer to (`/aliases`). Errors in Ideco's shape.
struct IdecoRoutes {
    let auth: AuthService
    let firewall: FirewallService

    func register(on router: Router<PalisadeRequestContext>) {
        IdecoLoginRoutes(auth: auth).register(on: router.group("web").add(middleware: IdecoErrorMiddleware()))
        IdecoFirewallRoutes(firewall: firewall).register(on: router.group("firewall").add(middleware: IdecoErrorMiddleware()))
        IdecoAliasRoutes(firewall: firewall).register(on: router.group("aliases").add(middleware: IdecoErrorMiddleware()))
    }
}
