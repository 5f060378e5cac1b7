/// Writes JSON with members in the order given, the way runc's output orders them.
public enum JSONOutput: Sendable {
    case null
    case bool(Bool)
    case int(Int64)
    /// A number kept as its literal text, so values parsed from JSON come back unchanged.
    case rawNumber(String)
    case string(String)
    case array([JSONOutput])
    case object([(String, JSONOutput)])

    public func render(indent: Int? = nil) -> String {
        var out = ""
        write(into: &out, indent: indent, level: 0)
        return out
    }

    private func write(into out: inout String, indent: Int?, level: Int) {
        switch self {
        case .null: out += "null"
        case .bool(let value): out += value ? "true" : "false"
        case .int(let value): out += String(value)
        case .rawNumber(let text): out += text
        case .string(let value): JSONOutput.quote(value, into: &out)
        case .array(let items):
            if items.isEmpty { out += "[]"; return }
            out += "["
            for (index, item) in items.enumerated() {
                if index > 0 { out += "," }
                JSONOutput.newline(&out, indent: indent, level: level + 1)
                item.write(into: &out, indent: indent, level: level + 1)
            }
            JSONOutput.newline(&out, indent: indent, level: level)
            out += "]"
        case .object(let members):
            if members.isEmpty { out += "{}"; return }
            out += "{"
            for (index, (key, value)) in members.enumerated() {
                if index > 0 { out += "," }
                JSONOutput.newline(&out, indent: indent, level: level + 1)
                JSONOutput.quote(key, into: &out)
                out += indent == nil ? ":" : ": "
                value.write(into: &out, indent: indent, level: level + 1)
            }
            JSONOutput.newline(&out, indent: indent, level: level)
            out += "}"
        }
    }

    private static func newline(_ out: inout String, indent: Int?, level: Int) {
        guard let indent else { return }
        out += "\n"
        out += String(repeating: " ", count: indent * level)
    }

    static func quote(_ text: String, into out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "<", ">", "&":
                // Go's encoder escapes these; matching it keeps our output byte-identical to runc's.
                out += "\\u00" + hexByte(UInt8(scalar.value))
            default:
                if scalar.value < 0x20 {
                    out += "\\u00" + hexByte(UInt8(scalar.value))
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }

    private static func hexByte(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String(digits[Int(byte >> 4)]) + String(digits[Int(byte & 0xF)])
    }
}

extension JSONValue {
    /// Converts parsed JSON back to output form, keys sorted as Go's encoder sorts map keys.
    public var output: JSONOutput {
        switch self {
        case .null: return .null
        case .bool(let value): return .bool(value)
        case .number(let text): return .rawNumber(text)
        case .string(let value): return .string(value)
        case .array(let items): return .array(items.map(\.output))
        case .object(let members): return .object(members.keys.sorted().map { ($0, members[$0]!.output) })
        }
    }
}
