import Foundation

/// Any JSON, for the parts of tokenizer files whose shape depends on a `type`
/// field (pre-tokenizers, post-processors, ...).
enum JSONValue: Decodable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    subscript(key: String) -> JSONValue? {
        if case let .object(members) = self { return members[key] }
        return nil
    }

    var string: String? {
        if case let .string(value) = self { return value }
        return nil
    }

    var bool: Bool? {
        if case let .bool(value) = self { return value }
        return nil
    }

    var array: [JSONValue]? {
        if case let .array(value) = self { return value }
        return nil
    }

    var isNull: Bool { self == .null }
}

extension TokenizerError {
    /// Names the JSON path of a decoding failure: `tokenizer.json: model.merges[3]: ...`.
    init(_ error: DecodingError, in file: String) {
        func path(_ context: DecodingError.Context) -> String {
            let components = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }
            let joined = components.joined()
            return joined.hasPrefix(".") ? String(joined.dropFirst()) : joined
        }
        func located(_ context: DecodingError.Context, _ detail: String) -> String {
            let at = path(context)
            return "\(file): " + (at.isEmpty ? "" : "\(at): ") + detail
        }
        switch error {
        case let .typeMismatch(type, context):
            self.init(located(context, "expected \(type): \(context.debugDescription)"))
        case let .valueNotFound(type, context):
            self.init(located(context, "missing \(type) value"))
        case let .keyNotFound(key, context):
            self.init(located(context, "missing field \"\(key.stringValue)\""))
        case let .dataCorrupted(context):
            let underlying = context.underlyingError.map { " (\($0))" } ?? ""
            self.init(located(context, context.debugDescription + underlying))
        @unknown default:
            self.init("\(file): \(error)")
        }
    }
}
