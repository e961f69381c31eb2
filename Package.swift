// swift-tools-version: 6.1
import PackageDescription

// The kernels are written with SIMD16<Float>; LLVM only turns them into AVX-512
// FMAs when it may target the build machine's CPU. Without `-target-cpu`
// `addingProduct` lowers to scalar `fmaf` calls (about 200x slower), so every
// target that does arithmetic is built for the native CPU. See README.md
// ("Portability").
let nativeCPU: [SwiftSetting] = [
    .unsafeFlags(["-target-cpu", "native"]),
    .unsafeFlags(["-Ounchecked", "-wmo"], .when(configuration: .release)),
]

let package = Package(
    name: "ZeroSearch",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "zerosearch", targets: ["ZeroSearchCLI"]),
        .executable(name: "zerosearch-demo", targets: ["ZeroSearchDemo"]),
        .library(name: "Support", targets: ["Support"]),
        .library(name: "Engine", targets: ["Engine"]),
        .library(name: "Models", targets: ["Models"]),
        .library(name: "Tokenizers", targets: ["Tokenizers"]),
        .library(name: "Generation", targets: ["Generation"]),
        .library(name: "Search", targets: ["Search"]),
        .library(name: "Agent", targets: ["Agent"]),
        .library(name: "RL", targets: ["RL"]),
        .library(name: "Training", targets: ["Training"]),
        .library(name: "Evaluation", targets: ["Evaluation"]),
        .library(name: "World", targets: ["World"]),
        .library(name: "Datasets", targets: ["Datasets"]),
        .library(name: "Reports", targets: ["Reports"]),
        .library(name: "Runs", targets: ["Runs"]),
        .library(name: "RealRun", targets: ["RealRun"]),
        .library(name: "Demo", targets: ["Demo"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        // Modules in the order data flows; each depends only on earlier ones
        // (docs/architecture.md; scripts/check-module-graph.sh checks it).
        .target(name: "CPrefetch"),
        // zlib (always present where Foundation is) inflates wheels and, later, gzip pages.
        .systemLibrary(name: "CZlib"),
        // libzstd (libzstd-dev, scripts/setup-system.sh) decompresses ZSTD parquet pages.
        .systemLibrary(name: "CZstd"),
        // What every layer shares: JSON, the validation error, Python's text rules, file maps.
        .target(name: "Support"),
        .target(name: "Engine", dependencies: ["Support", "CPrefetch"], swiftSettings: nativeCPU),
        .target(name: "Tokenizers", dependencies: ["Support", "Engine"], swiftSettings: nativeCPU),
        .target(name: "Models", dependencies: ["Support", "Engine", "CZlib"], swiftSettings: nativeCPU),
        // Dataset files as users have them: parquet, JSONL, CSV (issue 7).
        .target(name: "Datasets", dependencies: ["Support", "Engine", "CZlib", "CZstd"], swiftSettings: nativeCPU),
        .target(name: "Generation", dependencies: ["Engine", "Tokenizers", "Models"], swiftSettings: nativeCPU),
        .target(name: "Search", dependencies: ["Support", "Engine"], swiftSettings: nativeCPU),
        .target(
            name: "Agent", dependencies: ["Support", "Engine", "Tokenizers", "Models", "Generation", "Search"],
            swiftSettings: nativeCPU),
        .target(name: "RL", dependencies: ["Support"], swiftSettings: nativeCPU),
        // The synthetic world of the built-in demo (issue 6).
        .target(name: "World", dependencies: ["Engine", "Search", "Agent"], swiftSettings: nativeCPU),
        .target(
            name: "Training",
            dependencies: [
                "Support", "Engine", "Tokenizers", "Models", "Generation", "Search", "Agent", "RL",
                "Yams",
            ],
            swiftSettings: nativeCPU),
        .target(name: "Evaluation", dependencies: ["Support", "Engine", "Search", "Agent", "RL"], swiftSettings: nativeCPU),
        // HTML reports of runs (issue 7), from their files alone.
        .target(name: "Reports", dependencies: ["Support"]),
        // A run assembled from its config alone: engines, models, questions, the trainer.
        .target(
            name: "Runs",
            dependencies: [
                "Support", "Engine", "Tokenizers", "Models", "Datasets", "Generation", "Search", "Agent", "RL", "Training",
                "Evaluation",
            ],
            swiftSettings: nativeCPU),
        // ZeroSearch on real data (issue 17): Wikipedia, NQ-open, SmolLM2.
        .target(
            name: "RealRun",
            dependencies: [
                "Support", "Engine", "Tokenizers", "Models", "Generation", "Search", "Agent", "RL", "Training", "Evaluation",
                "Reports", "Runs",
            ],
            swiftSettings: nativeCPU),
        // The built-in demo (issue 6): everything above, on a synthetic world, in minutes.
        .target(
            name: "Demo",
            dependencies: [
                "Support", "Engine", "Tokenizers", "Models", "Generation", "Search", "Agent", "World",
                "Training", "Evaluation", "Reports", "Runs",
            ],
            resources: [.copy("QuickBases")], swiftSettings: nativeCPU),
        // Timed harnesses behind `zerosearch bench` (not used by any run).
        .target(
            name: "Benchmarks", dependencies: ["Support", "Engine", "Models", "Search", "Training", "Runs"],
            swiftSettings: nativeCPU),
        // Mutated real files through every parser of untrusted bytes, behind `zerosearch fuzz`.
        .target(
            name: "Fuzzing", dependencies: ["Support", "Engine", "Tokenizers", "Models", "Datasets", "Search", "Training", "Demo"],
            swiftSettings: nativeCPU),
        // `zerosearch serve` (issue 20): models and engines behind OpenAI-compatible and Search-R1 HTTP APIs.
        .target(
            name: "Serving",
            dependencies: [
                "Support", "Engine", "Models", "Generation", "Search",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: nativeCPU),
        // Progress bars and stage notes on a terminal or in a log.
        .target(name: "Console", dependencies: ["Support"]),
        // `zerosearch demo`'s arguments, shared by the full CLI and the demo's own executable.
        .target(
            name: "DemoCLI",
            dependencies: ["Console", "Demo", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        // `zerosearch-demo` (what `make demo` builds): the demo without the server, benchmarks
        // and fuzzing, so without swift-nio and Hummingbird to compile.
        .executableTarget(name: "ZeroSearchDemo", dependencies: ["DemoCLI"]),
        .executableTarget(
            name: "ZeroSearchCLI",
            dependencies: [
                "Support", "Engine", "Tokenizers", "Models", "Generation", "Search", "Agent", "RL", "Training", "World", "Datasets",
                "Evaluation", "Reports", "Runs", "RealRun", "Benchmarks", "Fuzzing", "Serving", "Console", "DemoCLI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: nativeCPU
        ),
        .testTarget(
            name: "EngineTests", dependencies: ["Engine", "Support"],
            resources: [.copy("Fixtures")], swiftSettings: nativeCPU),
        .testTarget(
            name: "ModelsTests", dependencies: ["Models", "Engine", "Support"],
            resources: [.copy("Fixtures")], swiftSettings: nativeCPU),
        .testTarget(
            name: "TokenizersTests", dependencies: ["Tokenizers", "Engine"],
            resources: [.copy("Fixtures")], swiftSettings: nativeCPU),
        .testTarget(
            name: "RLTests", dependencies: ["RL", "Agent"],
            resources: [.copy("Fixtures")], swiftSettings: nativeCPU),
        .testTarget(
            name: "TrainingTests",
            dependencies: ["Training", "Evaluation", "RL", "Agent", "Search", "Models", "Tokenizers", "Engine", "Support"],
            swiftSettings: nativeCPU),
        .testTarget(
            name: "EvaluationTests", dependencies: ["Evaluation", "Agent", "Search", "Generation", "Tokenizers"],
            swiftSettings: nativeCPU),
        .testTarget(
            name: "AgentTests", dependencies: ["Agent", "Search", "Generation", "Tokenizers", "Engine"],
            swiftSettings: nativeCPU),
        .testTarget(name: "WorldTests", dependencies: ["World", "Agent", "Search", "Engine"], swiftSettings: nativeCPU),
        .testTarget(
            name: "DatasetsTests", dependencies: ["Datasets", "Support"],
            resources: [.copy("Fixtures")], swiftSettings: nativeCPU),
        .testTarget(name: "ReportsTests", dependencies: ["Reports", "Support"]),
        .testTarget(
            name: "DemoTests", dependencies: ["Demo", "Reports", "Support"],
            swiftSettings: nativeCPU),
        // A loopback HTTP server that answers as a test scripts it, for the remote-engine tests.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(
            name: "RealRunTests", dependencies: ["RealRun", "Demo", "Agent", "Generation", "Models", "Search", "Support", "Training"],
            swiftSettings: nativeCPU),
        .testTarget(name: "SearchTests", dependencies: ["Search", "TestSupport"], swiftSettings: nativeCPU),
        .testTarget(
            name: "RunsTests", dependencies: ["Runs", "Demo", "Training", "Search", "Support", "TestSupport"],
            swiftSettings: nativeCPU),
        .testTarget(
            name: "ServingTests",
            dependencies: ["Serving", "Demo", "Generation", "Search", "Support", .product(name: "Logging", package: "swift-log")],
            swiftSettings: nativeCPU),
        .testTarget(
            name: "GenerationTests", dependencies: ["Generation", "Models", "Engine"],
            resources: [.copy("Fixtures")], swiftSettings: nativeCPU),
    ]
)
