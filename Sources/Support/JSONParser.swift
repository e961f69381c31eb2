import Foundation

/// Where and why a JSON text failed to parse; the caller adds the file.
public struct JSONSyntaxError: Error, Sendable {
    public let message: String
    /// The byte offset where parsing stopped.
    public let offset: Int
    /// 1-based line and column of `offset`.
    public let line: Int
    public let column: Int

    /// `line L, column C: message`.
    public var located: String { "line \(line), column \(column): \(message)" }
}

extension JSONValue {
    /// Parses `bytes` as exactly one JSON value (RFC 8259, strictly: no
    /// leading zeros, no lone surrogates, no trailing commas), surrounded by
    /// nothing but whitespace. Foundation is not used: `JSONDecoder` takes
    /// seconds over a 150k-entry tokenizer vocabulary, `JSONSerialization`
    /// reads `true` as 1 and loses the members' order.
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(JSONSyntaxError) -> JSONValue {
        var parser = JSONParser(bytes)
        do throws(JSONParser.Failure) {
            let value = try parser.value(depth: 0)
            parser.skipWhitespace()
            guard parser.offset == bytes.count else { throw parser.failure("unexpected data after the JSON value") }
            return value
        } catch {
            let before = bytes[..<min(error.offset, bytes.count)]
            let line = before.reduce(1) { $1 == 0x0A ? $0 + 1 : $0 }
            let lineStart = before.lastIndex(of: 0x0A).map { $0 + 1 } ?? 0
            throw JSONSyntaxError(message: error.message, offset: error.offset, line: line, column: error.offset - lineStart + 1)
        }
    }

    public static func parse(_ data: Data) throws(JSONSyntaxError) -> JSONValue {
        // `withUnsafeBytes` rethrows untyped errors; carrying the result out keeps the typed throw.
        let result = data.withUnsafeBytes { bytes in Result { () throws(JSONSyntaxError) in try parse(bytes) } }
        return try result.get()
    }

    public static func parse(_ text: String) throws(JSONSyntaxError) -> JSONValue {
        var text = text
        let result = text.withUTF8 { buffer in Result { () throws(JSONSyntaxError) in try parse(UnsafeRawBufferPointer(buffer)) } }
        return try result.get()
    }
}

/// Recursive descent over the bytes of one JSON text.
struct JSONParser {
    struct Failure: Error {
        let message: String
        let offset: Int
    }

    let bytes: UnsafeRawBufferPointer
    var offset = 0
    /// Deeper than any real file nests, shallow enough that hostile input cannot exhaust the stack.
    static let maximumDepth = 256

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    func failure(_ message: String) -> Failure { Failure(message: message, offset: offset) }

    mutating func skipWhitespace() {
        while offset < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[offset]) { offset += 1 }
    }

    mutating func value(depth: Int) throws(Failure) -> JSONValue {
        guard depth < Self.maximumDepth else { throw failure("nested deeper than \(Self.maximumDepth) levels") }
        skipWhitespace()
        guard offset < bytes.count else { throw failure("unexpected end of data") }
        switch bytes[offset] {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "n"): return try literal("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw failure("unexpected character '\(Character(Unicode.Scalar(bytes[offset])))'")
        }
    }

    private mutating func literal(_ word: StaticString, _ value: JSONValue) throws(Failure) -> JSONValue {
        let count = word.utf8CodeUnitCount
        guard bytes.count - offset >= count,
            (0..<count).allSatisfy({ bytes[offset + $0] == word.utf8Start[$0] })
        else { throw failure("invalid literal") }
        offset += count
        return value
    }

    private mutating func object(depth: Int) throws(Failure) -> JSONValue {
        offset += 1
        var members: [JSONValue.Member] = []
        if consume("}") { return .object(members) }
        repeat {
            skipWhitespace()
            guard offset < bytes.count, bytes[offset] == UInt8(ascii: "\"") else { throw failure("expected a string key") }
            let name = try string()
            guard consume(":") else { throw failure("expected ':' after the key \"\(name)\"") }
            members.append(JSONValue.Member(name, try value(depth: depth + 1)))
        } while consume(",")
        guard consume("}") else { throw failure(offset < bytes.count ? "expected ',' or '}'" : "unexpected end of data") }
        return .object(members)
    }

    private mutating func array(depth: Int) throws(Failure) -> JSONValue {
        offset += 1
        var elements: [JSONValue] = []
        if consume("]") { return .list(elements) }
        repeat { elements.append(try value(depth: depth + 1)) } while consume(",")
        guard consume("]") else { throw failure(offset < bytes.count ? "expected ',' or ']'" : "unexpected end of data") }
        return .list(elements)
    }

    /// Skips whitespace, then consumes `character` if it comes next.
    private mutating func consume(_ character: Unicode.Scalar) -> Bool {
        skipWhitespace()
        guard offset < bytes.count, bytes[offset] == UInt8(ascii: character) else { return false }
        offset += 1
        return true
    }

    private mutating func string() throws(Failure) -> String {
        offset += 1
        var utf8: [UInt8] = []
        while offset < bytes.count {
            let byte = bytes[offset]
            switch byte {
            case UInt8(ascii: "\""):
                offset += 1
                return String(decoding: utf8, as: UTF8.self)
            case UInt8(ascii: "\\"): try escape(into: &utf8)
            case 0..<0x20: throw failure("unescaped control character in a string")
            default:
                utf8.append(byte)
                offset += 1
            }
        }
        throw failure("unterminated string")
    }

    private mutating func escape(into utf8: inout [UInt8]) throws(Failure) {
        offset += 1
        guard offset < bytes.count else { throw failure("unterminated string") }
        let code = bytes[offset]
        offset += 1
        switch code {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): return utf8.append(code)
        case UInt8(ascii: "b"): return utf8.append(0x08)
        case UInt8(ascii: "f"): return utf8.append(0x0C)
        case UInt8(ascii: "n"): return utf8.append(0x0A)
        case UInt8(ascii: "r"): return utf8.append(0x0D)
        case UInt8(ascii: "t"): return utf8.append(0x09)
        case UInt8(ascii: "u"): break
        default: throw failure("invalid escape")
        }
        var value = try hexQuad()
        if (0xD800..<0xDC00).contains(value) {
            guard offset + 1 < bytes.count, bytes[offset] == UInt8(ascii: "\\"), bytes[offset + 1] == UInt8(ascii: "u")
            else { throw failure("unpaired surrogate escape") }
            offset += 2
            let low = try hexQuad()
            guard (0xDC00..<0xE000).contains(low) else { throw failure("unpaired surrogate escape") }
            value = 0x10000 + (value - 0xD800) << 10 + (low - 0xDC00)
        }
        guard let scalar = Unicode.Scalar(value) else { throw failure("unpaired surrogate escape") }
        utf8.append(contentsOf: UTF8.encode(scalar)!)
    }

    private mutating func hexQuad() throws(Failure) -> UInt32 {
        guard offset + 4 <= bytes.count,
            let value = UInt32(
                String(decoding: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + 4]), as: UTF8.self),
                radix: 16)
        else { throw failure("invalid \\u escape") }
        offset += 4
        return value
    }

    /// Integers that fit `Int64` stay exact (ids and indices must round-trip);
    /// the rest are `double`.
    private mutating func number() throws(Failure) -> JSONValue {
        let start = offset
        func digits() -> Int {
            let first = offset
            while offset < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[offset]) { offset += 1 }
            return offset - first
        }
        if bytes[offset] == UInt8(ascii: "-") { offset += 1 }
        let integerStart = offset
        guard digits() > 0 else { throw failure("invalid number") }
        guard bytes[integerStart] != UInt8(ascii: "0") || offset - integerStart == 1 else {
            throw Failure(message: "number with a leading zero", offset: start)
        }
        var integral = true
        if offset < bytes.count, bytes[offset] == UInt8(ascii: ".") {
            offset += 1
            integral = false
            guard digits() > 0 else { throw failure("invalid number") }
        }
        if offset < bytes.count, bytes[offset] | 0x20 == UInt8(ascii: "e") {
            offset += 1
            integral = false
            if offset < bytes.count, bytes[offset] == UInt8(ascii: "+") || bytes[offset] == UInt8(ascii: "-") { offset += 1 }
            guard digits() > 0 else { throw failure("invalid number") }
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<offset]), as: UTF8.self)
        if integral, let int = Int64(text) { return .int(int) }
        guard let double = Double(text), double.isFinite else { throw Failure(message: "invalid number \(text)", offset: start) }
        return .double(double)
    }
}

extension JSONValue {
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
            case _ where scalar.value < 0x20:
                out +=
                    "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count)
                    + String(scalar.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
