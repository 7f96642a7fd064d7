import Foundation

/// The repository's own YAML files (examples, packaging, the demo's, CI's), found from this source file.
enum RepositoryFiles {
    static var root: String {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url.path }
        }
        return FileManager.default.currentDirectoryPath
    }

    /// Paths relative to the root, sorted; build output (`.build`, and the scratch paths of the fuzz,
    /// sanitizer and benchmark builds, `.build-*`) and git's own files are not the repository's.
    static func yaml() -> [String] {
        let manager = FileManager.default
        let top = (try? manager.contentsOfDirectory(atPath: root)) ?? []
        var files: [String] = []
        for entry in top where !entry.hasPrefix(".build") && entry != ".git" && entry != ".swiftpm" {
            let paths = manager.subpaths(atPath: "\(root)/\(entry)").map { $0.map { "\(entry)/\($0)" } } ?? [entry]
            files += paths.filter { $0.hasSuffix(".yml") || $0.hasSuffix(".yaml") }
        }
        return files.sorted()
    }
}
