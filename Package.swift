// swift-tools-version:6.2
import PackageDescription

/// Settings every first-party target shares: Swift 6 language mode (strict concurrency) is implied by the tools
/// version; warnings are errors so that a warning never lands (a package that depends on SKM ignores this).
/// A nonisolated async function runs on its caller's executor (SE-0461) rather than hopping to the global one: the
/// server's tasks run on the event loop that read the request, and each hop would be one more trip through it.
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("NonisolatedNonsendingByDefault"),
    .treatAllWarnings(as: .error),
]

/// The fuzz harnesses are declared only when `SKM_FUZZ=1` (scripts/fuzz.sh sets it): an ordinary build neither
/// builds them nor offers them as products.
let fuzzing = Context.environment["SKM_FUZZ"] == "1"

/// The package-benchmark micro-benchmarks (Benchmarks/SKMMicro) are declared only when `SKM_BENCHMARK=1`
/// (Benchmarks/micro.sh sets it): an ordinary build neither resolves nor builds the benchmark tooling. They live in
/// this package so that they measure its `package` API, which no other package can see.
let benchmarking = Context.environment["SKM_BENCHMARK"] == "1"

/// The libFuzzer harnesses (Sources/Fuzz): one static library each, linked into a fuzzer by scripts/fuzz.sh after a
/// build with `-sanitize=fuzzer,address` (libFuzzer brings its own `main`, so they cannot be executables).
let fuzzHarnesses: [(name: String, dependencies: [Target.Dependency])] = [
    ("RequestBody", ["FuzzSupport", "SKMCore", "SKMWire"]),
    ("TokenForm", ["FuzzSupport", "SKMCore", "SKMWire"]),
    ("RequestLog", ["SKMAnalysis", "SKMCore", "SKMWire"]),
    ("HAR", ["SKMAnalysis"]),
    ("RuleYAML", ["SKMAnalysis", "SKMRules"]),
    ("Condition", ["SKMAnalysis", "SKMRules"]),
    ("Certificate", ["SKMPrimitives", "SKMCore", "SKMWire", .product(name: "X509", package: "swift-certificates")]),
]

let package = Package(
    name: "SKM",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "skm", targets: ["skm"]),
        .library(
            name: "SKM",
            targets: [
                "SKMPrimitives", "SKMCore", "SKMWire", "SKMStorage", "SKMServer", "SKMRules", "SKMAnalysis",
                "SKMReport", "SKMTriage",
            ]
        ),
    ]
        + (fuzzing
            ? fuzzHarnesses.map { .library(name: "Fuzz\($0.name)", type: .static, targets: ["Fuzz\($0.name)"]) } : []),
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.34.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        // CSV for bulk IPv4/MAC registration: quoted fields, CRLF and a UTF-8 BOM as spreadsheets write them.
        .package(url: "https://github.com/yaslab/CSV.swift.git", from: "2.5.2"),
        // The triage page's uploads: a streaming multipart/form-data parser (a file part goes to disk as it arrives).
        .package(url: "https://github.com/vapor/multipart-kit.git", from: "4.7.1"),
    ]
        // No interposer: with Swift 6.3 on Linux the malloc interposer needs a runtime this machine does not build, and
        // the benchmarks measure time, not allocations.
        + (benchmarking ? [.package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: [])] : []),
    targets: [
        .systemLibrary(
            name: "COpenSSL",
            path: "Sources/COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),
        .systemLibrary(
            name: "CLibXML2",
            path: "Sources/CLibXML2",
            pkgConfig: "libxml-2.0",
            providers: [.apt(["libxml2-dev"])]
        ),
        .systemLibrary(name: "CSubprocess", path: "Tests/CSubprocess"),
        .systemLibrary(
            name: "CAnalysisSupport",
            path: "Sources/CAnalysisSupport",
            providers: [.apt(["zlib1g-dev"])]
        ),
        .target(name: "SKMPrimitives", swiftSettings: strictSettings),
        .target(
            name: "SKMCore",
            dependencies: [
                "SKMPrimitives",
                "COpenSSL",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "CSV", package: "CSV.swift"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "SKMWire",
            dependencies: [
                "SKMPrimitives", "SKMCore", .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "SKMStorage",
            dependencies: [
                "SKMCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "SKMServer",
            dependencies: [
                "SKMPrimitives",
                "SKMCore",
                "SKMWire",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "SKMRules",
            dependencies: ["SKMPrimitives", .product(name: "Yams", package: "Yams")],
            swiftSettings: strictSettings
        ),
        .target(
            name: "SKMAnalysis",
            dependencies: [
                "SKMPrimitives", "SKMCore", "SKMWire", "SKMRules", "CAnalysisSupport",
                .product(name: "X509", package: "swift-certificates"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "SKMReport",
            dependencies: [
                "SKMPrimitives", "SKMCore", "SKMWire", "SKMRules", "SKMAnalysis", "CLibXML2",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            // Compiled into the binary: nothing is looked up at run time.
            resources: [
                .embedInCode("Resources/report.css"), .embedInCode("Resources/report.js"),
                .embedInCode("Resources/incident-report.xsd"), .embedInCode("Resources/triage.css"),
            ]
                + [
                    "report", "summary", "charts", "groups", "group", "simulation", "finding", "keys", "inputs",
                    "triage-bar", "triage-upload",
                ].map {
                    .embedInCode("Resources/\($0).mustache")
                },
            swiftSettings: strictSettings
        ),
        .target(
            name: "SKMTriage",
            dependencies: [
                "SKMPrimitives", "SKMCore", "SKMRules", "SKMAnalysis", "SKMReport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "MultipartKit", package: "multipart-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "skm",
            dependencies: [
                "SKMPrimitives",
                "SKMCore",
                "SKMWire",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                "SKMStorage",
                "SKMServer",
                "SKMRules",
                "SKMAnalysis",
                "SKMReport",
                "SKMTriage",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "X509", package: "swift-certificates"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "skm-benchmark",
            dependencies: ["SKMPrimitives", "SKMCore", "SKMWire", "SKMStorage", "SKMRules", "SKMAnalysis"],
            path: "Benchmarks/Sources/skm-benchmark",
            swiftSettings: strictSettings
        ),
        .target(
            name: "SKMTestSupport",
            dependencies: [
                "CSubprocess",
                "SKMPrimitives",
                "SKMCore",
                "SKMWire",
                "SKMAnalysis",
                "SKMStorage",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/SKMTestSupport",
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SKMCoreTests",
            dependencies: [
                "SKMPrimitives",
                "SKMCore",
                "SKMWire",
                "SKMTestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SKMStorageTests",
            dependencies: [
                "SKMCore", "SKMStorage", "SKMTestSupport",
                // To write a database of an older schema, as an earlier release left it.
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SKMServerTests",
            dependencies: [
                "SKMPrimitives",
                "SKMCore",
                "SKMWire",
                "SKMStorage",
                "SKMServer",
                "SKMTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SKMRulesTests",
            dependencies: [
                "SKMRules", "SKMAnalysis", "SKMCore", "SKMTestSupport", .product(name: "Yams", package: "Yams"),
            ],
            exclude: ["Conformance", "Fixtures"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SKMAnalysisTests",
            dependencies: [
                "SKMPrimitives", "SKMWire", "SKMAnalysis", "SKMReport", "SKMRules", "SKMCore", "SKMTestSupport",
                .product(name: "X509", package: "swift-certificates"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "skmTests",
            // `skm` is built for the tests to run; they import none of its code.
            dependencies: ["skm", "SKMPrimitives", "SKMCore", "SKMWire", "SKMTestSupport"],
            swiftSettings: strictSettings
        ),
    ]
        + (fuzzing
            ? [
                .target(
                    name: "FuzzSupport", dependencies: ["SKMPrimitives", "SKMCore"], path: "Sources/Fuzz/Support",
                    swiftSettings: strictSettings)
            ]
                + fuzzHarnesses.map {
                    .target(
                        name: "Fuzz\($0.name)", dependencies: $0.dependencies, path: "Sources/Fuzz/\($0.name)",
                        swiftSettings: strictSettings)
                } : [])
        + (benchmarking
            ? [
                .executableTarget(
                    name: "SKMMicro",
                    dependencies: [
                        "SKMCore", "SKMWire", "SKMRules", "SKMAnalysis",
                        .product(name: "Benchmark", package: "benchmark"),
                    ],
                    path: "Benchmarks/SKMMicro",
                    swiftSettings: strictSettings,
                    plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
                )
            ] : [])
)
