#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Android)
import Android
#endif

/// runc-compatible logging: `--log FILE --log-format json` writes `{"level","msg","time"}`
/// lines that containerd's shim reads back; text format is logrus's `key=value` shape.
public enum Log {
    public enum Level: Int, Comparable, Sendable {
        case debug, info, warning, error
        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }
        var name: String { ["debug", "info", "warning", "error"][rawValue] }
    }

    public enum Format: String, Sendable { case text, json }

    public struct Settings: Sendable {
        public var fd: Int32 = 2
        public var format: Format = .text
        public var minimum: Level = .warning
        public init() {}
    }

    // port-run is single-threaded by design (it forks), so a plain global is safe here.
    nonisolated(unsafe) public static var settings = Settings()

    public static func debug(_ message: @autoclosure () -> String) { write(.debug, message) }
    public static func info(_ message: @autoclosure () -> String) { write(.info, message) }
    public static func warning(_ message: @autoclosure () -> String) { write(.warning, message) }
    public static func error(_ message: @autoclosure () -> String) { write(.error, message) }

    private static func write(_ level: Level, _ message: () -> String) {
        guard level >= settings.minimum else { return }
        let line: String
        switch settings.format {
        case .json:
            line = JSONOutput.object([("level", .string(level.name)), ("msg", .string(message())),
                                      ("time", .string(Clock.rfc3339Nano()))]).render()
        case .text:
            var quoted = ""
            JSONOutput.quote(message(), into: &quoted)
            line = "time=\"\(Clock.rfc3339Nano())\" level=\(level.name) msg=\(quoted)"
        }
        Output.write(fd: settings.fd, line + "\n")
    }
}

/// Unbuffered output: nothing sits in a stdio buffer when the runtime forks.
public enum Output {
    public static func write(fd: Int32, _ text: String) {
        try? Files.writeAll(fd: fd, Array(text.utf8), path: "fd \(fd)")
    }

    public static func stdout(_ text: String) { write(fd: 1, text) }
    public static func stderr(_ text: String) { write(fd: 2, text) }
}
