import Support

/// One row of a dataset: its columns in file order.
public struct Row: Equatable, Sendable {
    public var fields: [JSONValue.Member]

    public init(fields: [JSONValue.Member]) { self.fields = fields }

    public subscript(name: String) -> JSONValue? { fields.first { $0.name == name }?.value }

    /// The row as one JSON-like object.
    public var value: JSONValue { .object(fields) }
}
