/// Substring search. The runtime is built without the _StringProcessing module (where
/// `String.contains(String)` lives): that module, linked into every start, cost about a
/// megabyte of binary and of resident pages.
extension StringProtocol {
    public func includes(_ needle: String) -> Bool {
        let haystack = Array(utf8)
        let pattern = Array(needle.utf8)
        guard !pattern.isEmpty else { return true }
        guard pattern.count <= haystack.count else { return false }
        for start in 0...(haystack.count - pattern.count) where haystack[start] == pattern[0] {
            if haystack[start..<start + pattern.count].elementsEqual(pattern) { return true }
        }
        return false
    }
}
