/// The L7 regex proxy and its Hyperscan matcher (issue 5 fills this module).
public enum PalisadeProxy {}
