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
        .library(name: "Demo", targets: ["Demo"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    ],
    targets: [
        .target(name: "CPrefetch"),
        .target(name: "Engine", dependencies: ["CPrefetch"], swiftSettings: nativeCPU),
        // zlib (always present where Foundation is) inflates wheels and, later, gzip pages.
        .systemLibrary(name: "CZlib"),
        // libzstd (libzstd-dev, scripts/setup-system.sh) decompresses ZSTD parquet pages.
        .systemLibrary(name: "CZstd"),
        .target(name: "Tokenizers", dependencies: ["Engine"], swiftSettings: nativeCPU),
        .target(name: "Models", dependencies: ["Engine", "Tokenizers", "CZlib"], swiftSettings: nativeCPU),
        .target(name: "Generation", dependencies: ["Engine", "Tokenizers", "Models"], swiftSettings: nativeCPU),
        .target(name: "Search", dependencies: ["Engine", "Generation", "Models", "Tokenizers"], swiftSettings: nativeCPU),
        .target(name: "Agent", dependencies: ["Search", "Generation", "Models", "Tokenizers", "Engine"], swiftSettings: nativeCPU),
        .target(name: "RL", dependencies: ["Agent", "Search", "Engine"], swiftSettings: nativeCPU),
        .target(name: "Training", dependencies: ["Evaluation", "RL", "Agent", "Search", "Generation", "Models", "Tokenizers", "Engine",
                                                 "Yams"],
                swiftSettings: nativeCPU),
        // The synthetic world of the built-in demo (issue 6).
        .target(name: "World", dependencies: ["Agent", "Search", "Engine"], swiftSettings: nativeCPU),
        // Dataset files as users have them: parquet (issue 7).
        .target(name: "Datasets", dependencies: ["Engine", "CZlib", "CZstd"], swiftSettings: nativeCPU),
        .target(name: "Evaluation", dependencies: ["Agent", "RL", "Search", "Engine"], swiftSettings: nativeCPU),
        // HTML reports of runs (issue 7): JSON through the datasets' order-keeping model, no trainer needed.
        .target(name: "Reports", dependencies: ["Datasets"]),
        // The built-in demo (issue 6): everything above, on a synthetic world, in minutes.
        .target(name: "Demo", dependencies: ["World", "Training", "Evaluation", "Reports", "Search", "Agent", "Generation", "Models",
                                             "Tokenizers", "Engine"],
                swiftSettings: nativeCPU),
        .executableTarget(
            name: "ZeroSearchCLI",
            dependencies: [
                "Engine", "Tokenizers", "Models", "Generation", "Search", "Agent", "RL", "Training", "World", "Datasets",
                "Evaluation", "Reports", "Demo",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: nativeCPU
        ),
        .testTarget(name: "EngineTests", dependencies: ["Engine"],
                    resources: [.copy("Fixtures")], swiftSettings: nativeCPU),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "Engine"],
                    resources: [.copy("Fixtures")], swiftSettings: nativeCPU),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers", "Engine"],
                    resources: [.copy("Fixtures")], swiftSettings: nativeCPU),
        .testTarget(name: "RLTests", dependencies: ["RL", "Agent", "Engine"],
                    resources: [.copy("Fixtures")], swiftSettings: nativeCPU),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "RL", "Agent", "Search", "Models", "Tokenizers", "Engine"],
                    swiftSettings: nativeCPU),
        .testTarget(name: "EvaluationTests", dependencies: ["Evaluation", "Agent", "Search", "Generation", "Tokenizers"],
                    swiftSettings: nativeCPU),
        .testTarget(name: "AgentTests", dependencies: ["Agent", "Search", "Generation", "Tokenizers", "Engine"],
                    swiftSettings: nativeCPU),
        .testTarget(name: "WorldTests", dependencies: ["World", "Agent", "Search", "Engine"], swiftSettings: nativeCPU),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets"],
                    resources: [.copy("Fixtures")], swiftSettings: nativeCPU),
        .testTarget(name: "ReportsTests", dependencies: ["Reports", "Datasets"]),
        .testTarget(name: "DemoTests", dependencies: ["Demo", "Reports"], resources: [.copy("Fixtures")],
                    swiftSettings: nativeCPU),
        .testTarget(name: "SearchTests", dependencies: ["Search"], swiftSettings: nativeCPU),
        .testTarget(name: "GenerationTests", dependencies: ["Generation", "Models", "Engine"],
                    resources: [.copy("Fixtures")], swiftSettings: nativeCPU),
    ]
)
