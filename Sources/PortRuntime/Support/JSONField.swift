/// A JSON value with the path that led to it, so every decoding error names the exact field:
/// `config.json: process.args: expected an array of strings`.
public struct SpecError: Error, Equatable, CustomStringConvertible {
    public let path: String
    public let reason: String
    public init(path: String, reason: String) { self.path = path; self.reason = reason }
    public var description: String { path.isEmpty ? "config.json: \(reason)" : "config.json: \(path): \(reason)" }
}

public struct JSONField {
    public let value: JSONValue
    public let path: String

    public init(_ value: JSONValue, path: String = "") {
        self.value = value
        self.path = path
    }

    public func fail(_ reason: String) -> SpecError { SpecError(path: path, reason: reason) }

    private func childPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// The member `key`, or nil when it is absent or null (the spec treats both as "not set").
    public func member(_ key: String) throws(SpecError) -> JSONField? {
        guard case .object(let members) = value else { throw fail("expected an object, got \(value.kindName)") }
        guard let child = members[key], child != .null else { return nil }
        return JSONField(child, path: childPath(key))
    }

    public func requiredMember(_ key: String) throws(SpecError) -> JSONField {
        guard let child = try member(key) else { throw SpecError(path: childPath(key), reason: "required field is missing") }
        return child
    }

    public func object() throws(SpecError) -> [String: JSONValue] {
        guard case .object(let members) = value else { throw fail("expected an object, got \(value.kindName)") }
        return members
    }

    public func elements() throws(SpecError) -> [JSONField] {
        guard case .array(let items) = value else { throw fail("expected an array, got \(value.kindName)") }
        return items.enumerated().map { JSONField($1, path: "\(path)[\($0)]") }
    }

    public func string() throws(SpecError) -> String {
        guard case .string(let text) = value else { throw fail("expected a string, got \(value.kindName)") }
        return text
    }

    public func bool() throws(SpecError) -> Bool {
        guard case .bool(let flag) = value else { throw fail("expected a boolean, got \(value.kindName)") }
        return flag
    }

    public func stringArray() throws(SpecError) -> [String] {
        guard case .array(let items) = value else { throw fail("expected an array of strings, got \(value.kindName)") }
        var result: [String] = []
        result.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            guard case .string(let text) = item else {
                throw SpecError(path: "\(path)[\(index)]", reason: "expected a string, got \(item.kindName)")
            }
            result.append(text)
        }
        return result
    }

    public func stringMap() throws(SpecError) -> [String: String] {
        var result: [String: String] = [:]
        for (key, item) in try object() {
            guard case .string(let text) = item else {
                throw SpecError(path: childPath(key), reason: "expected a string, got \(item.kindName)")
            }
            result[key] = text
        }
        return result
    }

    /// An integer within `T`'s range; fractions, exponents and overflow are errors.
    public func integer<T: FixedWidthInteger>(_: T.Type = T.self) throws(SpecError) -> T {
        guard case .number(let text) = value else { throw fail("expected an integer, got \(value.kindName)") }
        guard let number = T(text) else {
            if text.contains(".") || text.contains("e") || text.contains("E") { throw fail("expected an integer, got \(text)") }
            throw fail("\(text) is out of range (\(T.min)...\(T.max))")
        }
        return number
    }

    // Optional-member conveniences: nil when the member is absent.
    public func string(_ key: String) throws(SpecError) -> String? { try member(key)?.string() }
    public func bool(_ key: String) throws(SpecError) -> Bool? { try member(key)?.bool() }
    public func stringArray(_ key: String) throws(SpecError) -> [String]? { try member(key)?.stringArray() }
    public func integer<T: FixedWidthInteger>(_ key: String, as type: T.Type = T.self) throws(SpecError) -> T? {
        try member(key)?.integer(T.self)
    }
}
