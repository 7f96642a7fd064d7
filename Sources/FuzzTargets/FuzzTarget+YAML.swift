import BrotherCore
import LitmusCore
import YAML

/// The YAML reader, and the two configuration readers built on it.
extension FuzzTarget {
    static let yaml = FuzzTarget("yaml", "YAMLParser.parse on any text: a node, or a problem placed inside the text") { input, _ in
        let text = String(decoding: input, as: UTF8.self)
        do throws(YAMLProblem) {
            _ = try YAMLParser.parse(text, file: "fuzz.yml")
        } catch {
            // A problem points at the text it came from: a line past the end would send an operator nowhere.
            // Lines as YAML counts them: CRLF, a lone CR and LF each end one (a lone CR counted as no
            // break made this target trap on a correct line number in an old-Mac-style file).
            if let line = error.line {
                var lines = 1
                var previousWasCR = false
                for byte in text.utf8 {
                    if byte == UInt8(ascii: "\r") || (byte == UInt8(ascii: "\n") && !previousWasCR) { lines += 1 }
                    previousWasCR = byte == UInt8(ascii: "\r")
                }
                precondition(line >= 1 && line <= lines + 1, "YAML problem at line \(line) of a \(lines)-line text: \(error)")
            }
        }
    }

    static let litmusConfig = FuzzTarget("litmus-config", "litmus.yml through ConfigLoader.load, as `litmus check` reads it") { input, scratch in
        let path = scratch.write(input, to: "litmus.yml")
        _ = try? ConfigLoader.load(path: path)
    }

    static let brotherConfig = FuzzTarget("brother-config", "brother.yml through BrotherConfiguration(yaml:), as `brother check` reads it") {
        input, _ in
        _ = try? BrotherConfiguration(yaml: String(decoding: input, as: UTF8.self), source: "fuzz.yml")
    }
}
