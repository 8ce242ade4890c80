// swift-tools-version:6.1
import PackageDescription

/// One settings array for every target, so all of them build the same way.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

/// The model is optimized in debug builds too: its builds and sweeps ran 10-50x slower
/// unoptimized, and every daemon the tests start builds models with it (a debug build of the
/// crash-equivalence test's 40 000 events took 3-14 s). Preconditions and bounds checks stay.
let modelSettings: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]

let package = Package(
    name: "crossrec",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "crossrecd", targets: ["crossrecd"]),
        .executable(name: "crossrec", targets: ["crossrec"]),
        .executable(name: "crossrec-bench", targets: ["crossrec-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-atomics", from: "1.3.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        .target(
            name: "KafkaIngest",
            dependencies: [
                "CRdKafka", "JSONScanning",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Kernels Swift cannot express fast: the CPU's CRC-32C instruction (checkpoint
        // checksums), the int8 scoring loop (vectorized int8 → float conversion) and the
        // learner's vector steps (lane-wise clamps as MINPS/MAXPS).
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O2"], .when(configuration: .debug))]),
        .target(name: "RecModel", dependencies: ["CKernels"], swiftSettings: swiftSettings + modelSettings),
        .target(name: "Checkpoint", dependencies: ["RecModel", "CKernels"], swiftSettings: swiftSettings),
        // Serving model versions as Kafka messages (chunks, manifest, assembly); no I/O.
        .target(name: "Replication", dependencies: ["Checkpoint"], swiftSettings: swiftSettings),
        .target(
            name: "QueryProtocol",
            dependencies: ["JSONScanning", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        // JSON tokens shared by the event scanner and the request reader (no dependencies).
        .target(name: "JSONScanning", swiftSettings: swiftSettings),
        .target(
            name: "QueryServer",
            dependencies: [
                "QueryProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "DaemonCore",
            dependencies: [
                "KafkaIngest", "RecModel", "Checkpoint", "QueryProtocol", "QueryServer", "Replication",
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        // What the two command-line tools share: rating files and payloads, broker options, loggers.
        .target(
            name: "CLISupport",
            dependencies: [
                "KafkaIngest", "QueryProtocol", "JSONScanning",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "crossrecd",
            dependencies: [
                "DaemonCore", "Checkpoint", "QueryProtocol",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "crossrec",
            dependencies: [
                "CLISupport", "QueryProtocol", "KafkaIngest", "RecModel", "Checkpoint",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The benchmarks behind docs/BENCHMARKS.md (`make bench`), apart from the user CLI.
        .executableTarget(
            name: "crossrec-bench",
            dependencies: [
                "CLISupport", "CRdKafka", "QueryProtocol", "KafkaIngest", "RecModel", "Checkpoint", "Replication",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TestSupport",
            dependencies: ["KafkaIngest", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "KafkaIngestTests", dependencies: ["KafkaIngest", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "RecModelTests", dependencies: ["RecModel"], swiftSettings: swiftSettings),
        .testTarget(name: "ReplicationTests", dependencies: ["Replication"], swiftSettings: swiftSettings),
        .testTarget(name: "CLISupportTests", dependencies: ["CLISupport", "KafkaIngest"], swiftSettings: swiftSettings),
        .testTarget(
            name: "CheckpointTests", dependencies: ["Checkpoint", "RecModel", "TestSupport"], exclude: ["Fixtures"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "QueryProtocolTests",
            dependencies: ["QueryProtocol", "RecModel", .product(name: "NIOEmbedded", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "QueryServerTests",
            dependencies: [
                "QueryServer", "QueryProtocol", "TestSupport",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DaemonCoreTests",
            dependencies: ["DaemonCore", "Checkpoint", "Replication", "TestSupport"],
            swiftSettings: swiftSettings
        ),
    ]
)
