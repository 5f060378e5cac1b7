import Foundation
import XCTest
@testable import PortRuntime

/// A mutation fuzzer over everything that reads untrusted JSON: config.json (decoding,
/// validation, capabilities, seccomp, resources, hooks), process.json and state.json.
/// It runs for PORT_RUN_FUZZ_SECONDS (default 5); a crash fails the run, and any input that
/// crashed can be added to Corpus/ to keep it as a regression case.
final class SpecFuzzTests: XCTestCase {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Corpus")

    func testDecodersNeverCrashOnMutatedInput() throws {
        let seeds = try FileManager.default.contentsOfDirectory(atPath: Self.corpus.path).sorted().map {
            Array(try Data(contentsOf: Self.corpus.appendingPathComponent($0)))
        }
        XCTAssertGreaterThanOrEqual(seeds.count, 3)
        let seconds = Double(ProcessInfo.processInfo.environment["PORT_RUN_FUZZ_SECONDS"] ?? "") ?? 5
        var generator = SeededGenerator(seed: UInt64(ProcessInfo.processInfo.environment["PORT_RUN_FUZZ_SEED"] ?? "") ?? 0x5eed)
        let deadline = Date().addingTimeInterval(seconds)
        var runs = 0
        var accepted = 0
        while Date() < deadline {
            var input = seeds[Int.random(in: 0..<seeds.count, using: &generator)]
            for _ in 0..<Int.random(in: 1...8, using: &generator) { mutate(&input, seeds: seeds, using: &generator) }
            if exercise(input) { accepted += 1 }
            runs += 1
        }
        // Figures for the log; the assertion is that we got here without a crash.
        print("fuzz: \(runs) inputs, \(accepted) decoded as a valid spec, in \(seconds)s")
        XCTAssertGreaterThan(runs, 100)
    }

    /// Returns true when the input made it through decoding and validation.
    func exercise(_ input: [UInt8]) -> Bool {
        _ = try? Spec.Process.decode(input)
        _ = try? ContainerState(stored: input)
        guard let spec = try? Spec.decode(input) else { return false }
        _ = try? CgroupResources(spec.linux.resources)
        _ = try? SeccompProfile(spec.linux.seccomp)
        if let caps = spec.process?.capabilities { _ = try? CapabilitySets(caps, lastCap: 40, warn: { _ in }) }
        do { try spec.validateForCreate() } catch { return false }
        return true
    }

    func mutate(_ input: inout [UInt8], seeds: [[UInt8]], using generator: inout SeededGenerator) {
        let tokens: [[UInt8]] = ["{", "}", "[", "]", ",", ":", "\"", "\\", "\\u", "\\ud800", "null", "true", "-", "1e999",
                                 "18446744073709551616", "-9223372036854775809", "0.5", "\"\"", "[[[[[[", "{\"a\":",
                                 "\u{0}", "\u{7f}", "é", "\"process\"", "\"args\"", "\"linux\"", "\"seccomp\""].map { Array($0.utf8) }
        guard !input.isEmpty else { input = seeds[0]; return }
        let position = Int.random(in: 0..<input.count, using: &generator)
        switch Int.random(in: 0..<6, using: &generator) {
        case 0: input[position] ^= UInt8(1 << Int.random(in: 0..<8, using: &generator))
        case 1: input.insert(contentsOf: tokens[Int.random(in: 0..<tokens.count, using: &generator)], at: position)
        case 2: input.removeSubrange(position..<min(input.count, position + Int.random(in: 1...16, using: &generator)))
        case 3: input = Array(input[0..<position])
        case 4:
            // Splice: a piece of another seed, often a whole nested object.
            let other = seeds[Int.random(in: 0..<seeds.count, using: &generator)]
            let start = Int.random(in: 0..<other.count, using: &generator)
            input.insert(contentsOf: other[start..<min(other.count, start + Int.random(in: 1...256, using: &generator))], at: position)
        default:
            let length = min(input.count - position, Int.random(in: 1...64, using: &generator))
            input.insert(contentsOf: input[position..<(position + length)], at: position)
        }
    }
}

/// Deterministic, so a failing run can be replayed with PORT_RUN_FUZZ_SEED.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed == 0 ? 1 : seed }
    mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }
}
