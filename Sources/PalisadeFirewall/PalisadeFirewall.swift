/// Packet filter and NAT: the nftables compiler, kernel backend, counters and reconciler
/// (issue 3 fills this module).
public enum PalisadeFirewall {}
