/// The part of the D-Bus wire format that systemd's manager calls need, written by hand: a
/// library (libdbus, sd-bus) would be a shared dependency of a static binary, and the few
/// calls the driver makes fit in this file. Little-endian only, as every host we run on.
public indirect enum DBusValue: Equatable, Sendable {
    case byte(UInt8)
    case bool(Bool)
    case int32(Int32)
    case uint32(UInt32)
    case int64(Int64)
    case uint64(UInt64)
    case string(String)
    case objectPath(String)
    case signature(String)
    /// The element signature is kept so that an empty array still has a type.
    case array(String, [DBusValue])
    case structure([DBusValue])
    case variant(DBusValue)

    public var signature: String {
        switch self {
        case .byte: return "y"
        case .bool: return "b"
        case .int32: return "i"
        case .uint32: return "u"
        case .int64: return "x"
        case .uint64: return "t"
        case .string: return "s"
        case .objectPath: return "o"
        case .signature: return "g"
        case .array(let element, _): return "a" + element
        case .structure(let members): return "(" + members.map(\.signature).joined() + ")"
        case .variant: return "v"
        }
    }

    /// A systemd unit property: the (sv) pair of StartTransientUnit and SetUnitProperties.
    public static func property(_ name: String, _ value: DBusValue) -> DBusValue { .structure([.string(name), .variant(value)]) }

    public var text: String? {
        switch self {
        case .string(let value), .objectPath(let value), .signature(let value): return value
        default: return nil
        }
    }
}

/// The wire alignment of a type, by the first character of its signature.
func dbusAlignment(_ code: Character) -> Int {
    switch code {
    case "y", "g", "v": return 1
    case "b", "i", "u", "s", "o", "a": return 4
    default: return 8  // x, t, d, structs and dict entries
    }
}

struct DBusWriter {
    var bytes: [UInt8] = []

    mutating func pad(to alignment: Int) {
        while bytes.count % alignment != 0 { bytes.append(0) }
    }

    mutating func append<T: FixedWidthInteger>(_ value: T) {
        pad(to: MemoryLayout<T>.size)
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func write(_ value: DBusValue) {
        switch value {
        case .byte(let byte): bytes.append(byte)
        case .bool(let flag): append(UInt32(flag ? 1 : 0))
        case .int32(let number): append(number)
        case .uint32(let number): append(number)
        case .int64(let number): append(number)
        case .uint64(let number): append(number)
        case .string(let text), .objectPath(let text):
            append(UInt32(text.utf8.count))
            bytes.append(contentsOf: text.utf8)
            bytes.append(0)
        case .signature(let text):
            bytes.append(UInt8(text.utf8.count))
            bytes.append(contentsOf: text.utf8)
            bytes.append(0)
        case .array(let element, let items):
            append(UInt32(0))
            let lengthAt = bytes.count - 4
            // The length counts the elements only, not the padding before the first one.
            pad(to: dbusAlignment(element.first ?? "y"))
            let start = bytes.count
            for item in items { write(item) }
            let length = UInt32(bytes.count - start)
            withUnsafeBytes(of: length.littleEndian) { raw in
                for index in 0..<4 { bytes[lengthAt + index] = raw[index] }
            }
        case .structure(let members):
            pad(to: 8)
            for member in members { write(member) }
        case .variant(let inner):
            write(.signature(inner.signature))
            write(inner)
        }
    }
}

public struct DBusDecodingError: Error, Equatable, Sendable {
    public var reason: String
}

struct DBusReader {
    let bytes: [UInt8]
    var offset: Int

    init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    mutating func skip(to alignment: Int) throws(DBusDecodingError) {
        while offset % alignment != 0 {
            guard offset < bytes.count else { throw DBusDecodingError(reason: "truncated padding") }
            offset += 1
        }
    }

    mutating func integer<T: FixedWidthInteger>(_ type: T.Type) throws(DBusDecodingError) -> T {
        try skip(to: MemoryLayout<T>.size)
        guard offset + MemoryLayout<T>.size <= bytes.count else { throw DBusDecodingError(reason: "truncated \(T.self)") }
        var value: T = 0
        for index in (0..<MemoryLayout<T>.size).reversed() { value = value << 8 | T(bytes[offset + index]) }
        offset += MemoryLayout<T>.size
        return value
    }

    mutating func text(length: Int) throws(DBusDecodingError) -> String {
        guard length >= 0, offset + length < bytes.count, bytes[offset + length] == 0 else {
            throw DBusDecodingError(reason: "string runs past the message")
        }
        let value = String(decoding: bytes[offset..<offset + length], as: UTF8.self)
        offset += length + 1
        return value
    }

    /// Reads one value of the single complete type `signature`.
    mutating func read(_ signature: Substring) throws(DBusDecodingError) -> DBusValue {
        guard let code = signature.first else { throw DBusDecodingError(reason: "empty signature") }
        switch code {
        case "y":
            guard offset < bytes.count else { throw DBusDecodingError(reason: "truncated byte") }
            offset += 1
            return .byte(bytes[offset - 1])
        case "b": return .bool(try integer(UInt32.self) != 0)
        case "i": return .int32(try integer(Int32.self))
        case "u": return .uint32(try integer(UInt32.self))
        case "x": return .int64(try integer(Int64.self))
        case "t": return .uint64(try integer(UInt64.self))
        case "s", "o":
            let length = Int(try integer(UInt32.self))
            let value = try text(length: length)
            return code == "s" ? .string(value) : .objectPath(value)
        case "g":
            return .signature(try readSignature())
        case "v":
            let inner = try readSignature()
            guard try DBusSignature.split(Substring(inner)).count == 1 else { throw DBusDecodingError(reason: "variant of \(inner)") }
            return .variant(try read(Substring(inner)))
        case "a":
            let element = signature.dropFirst()
            let length = Int(try integer(UInt32.self))
            try skip(to: dbusAlignment(element.first ?? "y"))
            let end = offset + length
            guard length <= 1 << 26, end <= bytes.count else { throw DBusDecodingError(reason: "array runs past the message") }
            var items: [DBusValue] = []
            while offset < end { items.append(try read(element)) }
            guard offset == end else { throw DBusDecodingError(reason: "array length mismatch") }
            return .array(String(element), items)
        case "(", "{":
            try skip(to: 8)
            var members: [DBusValue] = []
            for member in try DBusSignature.split(signature.dropFirst().dropLast()) { members.append(try read(member)) }
            return .structure(members)
        default:
            throw DBusDecodingError(reason: "unsupported type \(code)")
        }
    }

    mutating func readSignature() throws(DBusDecodingError) -> String {
        guard offset < bytes.count else { throw DBusDecodingError(reason: "truncated signature") }
        let length = Int(bytes[offset])
        offset += 1
        return try text(length: length)
    }
}

enum DBusSignature {
    /// Splits a signature into its complete types: "sa(sv)u" -> ["s", "a(sv)", "u"].
    static func split(_ signature: Substring) throws(DBusDecodingError) -> [Substring] {
        var types: [Substring] = []
        var index = signature.startIndex
        while index < signature.endIndex {
            let start = index
            try skipOne(signature, &index)
            types.append(signature[start..<index])
        }
        return types
    }

    private static func skipOne(_ signature: Substring, _ index: inout Substring.Index) throws(DBusDecodingError) {
        guard index < signature.endIndex else { throw DBusDecodingError(reason: "incomplete signature \(signature)") }
        let code = signature[index]
        index = signature.index(after: index)
        switch code {
        case "a": try skipOne(signature, &index)
        case "(", "{":
            let close: Character = code == "(" ? ")" : "}"
            while index < signature.endIndex, signature[index] != close { try skipOne(signature, &index) }
            guard index < signature.endIndex else { throw DBusDecodingError(reason: "unclosed \(code) in \(signature)") }
            index = signature.index(after: index)
        case "y", "b", "i", "u", "x", "t", "s", "o", "g", "v", "n", "q", "d", "h": break
        default: throw DBusDecodingError(reason: "unsupported type \(code) in \(signature)")
        }
    }
}

/// One D-Bus message: the fixed header, the header fields the driver uses, and the body.
public struct DBusMessage: Equatable, Sendable {
    public enum Kind: UInt8, Sendable {
        case methodCall = 1, methodReturn, error, signal
    }

    public var kind: Kind
    public var serial: UInt32
    public var flags: UInt8 = 0
    public var path: String?
    public var interface: String?
    public var member: String?
    public var errorName: String?
    public var replySerial: UInt32?
    public var destination: String?
    public var sender: String?
    public var body: [DBusValue] = []

    public init(kind: Kind, serial: UInt32) {
        self.kind = kind
        self.serial = serial
    }

    public static func call(_ destination: String?, path: String, interface: String, member: String,
                            serial: UInt32, _ body: [DBusValue] = []) -> DBusMessage {
        var message = DBusMessage(kind: .methodCall, serial: serial)
        message.destination = destination
        message.path = path
        message.interface = interface
        message.member = member
        message.body = body
        return message
    }

    public func encode() -> [UInt8] {
        var bodyWriter = DBusWriter()
        for value in body { bodyWriter.write(value) }
        var fields: [DBusValue] = []
        func field(_ code: UInt8, _ value: DBusValue?) {
            if let value { fields.append(.structure([.byte(code), .variant(value)])) }
        }
        field(1, path.map(DBusValue.objectPath))
        field(2, interface.map(DBusValue.string))
        field(3, member.map(DBusValue.string))
        field(4, errorName.map(DBusValue.string))
        field(5, replySerial.map(DBusValue.uint32))
        field(6, destination.map(DBusValue.string))
        field(7, sender.map(DBusValue.string))
        if !body.isEmpty { field(8, .signature(body.map(\.signature).joined())) }
        var writer = DBusWriter()
        writer.bytes = [UInt8(ascii: "l"), kind.rawValue, flags, 1]
        writer.append(UInt32(bodyWriter.bytes.count))
        writer.append(serial)
        writer.write(.array("(yv)", fields))
        writer.pad(to: 8)
        return writer.bytes + bodyWriter.bytes
    }

    /// The whole message's length from its first 16 bytes, in either byte order (a
    /// big-endian message is skipped, not read, but its end must be found).
    static func totalLength(header: [UInt8]) -> Int? {
        guard header.count >= 16, header[0] == UInt8(ascii: "l") || header[0] == UInt8(ascii: "B"), header[3] == 1 else { return nil }
        func word(_ at: Int) -> UInt32 {
            let bytes = header[at..<at + 4].map(UInt32.init)
            return header[0] == UInt8(ascii: "l") ? bytes[0] | bytes[1] << 8 | bytes[2] << 16 | bytes[3] << 24
                : bytes[3] | bytes[2] << 8 | bytes[1] << 16 | bytes[0] << 24
        }
        let bodyLength = word(4), fieldsLength = word(12)
        guard bodyLength < 1 << 27, fieldsLength < 1 << 27 else { return nil }
        let headerEnd = (16 + Int(fieldsLength) + 7) & ~7
        let total = headerEnd + Int(bodyLength)
        return total <= 1 << 27 ? total : nil
    }

    public static func decode(_ bytes: [UInt8]) throws(DBusDecodingError) -> DBusMessage {
        guard bytes.count >= 16, bytes[0] == UInt8(ascii: "l") else { throw DBusDecodingError(reason: "not a little-endian message") }
        guard let kind = Kind(rawValue: bytes[1]) else { throw DBusDecodingError(reason: "unknown message type \(bytes[1])") }
        var reader = DBusReader(bytes, offset: 4)
        let bodyLength = Int(try reader.integer(UInt32.self))
        var message = DBusMessage(kind: kind, serial: try reader.integer(UInt32.self))
        message.flags = bytes[2]
        var signature = ""
        guard case .array(_, let fields) = try reader.read("a(yv)") else { throw DBusDecodingError(reason: "no header fields") }
        for case .structure(let pair) in fields {
            guard pair.count == 2, case .byte(let code) = pair[0], case .variant(let value) = pair[1] else { continue }
            switch code {
            case 1: message.path = value.text
            case 2: message.interface = value.text
            case 3: message.member = value.text
            case 4: message.errorName = value.text
            case 5: if case .uint32(let serial) = value { message.replySerial = serial }
            case 6: message.destination = value.text
            case 7: message.sender = value.text
            case 8: signature = value.text ?? ""
            default: break
            }
        }
        try reader.skip(to: 8)
        guard reader.offset + bodyLength == bytes.count else { throw DBusDecodingError(reason: "body length mismatch") }
        for type in try DBusSignature.split(Substring(signature)) { message.body.append(try reader.read(type)) }
        guard reader.offset == bytes.count else { throw DBusDecodingError(reason: "body longer than its signature") }
        return message
    }
}
