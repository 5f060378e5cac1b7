// swift-tools-version:6.0
import PackageDescription

// No Foundation at all in the runtime: it would add ~7 MB to the static binary and ~4 MiB of
// RSS per start (see README, "Why no Foundation"). JSON and flag parsing are our own.
// Nor the implicitly imported _StringProcessing (regex) module: another 1.3 MB of binary.
let lean: [SwiftSetting] = [.unsafeFlags(["-Xfrontend", "-disable-implicit-string-processing-module-import"])]
let package = Package(
    name: "port-run",
    products: [
        .executable(name: "port-run", targets: ["port-run"]),
        .library(name: "PortRuntime", targets: ["PortRuntime"]),
    ],
    targets: [
        .systemLibrary(name: "CSeccomp", pkgConfig: "libseccomp",
                       providers: [.apt(["libseccomp-dev"])]),
        .systemLibrary(name: "CLibcap", pkgConfig: "libcap",
                       providers: [.apt(["libcap-dev"])]),
        .target(name: "CCompat", cSettings: [.define("_GNU_SOURCE")]),
        .target(name: "PortRuntime", dependencies: ["CCompat", "CSeccomp", "CLibcap"], swiftSettings: lean),
        .executableTarget(name: "port-run", dependencies: ["PortRuntime"], swiftSettings: lean),
        .testTarget(name: "PortRuntimeTests", dependencies: ["PortRuntime"], exclude: ["Corpus"]),
        .testTarget(name: "IntegrationTests", exclude: ["Agents", "Attacks"]),
    ],
    swiftLanguageModes: [.v6]
)
