#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Android)
import Android
#endif

/// A blocking D-Bus connection on one unix socket: SASL EXTERNAL, then method calls whose
/// replies are read in the calling thread (no dispatch thread: the runtime forks later).
final class DBusConnection {
    let fd: Int32
    /// Whether a bus daemon routes the messages (the destination is set); systemd's private
    /// socket is a direct connection to the manager.
    let isBus: Bool
    private var serial: UInt32 = 0
    private var pending: [UInt8] = []

    private init(fd: Int32, isBus: Bool) {
        self.fd = fd
        self.isBus = isBus
    }

    deinit { close(fd) }

    /// The system bus, else (as root, where no bus daemon runs) systemd's private socket.
    static func systemManager() throws(RuntimeError) -> DBusConnection {
        var busPath = "/run/dbus/system_bus_socket"
        if let raw = getenv("DBUS_SYSTEM_BUS_ADDRESS"), case let address = String(cString: raw), address.hasPrefix("unix:path=") {
            busPath = String(address.dropFirst("unix:path=".count).prefix { $0 != "," })
        }
        let candidates = [(busPath, true)] + (getuid() == 0 ? [("/run/systemd/private", false)] : [])
        var failure = RuntimeError("no D-Bus socket")
        for (path, isBus) in candidates where Files.exists(path) {
            do throws(RuntimeError) {
                let connection = try open(path, isBus: isBus, what: isBus ? "the system bus at \(path)" : "systemd at \(path)")
                if isBus { _ = try connection.call("org.freedesktop.DBus", path: "/org/freedesktop/DBus", interface: "org.freedesktop.DBus", member: "Hello") }
                return connection
            } catch {
                failure = error
            }
        }
        throw failure
    }

    static func open(_ path: String, isBus: Bool, what: String) throws(RuntimeError) -> DBusConnection {
        let fd = try UnixSocket.connect(path, what: what)
        // A manager that never answers must not hang an engine's create forever.
        var timeout = timeval(tv_sec: 25, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let connection = DBusConnection(fd: fd, isBus: isBus)
        try connection.authenticate(what: what)
        return connection
    }

    /// SASL EXTERNAL: the kernel tells the peer our uid; we name it, in hex of its digits.
    private func authenticate(what: String) throws(RuntimeError) {
        let uid = Array(String(getuid()).utf8).map { byte in
            let digits = Array("0123456789abcdef".utf8)
            return String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 15)]], as: UTF8.self)
        }.joined()
        try send(Array("\0AUTH EXTERNAL \(uid)\r\n".utf8), what: what)
        let answer = try readLine(what: what)
        guard answer.hasPrefix("OK ") else { throw RuntimeError("\(what): authentication refused: \(answer)") }
        try send(Array("BEGIN\r\n".utf8), what: what)
    }

    private func send(_ bytes: [UInt8], what: String) throws(RuntimeError) {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { raw in retryingEINTR { libcSend(fd, raw.baseAddress, raw.count, Int32(MSG_NOSIGNAL)) } }
            if sent < 0 { throw RuntimeError.system("\(what): send", errno: errno) }
            offset += sent
        }
    }

    /// Reads more bytes into `pending`.
    private func fill(what: String) throws(RuntimeError) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { raw in retryingEINTR { libcRead(fd, raw.baseAddress, raw.count) } }
        if count < 0 { throw RuntimeError.system("\(what): read", errno: errno == EAGAIN ? ETIMEDOUT : errno) }
        if count == 0 { throw RuntimeError("\(what): the connection was closed") }
        pending += buffer[0..<count]
    }

    private func readLine(what: String) throws(RuntimeError) -> String {
        while true {
            if let end = pending.indices.first(where: { $0 > 0 && pending[$0 - 1] == 13 && pending[$0] == 10 }) {
                let line = String(decoding: pending[0..<end - 1], as: UTF8.self)
                pending.removeFirst(end + 1)
                return line
            }
            guard pending.count < 4096 else { throw RuntimeError("\(what): no line in the server's answer") }
            try fill(what: what)
        }
    }

    private func receive() throws(RuntimeError) -> DBusMessage {
        while pending.count < 16 { try fill(what: "D-Bus") }
        guard let total = DBusMessage.totalLength(header: Array(pending[0..<16])) else {
            throw RuntimeError("D-Bus: a message this client cannot read (big-endian or too large)")
        }
        while pending.count < total { try fill(what: "D-Bus") }
        let bytes = Array(pending[0..<total])
        pending.removeFirst(total)
        do { return try DBusMessage.decode(bytes) } catch { throw RuntimeError("D-Bus: malformed message: \(error.reason)") }
    }

    /// Calls a method and returns the reply's body; an error reply is thrown as
    /// "Name: text" (org.freedesktop.systemd1.UnitExists: Unit x.scope already exists.).
    @discardableResult
    func call(_ destination: String, path: String, interface: String, member: String,
              _ body: [DBusValue] = []) throws(RuntimeError) -> [DBusValue] {
        serial += 1
        let message = DBusMessage.call(isBus ? destination : nil, path: path, interface: interface, member: member,
                                       serial: serial, body)
        try send(message.encode(), what: "D-Bus")
        while true {
            let reply = try receive()
            guard reply.replySerial == serial, reply.kind == .methodReturn || reply.kind == .error else { continue }
            if reply.kind == .error {
                let text = reply.body.first?.text.map { ": " + $0 } ?? ""
                throw RuntimeError("\(reply.errorName ?? "D-Bus error")\(text)")
            }
            return reply.body
        }
    }
}
