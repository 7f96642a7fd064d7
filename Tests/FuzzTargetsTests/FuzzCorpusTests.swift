import FuzzTargets
import Testing

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Every input in the committed corpus (seeds, and each input that once crashed a target) through
/// its target: a fixed bug that comes back traps here, in the host suite, without libFuzzer.
@Suite struct FuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Fuzz/corpus").standardized.path

    @Test(arguments: FuzzTarget.all.map(\.name))
    func replaysItsCorpus(_ name: String) throws {
        let target = try #require(FuzzTarget.named(name))
        let directory = "\(Self.corpus)/\(name)"
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        #expect(!files.isEmpty, "no corpus for \(name) in \(directory): scripts/fuzz starts each target from its seeds")
        let scratch = try FuzzScratch()
        defer { try? FileManager.default.removeItem(atPath: scratch.directory) }
        for file in files {
            let data = try Data(contentsOf: URL(fileURLWithPath: "\(directory)/\(file)"))
            data.withUnsafeBytes { target.run($0, scratch: scratch) }
        }
    }

    @Test func everyCorpusDirectoryNamesATarget() throws {
        let names = Set(FuzzTarget.all.map(\.name))
        let directories = try FileManager.default.contentsOfDirectory(atPath: Self.corpus)
        #expect(Set(directories).subtracting(names).isEmpty, "corpus directories without a target: \(Set(directories).subtracting(names).sorted())")
        #expect(names.count == FuzzTarget.all.count, "two targets share a name")
    }
}
