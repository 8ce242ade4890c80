// swift-tools-version:6.1
// The learner's loop alone, for counting its instructions under callgrind
// (bench/instructions.sh). Valgrind cannot run `crossrec` itself (it crashes in libdispatch's
// signal thread at start-up), so this program links only RecModel: the sources are the
// package's own, through symbolic links.
import PackageDescription

let package = Package(
    name: "learner-loop",
    targets: [
        .target(name: "CKernels"),
        .target(name: "RecModel", dependencies: ["CKernels"], swiftSettings: [.enableUpcomingFeature("ExistentialAny")]),
        .executableTarget(name: "learner-loop", dependencies: ["RecModel"]),
    ]
)
