/// What a password must be. Firegex accepted any non-empty password, and its clients must keep
/// working, so the only rules are: not empty, and at most 72 bytes (bcrypt ignores the rest, which
/// would silently make two different passwords equal).
public enum PasswordPolicy {
    public static let maximumBytes = 72

    /// The exact wording Firegex used for an empty password.
    public static let emptyMessage = "Cannot insert an empty password!"

    public static func check(_ password: String) throws(FieldReason) {
        guard !password.isEmpty else { throw FieldReason(emptyMessage) }
        guard password.utf8.count <= maximumBytes else {
            throw FieldReason("must be at most \(maximumBytes) bytes (bcrypt ignores the rest)")
        }
    }
}
