/// A kernel persona from kernel-quirks/ (format in kernel-quirks/README.md): what an older
/// kernel lacks, as seccomp rules the simulator installs, plus test overrides and quirks.
public struct Persona: Sendable, Equatable {
    public enum Missing: String, Sendable { case enosys, sigsys }

    public struct ArgumentRule: Sendable, Equatable {
        public var syscall: String
        /// (argument index, mask, value): the call matches when arg & mask == value.
        public var conditions: [(index: UInt32, mask: UInt64, value: UInt64)]

        public static func == (a: ArgumentRule, b: ArgumentRule) -> Bool {
            a.syscall == b.syscall && a.conditions.elementsEqual(b.conditions) { $0 == $1 }
        }
    }

    public var name: String
    public var describe: String = ""
    /// Syscalls the kernel lacks, with what a call gets.
    public var missing: [String: Missing] = [:]
    /// Calls answered with EINVAL (an unknown flag, command or operation).
    public var invalid: [ArgumentRule] = []
    public var overrides: Set<String> = []
    public var facts: Set<String> = []
    /// The kernel's entropy pool is not initialized yet (early boot): getrandom without
    /// GRND_NONBLOCK would block, so the simulator traps it; with the flag it gets EAGAIN.
    public var unseededEntropy = false

    public init(name: String) { self.name = name }

    /// Parses a persona, then overlays in order (a later layer's action wins per syscall).
    public static func parse(layers: [(name: String, text: String)]) throws(RuntimeError) -> Persona {
        guard let first = layers.first else { throw RuntimeError("no persona given") }
        var persona = Persona(name: first.name)
        for layer in layers { try persona.add(layer.text, file: layer.name) }
        return persona
    }

    mutating func add(_ text: String, file: String) throws(RuntimeError) {
        var action: Missing?
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard let directive = words.first else { continue }
            let arguments = Array(words.dropFirst())
            func fail(_ reason: String) -> RuntimeError { RuntimeError("\(file):\(number + 1): \(reason)") }
            func integer(_ text: String) throws(RuntimeError) -> UInt64 {
                let parsed = text.hasPrefix("0x") ? UInt64(text.dropFirst(2), radix: 16) : UInt64(text)
                guard let parsed else { throw fail("not a number: \(text)") }
                return parsed
            }
            func index(_ text: String) throws(RuntimeError) -> UInt32 {
                guard let value = UInt32(text), value <= 5 else { throw fail("argument index must be 0 to 5: \(text)") }
                return value
            }
            switch directive {
            case "name", "describe":
                if directive == "describe" && describe.isEmpty { describe = arguments.joined(separator: " ") }
            case "missing":
                guard arguments.count == 1, let value = Missing(rawValue: arguments[0]) else { throw fail("missing takes enosys or sigsys") }
                action = value
            case "syscall":
                guard let action else { throw fail("`missing` must come before `syscall`") }
                for name in arguments { missing[name] = action }
            case "flag":
                guard arguments.count == 3 else { throw fail("flag takes NAME ARG MASK") }
                let argument = try index(arguments[1])
                let mask = try integer(arguments[2])
                // Any set bit of the mask: one rule per bit (rules OR together).
                for bit in 0..<32 where mask & (1 << UInt64(bit)) != 0 {
                    invalid.append(ArgumentRule(syscall: arguments[0], conditions: [(argument, 1 << UInt64(bit), 1 << UInt64(bit))]))
                }
            case "flagset":
                guard arguments.count == 5 else { throw fail("flagset takes NAME ARG VALUE ARG2 MASK") }
                let first = try index(arguments[1]), value = try integer(arguments[2])
                let second = try index(arguments[3]), mask = try integer(arguments[4])
                for bit in 0..<32 where mask & (1 << UInt64(bit)) != 0 {
                    invalid.append(ArgumentRule(syscall: arguments[0],
                                                conditions: [(first, 0xFFFF_FFFF, value), (second, 1 << UInt64(bit), 1 << UInt64(bit))]))
                }
            case "value":
                guard arguments.count == 3 else { throw fail("value takes NAME ARG VALUE") }
                invalid.append(ArgumentRule(syscall: arguments[0], conditions: [(try index(arguments[1]), 0xFFFF_FFFF, try integer(arguments[2]))]))
            case "override":
                overrides.formUnion(arguments)
            case "facts":
                facts.formUnion(arguments)
            case "entropy":
                guard arguments == ["unseeded"] else { throw fail("entropy takes unseeded") }
                unseededEntropy = true
            default:
                throw fail("unknown directive \(directive)")
            }
        }
    }
}
