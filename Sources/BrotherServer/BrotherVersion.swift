/// brother's version, shown on `GET /` where big_brother shows its own.
public enum BrotherVersion {
    public static let current = "0.1.0"
}
