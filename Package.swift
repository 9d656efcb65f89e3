// swift-tools-version: 6.0
import PackageDescription

/// Release builds drop bounds checks in the numeric targets: the kernels index raw pointers
/// and are covered by the test suite in debug mode, where checks stay on.
let fastMath: [SwiftSetting] = [.unsafeFlags(["-Ounchecked", "-wmo"], .when(configuration: .release))]

let package = Package(
    name: "practise",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "Practise", targets: ["Practise"]),
        .executable(name: "practise", targets: ["PractiseCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // Numeric core: C micro-kernels with run-time SIMD dispatch.
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3"])]),
        // Tensor, kernels, autograd tape, threading.
        .target(name: "Engine", dependencies: ["CKernels"], swiftSettings: fastMath),
        // Modules, layers, losses, optimisers, schedules, model zoo.
        .target(name: "NN", dependencies: ["Engine"], swiftSettings: fastMath),
        // The PRACTISE method: candidates, adaptors, recoverability, selection, finetuning, reports.
        .target(name: "Practise", dependencies: ["Engine", "NN", "Checkpoint", "ImageData", "ONNX", "SafeFiles"], swiftSettings: fastMath),
        // The `practise` command line (its folder is not `Sources/practise`: that would clash with
        // `Sources/Practise` on a case-insensitive file system, the macOS default).
        .executableTarget(name: "PractiseCLI", dependencies: [
            "Practise", "Engine", "NN", "Checkpoint", "ImageData", "SafeFiles",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // System libraries: zlib (gzip IDX, deflated zip entries), libjpeg-turbo and libpng behind C shims.
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        // The one zlib wrapper (CRC-32, bounded inflation), shared by the checkpoint and data readers.
        .target(name: "ZlibSupport", dependencies: ["CZlib"]),
        .target(name: "CJPEG", path: "Sources/CJPEG", linkerSettings: [.linkedLibrary("jpeg")]),
        .target(name: "CPNG", path: "Sources/CPNG", linkerSettings: [.linkedLibrary("png16"), .linkedLibrary("z")]),
        // Checkpoints: PyTorch .pth (zip + restricted unpickler) and safetensors; engine-independent.
        .target(name: "Checkpoint", dependencies: ["ZlibSupport", "SafeFiles"]),
        // Datasets (IDX, CIFAR, ImageFolder), torchvision transforms, few-shot sampling, loader.
        .target(name: "ImageData", dependencies: ["Engine", "ZlibSupport", "CJPEG", "CPNG", "SafeFiles"]),
        // ONNX model writer (own protobuf encoder), BatchNorm folding.
        .target(name: "ONNX", dependencies: ["SafeFiles"]),
        // Writing output files (atomic replacement) and locking output folders; no other dependency.
        .target(name: "SafeFiles"),
        .target(name: "TestSupport", dependencies: ["Engine", "CKernels"], path: "Tests/TestSupport"),
        // The seeded mutation fuzzer of the checkpoint and data fuzz tests.
        .target(name: "FuzzSupport", path: "Tests/FuzzSupport"),
        .testTarget(name: "CKernelsTests", dependencies: ["CKernels"]),
        .executableTarget(name: "gemm-bench", dependencies: ["CKernels"], cSettings: [.unsafeFlags(["-O3"])]),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "TestSupport"]),
        .testTarget(name: "PractiseTests", dependencies: ["Practise", "NN", "ONNX", "TestSupport"]),
        .testTarget(name: "ImageDataTests", dependencies: ["ImageData", "Engine", "FuzzSupport"], exclude: ["Fixtures"]),
        .executableTarget(name: "engine-bench", dependencies: ["CKernels", "Engine", "NN"], swiftSettings: fastMath),
        .executableTarget(name: "data-bench", dependencies: ["ImageData", "Engine"]),
        .executableTarget(name: "latency-bench", dependencies: ["Practise", "NN", "Engine"], swiftSettings: fastMath),
        .testTarget(name: "ParityTests", dependencies: ["Practise", "NN", "Engine", "ONNX"]),
        .testTarget(name: "CheckpointTests", dependencies: ["Checkpoint", "FuzzSupport"], resources: [.copy("Fixtures")]),
        // Runs the built `practise` executable with bad input.
        .testTarget(name: "CLITests", dependencies: ["PractiseCLI", "SafeFiles", "ONNX"]),
        .testTarget(name: "ONNXTests", dependencies: ["ONNX", "SafeFiles", "FuzzSupport"]),
        .testTarget(name: "SafeFilesTests", dependencies: ["SafeFiles"]),
        .testTarget(name: "NNTests", dependencies: ["NN", "Checkpoint", "TestSupport"], resources: [.copy("Fixtures")]),
    ]
)
