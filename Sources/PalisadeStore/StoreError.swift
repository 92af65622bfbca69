/// Failures opening or using the store that a user must act on.
public enum StoreError: Error, Sendable, CustomStringConvertible, Equatable {
    case newerSchema(found: Int, supported: Int)
    case dataDirectoryInUse(path: String, holder: String)
    case dataDirectory(path: String, reason: String)

    public var description: String {
        switch self {
        case .newerSchema(let found, let supported):
            "the database has schema version \(found), written by a newer Palisade; this build supports up to "
                + "version \(supported). Run the newer Palisade, or restore a backup made with this version. "
                + "The database was not changed."
        case .dataDirectoryInUse(let path, let holder):
            "the data directory \(path) is in use by a running palisade (\(holder)); stop it first, "
                + "or use --server URL to go through its API"
        case .dataDirectory(let path, let reason):
            "data directory \(path): \(reason)"
        }
    }
}
