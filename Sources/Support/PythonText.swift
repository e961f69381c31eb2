/// Python's `str.isspace` for one scalar: the Unicode White_Space property
/// plus the separators U+001C–U+001F. The published formats strip and split
/// text the Python way, and matching them exactly keeps documents, actions
/// and scores identical.
public func isPythonWhitespace(_ scalar: Unicode.Scalar) -> Bool {
    scalar.properties.isWhitespace || (0x1C...0x1F).contains(scalar.value)
}

extension StringProtocol {
    /// Python's `str.strip()`.
    public func trimmingPythonWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !isPythonWhitespace($0) }),
            let last = scalars.lastIndex(where: { !isPythonWhitespace($0) })
        else { return "" }
        return String(String.UnicodeScalarView(scalars[first...last]))
    }
}
