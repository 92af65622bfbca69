/// Scan jobs: the runner of detection tools and its queue (issue 7 fills this module).
public enum PalisadeScan {}
