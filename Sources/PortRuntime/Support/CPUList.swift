/// A set of CPU or NUMA node numbers in the kernel's list format ("0-3,5,7-9"), as cpusets,
/// affinities and memory policies write them. Bit N is bit N%8 of byte N/8: the layout of
/// cpu_set_t and of a node mask on a little-endian machine, and of systemd's CPU sets.
public struct CPUList: Equatable, Sendable {
    /// The highest number accepted: a bogus "0-9876543210" must not allocate gigabytes.
    static let maximum = 64 * 1024

    public private(set) var bytes: [UInt8] = []

    var count: Int { bytes.reduce(0) { $0 + $1.nonzeroBitCount } }
    var isEmpty: Bool { count == 0 }
    /// Bits the mask must hold: one past the highest member.
    var bitCount: Int { bytes.isEmpty ? 0 : bytes.count * 8 }

    /// Empty elements (",,") and spaces around them are allowed, as runc and the kernel allow.
    init(parsing text: String) throws(CPUListError) {
        for element in text.split(separator: ",", omittingEmptySubsequences: false) {
            let range = element.trimmed
            if range.isEmpty { continue }
            let ends = range.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false).map { $0.trimmed }
            guard let low = Self.number(ends[0]), let high = ends.count > 1 ? Self.number(ends[1]) : low else {
                throw CPUListError(text: text, reason: "\"\(range)\" is not a number or a range of numbers")
            }
            guard low <= Self.maximum, high <= Self.maximum else {
                throw CPUListError(text: text, reason: "numbers above \(Self.maximum) are not supported")
            }
            guard low <= high else { throw CPUListError(text: text, reason: "invalid range \"\(range)\"") }
            for bit in low...high { insert(bit) }
        }
    }

    init(all count: Int) {
        bytes = [UInt8](repeating: 0xFF, count: (count + 7) / 8)
    }

    mutating func insert(_ bit: Int) {
        while bytes.count <= bit / 8 { bytes.append(0) }
        bytes[bit / 8] |= UInt8(1) << UInt8(bit % 8)
    }

    /// As /proc/PID/status shows a mask: "0x3" for CPUs 0 and 1.
    var hexadecimal: String {
        guard let last = bytes.lastIndex(where: { $0 != 0 }) else { return "0x0" }
        let digits = bytes[...last].reversed().map { byte -> String in
            let text = String(byte, radix: 16)
            return text.count == 1 ? "0" + text : text
        }.joined()
        let trimmed = digits.drop { $0 == "0" }
        return "0x" + (trimmed.isEmpty ? "0" : trimmed)
    }

    private static func number(_ text: Substring) -> Int? {
        guard !text.isEmpty, text.count <= 12, text.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(text)
    }
}

struct CPUListError: Error, Sendable {
    let text: String
    let reason: String
    var description: String { "\"\(text)\": \(reason)" }
}

private extension Substring {
    var trimmed: Substring {
        var text = self
        while text.first == " " || text.first == "\t" { text.removeFirst() }
        while text.last == " " || text.last == "\t" { text.removeLast() }
        return text
    }
}
