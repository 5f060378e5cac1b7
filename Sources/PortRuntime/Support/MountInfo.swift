/// One line of /proc/self/mountinfo (proc(5)).
public struct MountInfoEntry: Equatable, Sendable {
    public var id: Int
    public var parentID: Int
    public var root: String
    public var mountPoint: String
    public var options: String
    public var fsType: String
    public var source: String
    public var superOptions: String

    /// Parses the mountinfo text. Lines that do not parse are skipped: the kernel's format is
    /// stable, but a runtime must not fail because of one odd line.
    public static func parse(_ text: String) -> [MountInfoEntry] {
        // Split as bytes: Character-wise splitting (grapheme breaking) of the whole table was
        // a visible share of every create.
        text.utf8.split(separator: UInt8(ascii: "\n")).compactMap { line in
            let fields = line.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false).map { String(Substring($0)) }
            guard let separator = fields.firstIndex(of: "-"), separator >= 6, separator + 2 < fields.count, let id = Int(fields[0]), let parent = Int(fields[1]) else { return nil }
            return MountInfoEntry(id: id, parentID: parent, root: unescape(fields[3]), mountPoint: unescape(fields[4]),
                                  options: fields[5], fsType: fields[separator + 1],
                                  source: unescape(fields[separator + 2]),
                                  superOptions: separator + 3 < fields.count ? fields[separator + 3] : "")
        }
    }

    /// mountinfo writes space, tab, newline and backslash as octal escapes (\040).
    static func unescape(_ field: String) -> String {
        guard field.contains("\\") else { return field }
        var bytes: [UInt8] = []
        let source = Array(field.utf8)
        var index = 0
        while index < source.count {
            if source[index] == UInt8(ascii: "\\"), index + 3 < source.count,
               let value = UInt8(String(decoding: source[(index + 1)...(index + 3)], as: UTF8.self), radix: 8) {
                bytes.append(value)
                index += 4
            } else {
                bytes.append(source[index])
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
