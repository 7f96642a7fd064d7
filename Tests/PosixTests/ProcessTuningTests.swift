import Glibc
import Posix
import Testing

/// Process-wide tuning the daemons do at start.
struct ProcessTuningTests {
    @Test func aFileLimitBelowOneConnectionPerAgentIsWarnedAbout() {
        #expect(FileDescriptorLimit.warning(limit: 1024, agents: 10_000)?.contains("LimitNOFILE") == true)
        #expect(FileDescriptorLimit.warning(limit: 65_536, agents: 10_000) == nil)
        #expect(FileDescriptorLimit.raiseToHardLimit() > 0)
    }

    @Test func raisingTheLimitToWhatIsAlreadyAllowedKeepsAtLeastThat() {
        var limit = rlimit()
        #expect(getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0)
        let soft = Int(clamping: limit.rlim_cur)
        #expect(FileDescriptorLimit.raise(toAtLeast: min(soft, 512)) >= min(soft, 512))
    }

    @Test func glibcTakesTheArenaLimit() {
        #expect(MallocArenas.limit(to: 2))
    }
}
