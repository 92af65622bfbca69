/// DDoS mitigations: expression parser, flowspec encoding, BGP speaker driver and expiry
/// (issue 6 fills this module).
public enum PalisadeFlowspec {}
