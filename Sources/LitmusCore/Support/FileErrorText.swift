#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#endif

/// A file operation's error in words, e.g. "No such file or directory (/etc/litmus/x.yml)".
///
/// `localizedDescription` needs full Foundation (and ICU) on Linux; the errno text says the same thing.
public enum FileErrorText {
    public static func describe(_ error: any Error) -> String {
        if let cocoa = error as? CocoaError {
            let path = cocoa.filePath.map { " (\($0))" } ?? ""
            if let posix = cocoa.underlying as? POSIXError { return String(cString: strerror(posix.code.rawValue)) + path }
            return "file error \(cocoa.code.rawValue)" + path
        }
        if let posix = error as? POSIXError { return String(cString: strerror(posix.code.rawValue)) }
        return "\(error)"
    }
}
