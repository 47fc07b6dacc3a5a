// swift-tools-version:6.2
import PackageDescription

/// Micro-benchmarks of the analyser's inner loops (package-benchmark), in a package of their own so that SKM's builds
/// and tests never build the benchmark tooling. Run them with `Benchmarks/micro.sh`.
let package = Package(
    name: "SKMMicroBenchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "SKM", path: "../.."),
        // No interposer: with Swift 6.3 on Linux they need a runtime interposer this machine does not build, and the
        // benchmarks measure time, not allocations.
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: []),
    ],
    targets: [
        .executableTarget(
            name: "SKMMicro",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "SKM", package: "SKM"),
            ],
            path: "Benchmarks/SKMMicro",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    ]
)
