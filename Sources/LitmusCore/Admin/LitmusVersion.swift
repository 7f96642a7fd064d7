/// The agent's version, shown on `GET /` in litmus_paper's place.
public enum LitmusVersion {
    public static let current = "0.1.0"
}
