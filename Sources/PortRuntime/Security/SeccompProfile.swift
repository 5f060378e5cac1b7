/// `linux.seccomp`, decoded and checked in the parent (errors name the JSON path); the
/// init stage turns it into a filter with libseccomp.
public struct SeccompProfile: Sendable, Equatable {
    public struct Argument: Sendable, Equatable {
        public var index: UInt32
        public var value: UInt64
        public var valueTwo: UInt64
        public var op: UInt32
    }

    public struct Rule: Sendable, Equatable {
        public var names: [String]
        public var action: UInt32
        public var arguments: [Argument]
    }

    public var defaultAction: UInt32
    public var architectures: [String]
    public var flags: [String]
    public var rules: [Rule]
    /// The seccomp agent's unix socket, which gets the listener fd of SCMP_ACT_NOTIFY rules.
    public var listenerPath: String?
    public var listenerMetadata: String
    static let notify: UInt32 = 0x7FC0_0000
    static let log: UInt32 = 0x7FFC_0000
    static let allow: UInt32 = 0x7FFF_0000

    public var usesNotify: Bool { rules.contains { $0.action == Self.notify } }

    static let operators: [String: UInt32] = [
        "SCMP_CMP_NE": 1, "SCMP_CMP_LT": 2, "SCMP_CMP_LE": 3, "SCMP_CMP_EQ": 4, "SCMP_CMP_GE": 5,
        "SCMP_CMP_GT": 6, "SCMP_CMP_MASKED_EQ": 7,
    ]
    static let knownFlags: Set<String> = ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_TSYNC",
                                          "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]
    static let eperm: UInt32 = 1

    /// The kernel's SECCOMP_RET_* encoding of an OCI action (errno in the low 16 bits).
    static func action(_ name: String, errnoRet: UInt32?, defaultErrno: UInt32, at field: JSONField) throws(SpecError) -> UInt32 {
        let errno = (errnoRet ?? defaultErrno) & 0xFFFF
        switch name {
        case "SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD": return 0x0000_0000
        case "SCMP_ACT_KILL_PROCESS": return 0x8000_0000
        case "SCMP_ACT_TRAP": return 0x0003_0000
        case "SCMP_ACT_ERRNO": return 0x0005_0000 | errno
        case "SCMP_ACT_TRACE": return 0x7FF0_0000 | errno
        case "SCMP_ACT_LOG": return log
        case "SCMP_ACT_ALLOW": return allow
        case "SCMP_ACT_NOTIFY": return notify
        default: throw field.fail("unknown seccomp action \"\(name)\"")
        }
    }

    public init?(_ json: JSONField?) throws(SpecError) {
        guard let json else { return nil }
        let defaultErrno: UInt32 = try json.integer("defaultErrnoRet") ?? Self.eperm
        let defaultField = try json.requiredMember("defaultAction")
        defaultAction = try Self.action(try defaultField.string(), errnoRet: nil, defaultErrno: defaultErrno, at: defaultField)
        architectures = try json.stringArray("architectures") ?? []
        flags = try json.stringArray("flags") ?? []
        for (index, flag) in flags.enumerated() where !Self.knownFlags.contains(flag) {
            throw SpecError(path: json.path + ".flags[\(index)]", reason: "unsupported seccomp flag \"\(flag)\"")
        }
        if defaultAction == Self.notify { throw defaultField.fail("SCMP_ACT_NOTIFY cannot be the default action") }
        listenerPath = try json.string("listenerPath").flatMap { $0.isEmpty ? nil : $0 }
        listenerMetadata = try json.string("listenerMetadata") ?? ""
        if let listenerPath, !listenerPath.hasPrefix("/") {
            throw SpecError(path: json.path + ".listenerPath", reason: "must be an absolute path, got \"\(listenerPath)\"")
        }
        rules = try (json.member("syscalls")?.elements() ?? []).map { rule throws(SpecError) in
            let actionField = try rule.requiredMember("action")
            let action = try Self.action(try actionField.string(), errnoRet: try rule.integer("errnoRet"), defaultErrno: Self.eperm,
                                         at: actionField)
            let arguments = try (rule.member("args")?.elements() ?? []).map { argument throws(SpecError) in
                let opField = try argument.requiredMember("op")
                guard let op = Self.operators[try opField.string()] else { throw opField.fail("unknown operator \"\(try opField.string())\"") }
                let index: UInt32 = try argument.requiredMember("index").integer()
                if index > 5 { throw SpecError(path: argument.path + ".index", reason: "must be 0 to 5") }
                return Argument(index: index, value: try argument.integer("value") ?? 0, valueTwo: try argument.integer("valueTwo") ?? 0, op: op)
            }
            return Rule(names: try rule.requiredMember("names").stringArray(), action: action, arguments: arguments)
        }
        if usesNotify && listenerPath == nil {
            throw SpecError(path: json.path + ".listenerPath", reason: "SCMP_ACT_NOTIFY needs a seccomp agent: listenerPath is required")
        }
    }
}
