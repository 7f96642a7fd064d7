import Foundation
import Glibc
import Posix
import Testing

/// Durable replacement: the new content under the name, the old one kept as the backup, nothing
/// left beside them, and a failure that names the call and the path.
struct DurableFileTests {
    static func withDirectory(_ body: (String) throws -> Void) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("durable-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try body(directory)
    }

    static func contents(_ path: String) -> String? {
        FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
    }

    @Test func aReplaceWritesTheFileAndKeepsThePreviousOneAsTheBackup() throws {
        try Self.withDirectory { directory in
            let path = "\(directory)/state.json"
            try DurableFile.replace(path, with: Array("first".utf8), backup: path + ".1")
            #expect(Self.contents(path) == "first")
            #expect(Self.contents(path + ".1") == nil, "no file before: no backup")

            try DurableFile.replace(path, with: Data("second".utf8), backup: path + ".1")
            try DurableFile.replace(path, with: "third".utf8, backup: path + ".1")
            #expect(Self.contents(path) == "third")
            #expect(Self.contents(path + ".1") == "second", "the file the last write replaced")
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory).sorted() == ["state.json", "state.json.1"])
        }
    }

    @Test func aNewFileHasTheModeAsked() throws {
        try Self.withDirectory { directory in
            let path = "\(directory)/forces.json"
            try DurableFile.replace(path, with: Array("[]".utf8), mode: 0o600)
            let permissions = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
            #expect(permissions == 0o600)
        }
    }

    @Test func aFailureNamesTheCallAndThePathAndLeavesTheOldFile() throws {
        try Self.withDirectory { directory in
            #expect(throws: FileError(path: "\(directory)/missing/state.json.tmp", error: SystemCallError(call: "open", errno: ENOENT))) {
                try DurableFile.replace("\(directory)/missing/state.json", with: Array("x".utf8))
            }
            // A directory in the file's place: the rename fails, the temporary file is gone.
            let path = "\(directory)/state.json"
            try FileManager.default.createDirectory(atPath: path + "/inside", withIntermediateDirectories: true)
            do throws(FileError) {
                try DurableFile.replace(path, with: Array("x".utf8))
                Issue.record("a file was renamed over a directory")
            } catch {
                #expect(error.error.call == "rename")
                #expect(error.path == path)
                #expect(error.description.hasPrefix("rename \(path): "))
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["state.json"])
        }
    }
}
