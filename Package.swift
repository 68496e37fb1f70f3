// swift-tools-version:6.0
import Foundation
import PackageDescription

let nio: Target.Dependency = .product(name: "NIOCore", package: "swift-nio")
let nioPosix: Target.Dependency = .product(name: "NIOPosix", package: "swift-nio")
let nioHTTP1: Target.Dependency = .product(name: "NIOHTTP1", package: "swift-nio")
let nioSSL: Target.Dependency = .product(name: "NIOSSL", package: "swift-nio-ssl")
let nioTLS: Target.Dependency = .product(name: "NIOTLS", package: "swift-nio")
let protobuf: Target.Dependency = .product(name: "SwiftProtobuf", package: "swift-protobuf")
let logging: Target.Dependency = .product(name: "Logging", package: "swift-log")
let argumentParser: Target.Dependency = .product(name: "ArgumentParser", package: "swift-argument-parser")
let coreMetrics: Target.Dependency = .product(name: "CoreMetrics", package: "swift-metrics")
let prometheus: Target.Dependency = .product(name: "Prometheus", package: "swift-prometheus")

let package = Package(
    name: "model-server",
    products: [
        .executable(name: "model-server", targets: ["ModelServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CNGHTTP2", pkgConfig: "libnghttp2", providers: [.apt(["libnghttp2-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),

        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3"])]),
        .target(name: "Tensors"),
        .target(name: "TFProtos", dependencies: [protobuf]),
        .target(name: "SavedModel", dependencies: ["Tensors", "TFProtos", protobuf]),
        .target(name: "Runtime", dependencies: ["Tensors", "SavedModel", "TFProtos", "COpenBLAS", "CKernels", protobuf]),
        .target(name: "ServingMetrics", dependencies: ["Tensors", coreMetrics]),
        .target(name: "Batching", dependencies: ["Tensors", "ServingMetrics", coreMetrics]),
        .target(name: "Lifecycle", dependencies: ["Tensors", "Batching", "ServingMetrics", logging]),
        .target(name: "Transport", dependencies: [nio, nioPosix, nioHTTP1, nioSSL, nioTLS, "CNGHTTP2", "CZlib", logging]),
        .target(name: "API", dependencies: ["Tensors", "Transport", "TFProtos", "SavedModel", "ServingMetrics", protobuf, nio, logging]),
        .executableTarget(
            name: "ModelServer",
            dependencies: ["Tensors", "TFProtos", "SavedModel", "Runtime", "Lifecycle", "Batching", "Transport", "API",
                           "ServingMetrics", protobuf, argumentParser, logging, nio, nioPosix, coreMetrics, prometheus]
        ),

        .executableTarget(name: "TransportBench", dependencies: ["Transport", nio]),

        .testTarget(name: "TensorsTests", dependencies: ["Tensors"]),
        .testTarget(name: "TFProtosTests", dependencies: ["TFProtos", protobuf]),
        .testTarget(name: "SavedModelTests", dependencies: ["SavedModel", "Tensors", "TFProtos"]),
        .testTarget(name: "RuntimeTests", dependencies: ["Runtime", "SavedModel", "Tensors"]),
        .testTarget(name: "ServingMetricsTests", dependencies: ["ServingMetrics", "Tensors", coreMetrics, prometheus]),
        .testTarget(name: "BatchingTests", dependencies: ["Batching", "Tensors", coreMetrics]),
        .testTarget(name: "LifecycleTests", dependencies: ["Lifecycle", "Batching", "Tensors"]),
        .testTarget(name: "TransportTests", dependencies: ["Transport", "CNGHTTP2", nio, nioPosix, nioSSL]),
        .testTarget(name: "APITests", dependencies: ["API", "Tensors", "Transport", "TFProtos", "ServingMetrics", protobuf, nio]),
        .testTarget(name: "ModelServerTests", dependencies: ["ModelServer", "TFProtos", "SavedModel", protobuf]),
    ],
    swiftLanguageModes: [.v6]
)

// `scripts/fuzz.sh` sets MODEL_SERVER_FUZZ=1 to add the libFuzzer entry points, which only link with
// -sanitize=fuzzer.
if ProcessInfo.processInfo.environment["MODEL_SERVER_FUZZ"] == "1" {
    package.targets.append(.executableTarget(
        name: "ModelServerFuzz",
        dependencies: ["API", "Transport", "SavedModel", "Runtime", "TFProtos", "Tensors", protobuf, nio,
                       .product(name: "NIOEmbedded", package: "swift-nio"), logging],
        path: "Fuzz/ModelServerFuzz",
        swiftSettings: [.unsafeFlags(["-parse-as-library"])]))
}
