import Foundation
import XCTest

/// Runs the real port-run binary against real containers on a busybox rootfs. Every test
/// gets its own state root and bundle and removes both, also when it fails.
class IntegrationCase: XCTestCase {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static let work = "/tmp/port-run-it-\(getpid())"
    static let binary = ProcessInfo.processInfo.environment["PORT_RUN_BINARY"] ?? repo + "/.build/release/port-run"
    nonisolated(unsafe) static var rootfsReady = false
    /// PORT_RUN_PERSONA: every port-run call of the suite runs under `check --simulate`, as
    /// if on that persona's kernel (scripts/test runs the suite once per persona).
    static let persona = ProcessInfo.processInfo.environment["PORT_RUN_PERSONA"].flatMap { $0.isEmpty ? nil : $0 }
    /// Namespaces the persona's kernel cannot create: left out of the base config, as a user
    /// of that kernel would (a test that asks for one anyway is refused, and skipped).
    static var missingNamespaces: Set<String> {
        Set(personaProbes.filter { $0.key.hasSuffix("_namespace") && $0.value != "present" }.map { String($0.key.dropLast("_namespace".count)) })
    }
    /// PORT_RUN_TEST_VM: the suite runs in scripts/vm-test's emulated machine, where every
    /// container costs about ten times what it does natively.
    static let inEmulatedMachine = ProcessInfo.processInfo.environment["PORT_RUN_TEST_VM"] == "1"
    /// The persona's probe answers (`check --json`), e.g. "ambient_capabilities": "absent (...)".
    nonisolated(unsafe) static var personaProbes: [String: String] = [:]
    /// The cgroup layout the persona's host shows: "v1 (...)" hides the v2 tree.
    nonisolated(unsafe) static var personaCgroups = ""
    static var unifiedHidden: Bool { personaCgroups.hasPrefix("v1 ") }

    var stateRoot = ""
    var bundle = ""
    var config: [String: Any] = [:]

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    override func setUpWithError() throws {
        guard getuid() == 0 else { throw XCTSkip("integration tests need root: real namespaces, mounts and devices") }
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else {
            XCTFail("no port-run binary at \(Self.binary): run scripts/build first")
            return
        }
        if !Self.rootfsReady {
            try FileManager.default.createDirectory(atPath: Self.work, withIntermediateDirectories: true)
            let made = try shell("PORT_RUN='\(Self.binary)' '\(Self.repo)/scripts/make-bundle' '\(Self.work)/base' true")
            XCTAssertEqual(made.status, 0, made.stderr)
            if Self.persona != nil { try loadPersonaProbes() }
            Self.rootfsReady = true
        }
        let name = self.name.components(separatedBy: " ").last!.trimmingCharacters(in: CharacterSet(charactersIn: "]"))
        stateRoot = "\(Self.work)/\(name)/state"
        bundle = "\(Self.work)/\(name)/bundle"
        try? FileManager.default.removeItem(atPath: "\(Self.work)/\(name)")
        try FileManager.default.createDirectory(atPath: bundle, withIntermediateDirectories: true)
        let template = try Data(contentsOf: URL(fileURLWithPath: "\(Self.work)/base/config.json"))
        config = try JSONSerialization.jsonObject(with: template) as! [String: Any]
        config["root"] = ["path": "\(Self.work)/base/rootfs", "readonly": true]
        // Before 4.3 there is no ambient set: each container would warn about it.
        if Self.personaLacks("ambient_capabilities"), var process = config["process"] as? [String: Any],
           var capabilities = process["capabilities"] as? [String: Any] {
            capabilities["ambient"] = nil
            process["capabilities"] = capabilities
            config["process"] = process
        }
        if !Self.missingNamespaces.isEmpty, var linux = config["linux"] as? [String: Any] {
            linux["namespaces"] = (linux["namespaces"] as! [[String: Any]]).filter { !Self.missingNamespaces.contains($0["type"] as! String) }
            config["linux"] = linux
            if Self.missingNamespaces.contains("ipc") {
                config["mounts"] = (config["mounts"] as! [[String: Any]]).filter { $0["type"] as? String != "mqueue" }
            }
        }
    }

    /// For a test that picks its own persona: under the suite's persona the two would stack.
    func skipUnderSuitePersona() throws {
        if let persona = Self.persona { throw XCTSkip("picks its own kernel persona; the suite runs under \(persona)") }
    }

    /// For a test about what a namespace shows (pid 1, /proc/1/ns): it cannot run where the
    /// persona's kernel has no such namespace.
    func requireNamespaces(_ types: String...) throws {
        for type in types where Self.missingNamespaces.contains(type) {
            throw XCTSkip("\(Self.persona ?? "this kernel") has no \(type) namespaces, which this test is about")
        }
    }

    /// What `check --json` says under the persona; its namespaces as spec namespace types.
    private func loadPersonaProbes() throws {
        let result = try execute(Self.binary, ["check", "--json"])
        let report = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] ?? [:]
        Self.personaProbes = report["probes"] as? [String: String] ?? [:]
        Self.personaCgroups = report["cgroups"] as? String ?? ""
    }

    /// Whether the suite's persona lacks a probed feature (never, natively).
    static func personaLacks(_ probe: String) -> Bool {
        personaProbes[probe].map { $0 != "present" } ?? false
    }

    override func tearDownWithError() throws {
        guard !stateRoot.isEmpty else { return }
        for id in stateEntries() { _ = try? port("delete", "--force", id) }
        let left = stateEntries()
        XCTAssertEqual(left, [], "state left behind")
        try? FileManager.default.removeItem(atPath: (stateRoot as NSString).deletingLastPathComponent)
    }

    /// Tests/IntegrationTests/Attacks/attack.c, built static once per run: what an attacker
    /// runs inside a container (a symlink swapper, a ptrace prober).
    func attackTool() throws -> String {
        let tool = Self.work + "/attack"
        if !FileManager.default.isExecutableFile(atPath: tool) {
            let built = try shell("cc -static -O2 -o '\(tool)' '\(Self.repo)/Tests/IntegrationTests/Attacks/attack.c'")
            guard built.status == 0 else {
                XCTFail("cannot build the attack tool (scripts/install-deps test installs gcc): \(built.stderr)")
                throw CocoaError(.fileNoSuchFile)
            }
        }
        return tool
    }

    /// A private copy of the busybox rootfs, for a test that edits the image itself.
    func copyOfRootfs() throws -> String {
        let copy = (stateRoot as NSString).deletingLastPathComponent + "/rootfs"
        XCTAssertEqual(try shell("cp -a '\(Self.work)/base/rootfs' '\(copy)'").status, 0)
        return copy
    }

    /// How long a race runs and how many rounds it gets: bounded in count and time, less
    /// under a persona, where every call goes through the simulator.
    var raceRounds: Int { Self.persona == nil ? 150 : 40 }
    var raceSeconds: Double { Self.persona == nil ? 8 : 4 }

    /// Removes a parent cgroup a test made (its containers' cgroups are gone by then).
    func removeCgroupParent(_ path: String) {
        for hierarchy in HostCgroups.current.hierarchies { rmdir(hierarchy.mountPoint + path) }
    }

    /// What is under the state root, but the per-boot probe cache (a dot file).
    func stateEntries() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: stateRoot)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
    }

    /// Sets process.args (and optionally edits the rest) and writes config.json.
    func writeConfig(_ args: [String], edit: (inout [String: Any]) -> Void = { _ in }) throws {
        var process = config["process"] as! [String: Any]
        process["args"] = args
        config["process"] = process
        edit(&config)
        let data = try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted])
        try data.write(to: URL(fileURLWithPath: bundle + "/config.json"))
    }

    /// Adds `capability` to the bounding, effective and permitted sets of `config`'s process.
    static func grant(_ capability: String, in config: inout [String: Any]) {
        var process = config["process"] as? [String: Any] ?? [:]
        var capabilities = process["capabilities"] as? [String: Any] ?? [:]
        for set in ["bounding", "effective", "permitted"] {
            capabilities[set] = (capabilities[set] as? [String] ?? []) + [capability]
        }
        process["capabilities"] = capabilities
        config["process"] = process
    }

    func shell(_ command: String) throws -> Result {
        try execute("/bin/sh", ["-c", command])
    }

    /// `command` under strace, tracing `syscalls` (and its children too with `follow`): its
    /// result, and strace's lines in order.
    func traced(_ syscalls: String, follow: Bool = true, _ command: [String], directory: String? = nil) throws -> (result: Result, lines: [String]) {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/strace") else {
            XCTFail("strace is missing: scripts/install-deps test installs it")
            throw CocoaError(.fileNoSuchFile)
        }
        let trace = "\(Self.work)/\(name.filter(\.isLetter))-strace"
        defer { try? FileManager.default.removeItem(atPath: trace) }
        let result = try execute("/usr/bin/strace", (follow ? ["-f"] : []) + ["-o", trace, "-e", "trace=" + syscalls] + command, directory: directory)
        return (result, try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n").map(String.init))
    }

    /// Checks `condition` every `interval` µs until it holds, `attempts` times at most; whether
    /// it held. (Not `for ... where`: that skips the sleep once the condition changes, and
    /// goes on evaluating it to the end.)
    @discardableResult
    func waitUntil(attempts: Int = 200, interval: useconds_t = 10_000, _ condition: () throws -> Bool) rethrows -> Bool {
        for _ in 0..<attempts {
            if try condition() { return true }
            usleep(interval)
        }
        return try condition()
    }

    /// port-run with this test's --root; the bundle is the test's own.
    @discardableResult
    func port(_ arguments: String...) throws -> Result {
        try port(arguments)
    }

    @discardableResult
    func port(_ arguments: [String]) throws -> Result {
        try execute(Self.binary, ["--root", stateRoot] + arguments, directory: bundle)
    }

    /// Under a persona, port-run itself runs under the persona's seccomp filter.
    static func simulated(_ path: String, _ arguments: [String]) -> [String] {
        guard let persona, path == binary else { return arguments }
        return ["check", "--simulate", persona, "--", binary] + arguments
    }

    /// Runs `path` to its end; one that runs past `seconds` fails the test (Spawned.Timeout).
    func execute(_ path: String, _ arguments: [String], directory: String? = nil, seconds: Int = 180) throws -> Result {
        let out = "\(Self.work)/out-\(UUID().uuidString)"
        let err = out + ".err"
        _ = FileManager.default.createFile(atPath: out, contents: nil)
        _ = FileManager.default.createFile(atPath: err, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: out); try? FileManager.default.removeItem(atPath: err) }
        let wait = try Spawned.run(path, Self.simulated(path, arguments), directory: directory, stdout: out, stderr: err, seconds: seconds)
        // As the shell reports it: the exit code, or 128 + the signal that ended it.
        let status = wait & 0x7f == 0 ? (wait >> 8) & 0xff : 128 + (wait & 0x7f)
        let result = Result(status: status, stdout: try String(contentsOfFile: out, encoding: .utf8),
                            stderr: try String(contentsOfFile: err, encoding: .utf8))
        // The one-line refusal of something the persona's kernel lacks ends the test there.
        if let persona = Self.persona, status != 0,
           let line = result.stderr.split(separator: "\n").first(where: { $0.contains("this kernel cannot") }) {
            throw XCTSkip("\(persona) refuses: \(line)")
        }
        return result
    }

    /// port-run running on while the test acts on it; its stdout is a pipe.
    func startInBackground(_ arguments: String...) throws -> (run: Process, output: FileHandle) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = Self.simulated(Self.binary, ["--root", stateRoot] + arguments)
        process.currentDirectoryURL = URL(fileURLWithPath: bundle)
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        return (process, pipe.fileHandleForReading)
    }

    /// What `output` gives until it holds `count` lines, or ends.
    func readLines(_ output: FileHandle, count: Int) -> String {
        var text = ""
        while text.split(separator: "\n").count < count {
            let data = output.availableData
            if data.isEmpty { break }
            text += String(decoding: data, as: UTF8.self)
        }
        return text
    }

    func state(_ id: String) throws -> [String: Any] {
        let result = try port("state", id)
        XCTAssertEqual(result.status, 0, result.stderr)
        return try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] ?? [:]
    }

    /// Nothing of the container may remain: no state, no mount of the bundle, no process.
    func assertNothingLeft(_ id: String, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertFalse(FileManager.default.fileExists(atPath: stateRoot + "/" + id), "state directory left", file: file, line: line)
        let mounts = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
        XCTAssertFalse(mounts.contains(Self.work + "/base/rootfs"), "mount left behind", file: file, line: line)
        // The default cgroup is the id, below the caller's own cgroup in each hierarchy.
        let mountPoints = HostCgroups.current.hierarchies.map { "'\($0.mountPoint)'" }.joined(separator: " ")
        let cgroups = mountPoints.isEmpty ? "" : try shell("find \(mountPoints) -maxdepth 4 -type d -name '\(id)'").stdout
        XCTAssertEqual(cgroups, "", "cgroup left behind", file: file, line: line)
        // A leftover init is a fork of port-run: its command line still names this test's root.
        let me = getpid()
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry), pid != me,
                  let cmdline = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { continue }
            let text = String(decoding: cmdline, as: UTF8.self)
            XCTAssertFalse(text.contains(stateRoot) && text.contains(id), "process \(pid) left behind: \(text)", file: file, line: line)
        }
    }
}
