import NetworkAddress
import YAML

/// Typed reads that only litmus's keys need, over the YAML module's cursor.
extension YAMLCursor {
    func hostAndPort() throws(YAMLProblem) -> HostAndPort {
        let text = try string()
        guard let value = HostAndPort(parsing: text) else { throw error("expected host:port or [ipv6]:port, got \"\(text)\"") }
        return value
    }

    func regex() throws(YAMLProblem) -> String {
        let pattern = try string()
        do {
            _ = try Regex(pattern)
        } catch {
            throw self.error("not a valid regular expression \"\(pattern)\": \(error)")
        }
        return pattern
    }
}
