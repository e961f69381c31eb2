import Foundation

/// A JSON syntax error at a byte offset; the caller adds the file and line.
struct JSONSyntaxError: Error {
    let message: String
    let offset: Int
}

/// Recursive-descent JSON into `DataValue`. Foundation's `JSONSerialization` returns
/// dictionaries, which lose the key order that `data head` must print in.
struct JSONParser {
    private let bytes: UnsafeRawBufferPointer
    private var offset = 0
    private var depth = 0
    /// Deep enough for any real dataset, shallow enough that hostile input cannot blow the stack.
    private static let maxDepth = 256

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    /// Parses `bytes` as exactly one JSON value, surrounded by nothing but whitespace.
    static func parse(_ bytes: UnsafeRawBufferPointer) throws(JSONSyntaxError) -> DataValue {
        var parser = JSONParser(bytes)
        let value = try parser.value()
        parser.skipWhitespace()
        guard parser.offset == bytes.count else { throw parser.error("unexpected text after the value") }
        return value
    }

    static func parse(_ text: String) throws(JSONSyntaxError) -> DataValue {
        var text = text
        // `withUTF8` rethrows untyped errors; carrying the result out keeps the typed throw.
        let result = text.withUTF8 { buffer in
            Result { () throws(JSONSyntaxError) -> DataValue in try parse(UnsafeRawBufferPointer(buffer)) }
        }
        return try result.get()
    }

    private func error(_ message: String) -> JSONSyntaxError { JSONSyntaxError(message: message, offset: offset) }

    private mutating func skipWhitespace() {
        while offset < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[offset]) { offset += 1 }
    }

    private mutating func value() throws(JSONSyntaxError) -> DataValue {
        skipWhitespace()
        guard offset < bytes.count else { throw error("unexpected end of input, expected a value") }
        switch bytes[offset] {
        case UInt8(ascii: "{"): return try nested { (p) throws(JSONSyntaxError) in try p.object() }
        case UInt8(ascii: "["): return try nested { (p) throws(JSONSyntaxError) in try p.array() }
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "n"): return try literal("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw error("unexpected character '\(Character(Unicode.Scalar(bytes[offset])))'")
        }
    }

    private mutating func nested(_ body: (inout JSONParser) throws(JSONSyntaxError) -> DataValue) throws(JSONSyntaxError) -> DataValue {
        guard depth < Self.maxDepth else { throw error("nesting deeper than \(Self.maxDepth)") }
        depth += 1
        defer { depth -= 1 }
        offset += 1
        return try body(&self)
    }

    /// Expects `byte` after optional whitespace; true if it was there (and is consumed).
    private mutating func consume(_ byte: Character) -> Bool {
        skipWhitespace()
        guard offset < bytes.count, bytes[offset] == byte.asciiValue! else { return false }
        offset += 1
        return true
    }

    private mutating func object() throws(JSONSyntaxError) -> DataValue {
        var members: [DataValue.Member] = []
        if consume("}") { return .object(members) }
        repeat {
            skipWhitespace()
            guard offset < bytes.count, bytes[offset] == UInt8(ascii: "\"") else { throw error("expected a quoted member name") }
            let name = try string()
            guard consume(":") else { throw error("expected ':' after member name \"\(name)\"") }
            members.append(.init(name, try value()))
        } while consume(",")
        guard consume("}") else { throw error("expected ',' or '}' in an object") }
        return .object(members)
    }

    private mutating func array() throws(JSONSyntaxError) -> DataValue {
        var elements: [DataValue] = []
        if consume("]") { return .list(elements) }
        repeat { elements.append(try value()) } while consume(",")
        guard consume("]") else { throw error("expected ',' or ']' in a list") }
        return .list(elements)
    }

    private mutating func literal(_ word: String, _ result: DataValue) throws(JSONSyntaxError) -> DataValue {
        let utf8 = Array(word.utf8)
        guard bytes.count - offset >= utf8.count, elementsEqual(utf8) else { throw error("invalid literal, expected \(word)") }
        offset += utf8.count
        return result
    }

    private func elementsEqual(_ word: [UInt8]) -> Bool {
        word.indices.allSatisfy { bytes[offset + $0] == word[$0] }
    }

    /// Integers that fit stay `int` (ids and indices must round-trip exactly); the rest are `double`.
    private mutating func number() throws(JSONSyntaxError) -> DataValue {
        let start = offset
        var integral = true
        while offset < bytes.count {
            switch bytes[offset] {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "+"): break
            case UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"): integral = false
            default: return try finishNumber(start, integral)
            }
            offset += 1
        }
        return try finishNumber(start, integral)
    }

    private func finishNumber(_ start: Int, _ integral: Bool) throws(JSONSyntaxError) -> DataValue {
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<offset]), as: UTF8.self)
        if integral, let int = Int64(text) { return .int(int) }
        guard let double = Double(text), double.isFinite else { throw JSONSyntaxError(message: "invalid number \(text)", offset: start) }
        return .double(double)
    }

    private mutating func string() throws(JSONSyntaxError) -> String {
        offset += 1
        var utf8: [UInt8] = []
        while offset < bytes.count {
            let byte = bytes[offset]
            offset += 1
            switch byte {
            case UInt8(ascii: "\""): return String(decoding: utf8, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard offset < bytes.count else { break }
                let escape = bytes[offset]
                offset += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(escape)
                case UInt8(ascii: "b"): utf8.append(0x08)
                case UInt8(ascii: "f"): utf8.append(0x0C)
                case UInt8(ascii: "n"): utf8.append(0x0A)
                case UInt8(ascii: "r"): utf8.append(0x0D)
                case UInt8(ascii: "t"): utf8.append(0x09)
                case UInt8(ascii: "u"): utf8.append(contentsOf: String(try unicodeEscape()).utf8)
                default: throw error("invalid escape \\\(Character(Unicode.Scalar(escape)))")
                }
            default: utf8.append(byte)
            }
        }
        throw error("unterminated string")
    }

    /// `\uXXXX`, joining a UTF-16 surrogate pair; a lone surrogate becomes U+FFFD as Python's decoder would not
    /// reject it either, and a dataset should not fail on one damaged character.
    private mutating func unicodeEscape() throws(JSONSyntaxError) -> Character {
        let high = try hex4()
        if (0xD800..<0xDC00).contains(high), bytes.count - offset >= 6,
           bytes[offset] == UInt8(ascii: "\\"), bytes[offset + 1] == UInt8(ascii: "u") {
            let saved = offset
            offset += 2
            let low = try hex4()
            if (0xDC00..<0xE000).contains(low) {
                return Character(Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))!)
            }
            offset = saved
        }
        return Character(Unicode.Scalar(high) ?? "\u{FFFD}")
    }

    private mutating func hex4() throws(JSONSyntaxError) -> UInt32 {
        guard bytes.count - offset >= 4,
              let value = UInt32(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + 4]), as: UTF8.self), radix: 16)
        else { throw error("invalid \\u escape") }
        offset += 4
        return value
    }
}

extension DataValue {
    /// The value as one line of JSON, members in order, with Python's `json.dumps`
    /// separators (", " and ": ") and non-ASCII kept as UTF-8, so output looks like
    /// the JSONL files users already have.
    public var jsonText: String {
        var out = ""
        write(to: &out)
        return out
    }

    private func write(to out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        // JSON has no NaN or infinity; null is what Python's strict encoders agree on.
        case .double(let d): out += d.isFinite ? String(d) : "null"
        case .string(let s): Self.writeString(s, to: &out)
        case .list(let elements):
            out += "["
            for (i, element) in elements.enumerated() {
                if i > 0 { out += ", " }
                element.write(to: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (i, member) in members.enumerated() {
                if i > 0 { out += ", " }
                Self.writeString(member.name, to: &out)
                out += ": "
                member.value.write(to: &out)
            }
            out += "}"
        }
    }

    private static func writeString(_ s: String, to out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count)
                + String(scalar.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
