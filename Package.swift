// swift-tools-version:6.1
import PackageDescription

/// Every target: Swift 6 language mode, explicit existentials, imports that say what they use.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

/// Release links of the long-running litmus agent, whose resident memory counts (issue 3: <= 20 MB). lld:
/// - packs the ~30,000 relative relocations into a few KB (DT_RELR, glibc >= 2.36) instead of a 1.2 MB
///   table that the loader reads at every start;
/// - folds identical functions (many generic specialisations);
/// - exports no symbols: `--static-swift-stdlib` adds `-export-dynamic`, whose 200,000-symbol table
///   (2 MB, touched by every symbol lookup of the shared libraries) a dynamic build does not have either;
/// - puts the functions a running agent executes together at the start of .text (linker/litmus-hot.order, made
///   by scripts/litmus-hot-functions): the kernel maps cached code 64 KB around each fault, so scattered hot
///   functions kept 12 of the 17 MB of code resident. Functions missing from the list only lose their place.
let residentCodeLinkerSettings: [LinkerSetting] = [
    .unsafeFlags(
        [
            "-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs", "-Xlinker", "--icf=all", "-Xlinker", "--no-export-dynamic",
            "-Xlinker", "--symbol-ordering-file=\(Context.packageDirectory)/linker/litmus-hot.order", "-Xlinker", "--no-warn-symbol-ordering",
        ],
        .when(platforms: [.linux], configuration: .release)
    )
]

let package = Package(
    name: "plimsoll",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "brother", targets: ["brother"]),
        .executable(name: "litmus", targets: ["litmus"]),
        .executable(name: "litmusctl", targets: ["litmusctl"]),
        .library(name: "IPVS", targets: ["IPVS"]),
        .library(name: "LitmusWire", targets: ["LitmusWire"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.36.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.4.0"),
        // No traits: FullFoundation would link full Foundation (and ICU) into the agent; ConfigurationSupport is unused.
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.0", traits: []),
        // Already under Hummingbird; named here for NIOHTTPTypes, the HTTP parts HTTPServing's connection guard watches.
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.0"),
        // Tests only: libyaml, the independent implementation YAMLTests compares the YAML module against.
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.0"),
        .package(url: "https://github.com/apple/swift-async-algorithms.git", from: "1.1.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
    ],
    targets: [
        // MARK: C boundary
        .systemLibrary(
            name: "CNetlink",
            pkgConfig: "libnl-genl-3.0",
            providers: [.apt(["libnl-3-dev", "libnl-genl-3-dev"])]
        ),
        // mallopt for the daemons' malloc arenas (no library to link: it is glibc's).
        .systemLibrary(name: "CMalloc"),
        // epoll and eventfd for the reactor (glibc's, like CMalloc).
        .systemLibrary(name: "CEpoll"),

        // MARK: POSIX foundation: the system-call seam, the epoll reactor, the process runner, process tuning
        .target(name: "Posix", dependencies: ["CEpoll", "CMalloc"], swiftSettings: swiftSettings),
        .systemLibrary(
            name: "CIPSet",
            pkgConfig: "libipset",
            providers: [.apt(["libipset-dev"])]
        ),

        // MARK: addresses (IP address, network, host and port), used by every module that names a peer
        .target(name: "NetworkAddress", swiftSettings: swiftSettings),

        // MARK: IPVS foundation
        .target(name: "Netlink", dependencies: ["CNetlink"], swiftSettings: swiftSettings),
        .target(
            name: "IPVS",
            dependencies: ["NetworkAddress", "Netlink", "Posix", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .target(name: "IPVSTesting", dependencies: ["IPVS"], swiftSettings: swiftSettings),

        // MARK: VIP sets for fwmark services (libipset)
        .target(name: "VIPSets", dependencies: ["CIPSet", "NetworkAddress", "Posix"], swiftSettings: swiftSettings),

        // MARK: litmus agent (LitmusWire → LitmusCore → LitmusServer)
        .target(name: "LitmusWire", swiftSettings: swiftSettings),
        // The one YAML reader of both daemons' config files (parser, scalar rule, typed access, problems); no dependencies.
        .target(name: "YAML", swiftSettings: swiftSettings),
        // Who may change state over HTTP (loopback, Unix socket, networks + token); litmus and brother.
        .target(name: "AccessControl", dependencies: ["NetworkAddress"], swiftSettings: swiftSettings),
        .target(
            name: "LitmusCore",
            dependencies: [
                "AccessControl",
                "NetworkAddress",
                "Clocks",
                "LitmusWire",
                "Posix",
                "YAML",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "LitmusServer",
            dependencies: [
                "AccessControl",
                "HTTPServing",
                "NetworkAddress",
                "LitmusCore",
                "LitmusWire",
                "Posix",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),

        // The HTTP server foundation of both daemons: listeners and the Unix socket, transport, request
        // context with the peer, error mapping, admin gate, forms.
        .target(
            name: "HTTPServing",
            dependencies: [
                "AccessControl",
                "LitmusWire",
                "NetworkAddress",
                "Posix",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                // TLS listeners (litmus's `tls:`): BoringSSL, already linked for litmus's https checks.
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),

        .target(name: "LitmusTesting", dependencies: ["Posix"], swiftSettings: swiftSettings),
        // A clock that moves only when a test says so (timers, timeouts, rounds); no dependencies.
        .target(name: "Clocks", swiftSettings: swiftSettings),
        // Tests wait for an event with a generous bound, never for a time to pass.
        .target(name: "Eventually", swiftSettings: swiftSettings),
        // Seeded randomness for tests that feed random input.
        .target(name: "DeterministicRandom", swiftSettings: swiftSettings),

        // MARK: `brother ipvs`: the kernel table as text and JSON, and the table files `brother ipvs apply` reads
        .target(name: "IPVSViews", dependencies: ["IPVS", "NetworkAddress", "Posix", "YAML"], swiftSettings: swiftSettings),

        // MARK: brother (BrotherCore → BrotherPolling → BrotherMonitor → BrotherServer, BrotherDiscovery)
        // The pure core: configuration model and reader, weight policy, round planning, cluster state values.
        .target(
            name: "BrotherCore",
            dependencies: ["IPVS", "LitmusWire", "NetworkAddress", "YAML"],
            swiftSettings: swiftSettings
        ),
        // Polls agents: one thread on the Posix reactor, HTTP/1 to litmus and litmus_paper agents.
        .target(
            name: "BrotherPolling",
            dependencies: [
                "BrotherCore",
                "Clocks",
                "IPVS",
                "LitmusWire",
                "NetworkAddress",
                "Posix",
                .product(name: "NIOCore", package: "swift-nio"),
                // https agents (`check_tls:`) go through SwiftNIO and NIOSSL, beside the plain-HTTP poll loop.
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        // The sequencer of rounds, the kernel reconciler, the state file, notifications, reloads.
        .target(
            name: "BrotherMonitor",
            dependencies: [
                "BrotherCore",
                "BrotherPolling",
                "IPVS",
                "NetworkAddress",
                "Posix",
                "VIPSets",
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),

        // DNS discovery of cluster members (A, AAAA, SRV), over its own small NIO client.
        .target(
            name: "BrotherDiscovery",
            dependencies: [
                "BrotherCore",
                "BrotherMonitor",
                "IPVS",
                "NetworkAddress",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // brother's API, dashboard and /metrics, on the HTTP foundation both daemons share.
        .target(
            name: "BrotherServer",
            dependencies: [
                "AccessControl",
                "BrotherCore",
                "BrotherMonitor",
                "HTTPServing",
                "IPVS",
                "LitmusWire",
                "NetworkAddress",
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: executables (thin)
        .executableTarget(
            name: "brother",
            dependencies: [
                "IPVS",
                "IPVSViews",
                "BrotherDiscovery",
                "BrotherMonitor",
                "BrotherPolling",
                "BrotherServer",
                "HTTPServing",
                "NetworkAddress",
                "VIPSets",
                "AccessControl",
                "BrotherCore",
                "Posix",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "litmus",
            dependencies: [
                "LitmusCore",
                "LitmusServer",
                "Posix",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings,
            linkerSettings: residentCodeLinkerSettings
        ),
        .executableTarget(
            name: "litmusctl",
            dependencies: [
                "LitmusCore",
                "NetworkAddress",
                "LitmusWire",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: benchmarks (release builds; scripts/bench-*)
        .executableTarget(name: "ipvs-bench", dependencies: ["IPVS", "NetworkAddress", "Posix"], swiftSettings: swiftSettings),
        .executableTarget(
            name: "brother-bench",
            dependencies: [
                "AccessControl",
                "BrotherCore",
                "BrotherMonitor",
                "BrotherPolling",
                "BrotherServer",
                "NetworkAddress",
                "IPVS",
                "IPVSTesting",
                "Posix",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: coverage-guided fuzzing (scripts/fuzz): the targets, and one driver that is a libFuzzer
        // binary when built with `--sanitize=fuzzer -Xswiftc -DFUZZING` and a corpus replayer otherwise.
        .target(
            name: "FuzzTargets",
            dependencies: [
                "BrotherCore", "BrotherDiscovery", "BrotherMonitor", "BrotherPolling", "IPVS", "IPVSViews", "LitmusCore", "LitmusWire", "Netlink",
                "NetworkAddress", "YAML", .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(name: "plimsoll-fuzz", dependencies: ["FuzzTargets"], swiftSettings: swiftSettings),

        // MARK: tests
        .testTarget(name: "NetworkAddressTests", dependencies: ["NetworkAddress"], swiftSettings: swiftSettings),
        .testTarget(
            name: "HTTPServingTests",
            dependencies: [
                "AccessControl", "Eventually", "HTTPServing", "LitmusTesting", "LitmusWire", "NetworkAddress", "Posix",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IPVSViewsTests", dependencies: ["IPVSViews", "IPVS", "IPVSTesting", "NetworkAddress", "YAML"], swiftSettings: swiftSettings),
        .testTarget(name: "PosixTests", dependencies: ["Posix"], swiftSettings: swiftSettings),
        .testTarget(name: "NetlinkTests", dependencies: ["Netlink", "CNetlink"], swiftSettings: swiftSettings),
        .testTarget(
            name: "IPVSTests",
            dependencies: [
                "IPVS", "IPVSTesting", "NetworkAddress", "Netlink", "CNetlink", .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IPVSKernelTests", dependencies: ["Eventually", "IPVS", "NetworkAddress", "Netlink", "BrotherCore"], swiftSettings: swiftSettings),
        .testTarget(
            name: "BrotherCoreTests",
            dependencies: [
                "Eventually",
                "BrotherCore", "BrotherDiscovery", "BrotherMonitor", "BrotherPolling", "BrotherServer", "Clocks", "IPVS", "IPVSTesting",
                "LitmusTesting", "LitmusWire", "LitmusCore", "LitmusServer", "AccessControl", "IPVSViews",
                "HTTPServing", "NetworkAddress", "Posix",
                "DeterministicRandom", "YAML",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "PropertyBased", package: "swift-property-based"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "VIPSetsTests", dependencies: ["VIPSets", "NetworkAddress", "DeterministicRandom"], swiftSettings: swiftSettings),
        .testTarget(name: "VIPSetsKernelTests", dependencies: ["VIPSets", "NetworkAddress"], swiftSettings: swiftSettings),
        .testTarget(name: "LitmusWireTests", dependencies: ["LitmusWire", "DeterministicRandom"], swiftSettings: swiftSettings),
        // Replays the committed fuzz corpus (Fuzz/corpus/<target>/) through every target.
        .testTarget(
            name: "FuzzTargetsTests",
            dependencies: ["FuzzTargets"],
            swiftSettings: swiftSettings
        ),
        // Yams (libyaml) only here: the independent implementation the differential tests compare against.
        .testTarget(
            name: "YAMLTests",
            dependencies: ["YAML", "DeterministicRandom", "Yams", .product(name: "PropertyBased", package: "swift-property-based")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LitmusCoreTests",
            dependencies: [
                "Eventually",
                "Clocks", "LitmusCore", "LitmusWire", "LitmusTesting", "AccessControl", "NetworkAddress", "Posix", "YAML",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LitmusServerTests",
            dependencies: [
                "Eventually",
                "LitmusServer", "LitmusCore", "LitmusWire", "LitmusTesting", "AccessControl", "HTTPServing", "NetworkAddress", "Posix",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
