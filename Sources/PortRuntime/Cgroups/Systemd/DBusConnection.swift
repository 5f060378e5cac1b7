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
                Log.debug("D-Bus: connected to \(path)")
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
        // The uid the kernel reports for the socket (SO_PEERCRED) is the effective one.
        let uid = Array(String(geteuid()).utf8).map { byte in
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

    /// Whether `pending` holds a whole message already.
    private var hasWholeMessage: Bool {
        pending.count >= 16 && DBusMessage.totalLength(header: Array(pending[0..<16])).map { pending.count >= $0 } ?? true
    }

    private func readable(milliseconds: Int32) -> Bool {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return retryingEINTR { poll(&entry, 1, milliseconds) } > 0
    }

    /// The next message, or nil for one this client does not read (big-endian, or types it
    /// has no use for): any local peer may send a signal to this connection, and it must not
    /// end the call that waits for its reply.
    private func receive() throws(RuntimeError) -> DBusMessage? {
        while pending.count < 16 { try fill(what: "D-Bus") }
        guard let total = DBusMessage.totalLength(header: Array(pending[0..<16])) else {
            throw RuntimeError("D-Bus: the peer sent something that is not a D-Bus message")
        }
        while pending.count < total { try fill(what: "D-Bus") }
        let bytes = Array(pending[0..<total])
        pending.removeFirst(total)
        return try? DBusMessage.decode(bytes)
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
        Log.debug("D-Bus: call \(member) (serial \(serial))")
        let expected = serial
        let deadline = Clock.monotonicMilliseconds() + 25_000
        while true {
            // systemd's private socket may leave a call that arrived with the end of the
            // handshake unread until more bytes come (seen with 252: 25 s of silence, then the
            // reply once the next call was sent): after half a second without an answer, a
            // Ping wakes it. Its reply is skipped like any other message.
            while !hasWholeMessage && !readable(milliseconds: 500) {
                guard Clock.monotonicMilliseconds() < deadline else {
                    throw RuntimeError("D-Bus: \(member): no answer within 25 s")
                }
                serial += 1
                try send(DBusMessage.call(isBus ? destination : nil, path: "/", interface: "org.freedesktop.DBus.Peer",
                                          member: "Ping", serial: serial, []).encode(), what: "D-Bus")
            }
            guard let reply = try receive() else { continue }
            guard reply.replySerial == expected, reply.kind == .methodReturn || reply.kind == .error else {
                Log.debug("D-Bus: skipped a message of kind \(reply.kind) (reply to \(reply.replySerial.map(String.init) ?? "none"))")
                continue
            }
            if reply.kind == .error {
                let text = reply.body.first?.text.map { ": " + $0 } ?? ""
                throw RuntimeError("\(reply.errorName ?? "D-Bus error")\(text)")
            }
            return reply.body
        }
    }
}
