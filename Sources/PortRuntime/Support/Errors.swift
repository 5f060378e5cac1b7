#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Android)
import Android
#endif

/// A runtime failure, printed once at the top as one line in runc's shape:
/// `what failed: on what: why`.
public struct RuntimeError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public let exitCode: Int32
    /// The errno behind a failed syscall, for callers that choose a fallback by it.
    public let errno: Int32?

    public init(_ message: String, exitCode: Int32 = 1, errno: Int32? = nil) {
        self.message = message
        self.exitCode = exitCode
        self.errno = errno
    }

    public var description: String { message }

    /// `mount /proc: permission denied`, with errno text in Go's lower-case style.
    public static func system(_ what: String, errno code: Int32) -> RuntimeError {
        RuntimeError("\(what): \(errnoText(code))", errno: code)
    }
}

/// Go (and so runc) prints errno text starting in lower case; users grep for that shape.
public func errnoText(_ code: Int32) -> String {
    guard let raw = strerror(code) else { return "errno \(code)" }
    let text = String(cString: raw)
    guard let first = text.first else { return text }
    return first.lowercased() + text.dropFirst()
}

/// Throws a RuntimeError carrying errno when a syscall returned -1.
@discardableResult
public func check(_ result: Int32, _ what: @autoclosure () -> String) throws(RuntimeError) -> Int32 {
    if result == -1 { throw RuntimeError.system(what(), errno: errno) }
    return result
}

/// Retries a call interrupted by a signal; returns the first result that is not EINTR.
@inline(__always)
public func retryingEINTR<T: SignedInteger>(_ call: () -> T) -> T {
    while true {
        let result = call()
        if result != -1 || errno != EINTR { return result }
    }
}
