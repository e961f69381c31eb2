/// A node of the schema tree, with the Dremel levels at which it is present.
struct SchemaNode: Sendable {
    var element: SchemaElement
    var children: [SchemaNode]
    /// The definition level a value reaches when this node is present.
    var definitionLevel: Int
    /// The number of repeated nodes from the root down to this one, inclusive.
    var repetitionLevel: Int
    /// This node's leaves, as indices into the file's leaf (column chunk) order.
    var leaves: Range<Int>
}

/// The schema of a parquet file: a tree of groups (structs, lists) over leaf columns.
public struct ParquetSchema: Sendable, CustomStringConvertible {
    let root: SchemaNode
    let leaves: [LeafColumn]

    /// Nesting deeper than this is not data anyone writes, and levels must fit in a byte.
    static let maxDepth = 64

    init(_ elements: [SchemaElement]) throws(ParquetError) {
        guard !elements.isEmpty else { throw .corrupt("the schema is empty") }
        var index = 0
        var leaves: [LeafColumn] = []
        root = try Self.build(elements, &index, parent: nil, path: [], leaves: &leaves)
        guard index == elements.count else {
            throw .corrupt("the schema lists \(elements.count) elements but its tree uses \(index)")
        }
        guard !leaves.isEmpty else { throw .corrupt("the schema has no columns") }
        self.leaves = leaves
    }

    private static func build(
        _ elements: [SchemaElement], _ index: inout Int, parent: SchemaNode?, path: [String],
        leaves: inout [LeafColumn]
    ) throws(ParquetError) -> SchemaNode {
        guard index < elements.count else { throw .corrupt("the schema tree names more children than it has elements") }
        guard path.count <= maxDepth else { throw .corrupt("the schema nests deeper than \(maxDepth)") }
        let element = elements[index]
        index += 1
        let isRoot = parent == nil
        let definition = (parent?.definitionLevel ?? 0) + (isRoot || element.repetition == .required ? 0 : 1)
        let repetition = (parent?.repetitionLevel ?? 0) + (!isRoot && element.repetition == .repeated ? 1 : 0)
        let fullPath = isRoot ? [] : path + [element.name]
        var node = SchemaNode(
            element: element, children: [], definitionLevel: definition, repetitionLevel: repetition,
            leaves: leaves.count..<leaves.count)
        if element.childCount == 0 {
            guard let type = element.type, !isRoot else { throw .corrupt("schema element \(element.name) has neither type nor children") }
            leaves.append(LeafColumn(path: fullPath, type: type, maxDefinition: definition, maxRepetition: repetition))
        } else {
            for _ in 0..<element.childCount {
                node.children.append(try build(elements, &index, parent: node, path: fullPath, leaves: &leaves))
            }
        }
        node.leaves = node.leaves.lowerBound..<leaves.count
        return node
    }

    /// The top-level columns called `names` (all of them for nil), in file order.
    func topLevel(_ names: [String]?) throws(ParquetError) -> [SchemaNode] {
        guard let names else { return root.children }
        if let missing = names.first(where: { !columnNames.contains($0) }) {
            throw .noSuchColumn(missing, available: columnNames)
        }
        return root.children.filter { names.contains($0.element.name) }
    }

    /// The top-level column names, in file order.
    public var columnNames: [String] { root.children.map(\.element.name) }

    /// An indented tree, one field per line, e.g. `optional group golden_answers (LIST)`.
    public var description: String {
        var lines: [String] = []
        func describe(_ node: SchemaNode, _ indent: String) {
            let e = node.element
            let kind = e.type.map { "\($0)" } ?? "group"
            let annotation = e.isList ? " (LIST)" : e.isMap ? " (MAP)" : e.isString ? " (STRING)" : ""
            lines.append("\(indent)\(e.repetition) \(kind) \(e.name)\(annotation)")
            for child in node.children { describe(child, indent + "  ") }
        }
        for child in root.children { describe(child, "") }
        return lines.joined(separator: "\n")
    }
}
