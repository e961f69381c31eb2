import Support

/// Rebuilds nested rows from the leaf columns' Dremel triplets.
///
/// Each call works on one instance of a node: for every leaf below it, the
/// range of that leaf's triplets the instance spans. A repeated node splits
/// those ranges where the repetition level says a new element starts; an
/// optional node is null where the first triplet's definition level stops short.
struct RecordAssembler {
    /// Per leaf column (indexed like `schema.leaves`), the triplets one instance spans;
    /// only the entries of the current node's leaves are meaningful.
    typealias Ranges = [Range<Int>]

    let schema: ParquetSchema
    /// Triplets per leaf; leaves outside `selected` are left empty, never decoded.
    let columns: [ColumnTriplets]
    /// The top-level columns to assemble, in file order.
    let selected: [SchemaNode]

    func rows(count: Int) throws(ParquetError) -> [Row] {
        // Row starts per leaf: every triplet with repetition level 0.
        var starts = [[Int]](repeating: [], count: columns.count)
        for leaf in selected.flatMap({ Array($0.leaves) }) {
            let column = columns[leaf]
            var leafStarts: [Int] = []
            leafStarts.reserveCapacity(count + 1)
            for (i, level) in column.repetition.enumerated() where level == 0 { leafStarts.append(i) }
            guard leafStarts.count == count, column.repetition.first.map({ $0 == 0 }) ?? true else {
                let name = schema.leaves[leaf].path.joined(separator: ".")
                throw .corrupt("column \(name) holds \(leafStarts.count) rows, its row group \(count)")
            }
            leafStarts.append(column.repetition.count)
            starts[leaf] = leafStarts
        }
        var rows: [Row] = []
        rows.reserveCapacity(count)
        for r in 0..<count {
            let ranges = starts.map { $0.isEmpty ? 0..<0 : $0[r]..<$0[r + 1] }
            rows.append(
                Row(
                    fields: try selected.map { column throws(ParquetError) in
                        JSONValue.Member(column.element.name, try field(column, ranges))
                    }))
        }
        return rows
    }

    private func members(of node: SchemaNode, _ ranges: Ranges) throws(ParquetError) -> [JSONValue.Member] {
        try node.children.map { child throws(ParquetError) in
            JSONValue.Member(child.element.name, try field(child, ranges))
        }
    }

    /// The value of `node` as a field of its parent's instance.
    private func field(_ node: SchemaNode, _ ranges: Ranges) throws(ParquetError) -> JSONValue {
        switch node.element.repetition {
        case .repeated:
            return .list(try elements(of: node, ranges).map { item throws(ParquetError) in try instance(node, item) })
        case .optional:
            return try firstDefinition(node, ranges) < node.definitionLevel ? .null : instance(node, ranges)
        case .required:
            return try instance(node, ranges)
        }
    }

    /// The value of one present instance of `node`.
    private func instance(_ node: SchemaNode, _ ranges: Ranges) throws(ParquetError) -> JSONValue {
        if node.children.isEmpty {
            let leaf = node.leaves.lowerBound
            let range = ranges[leaf]
            guard range.count == 1, columns[leaf].definition[range.lowerBound] == schema.leaves[leaf].maxDefinition else {
                throw corrupt(node, "a present value spans \(range.count) entries or is not fully defined")
            }
            return columns[leaf].values[range.lowerBound]
        }
        // LIST / MAP: a group around one repeated child, whose instances are the elements.
        if node.element.isList || node.element.isMap, node.children.count == 1, node.children[0].element.repetition == .repeated {
            let repeated = node.children[0]
            let items = try elements(of: repeated, ranges)
            // Modern 3-level lists wrap each element in a one-field group; legacy 2-level
            // lists (and maps) use the repeated node itself as the element.
            let threeLevel =
                node.element.isList && repeated.children.count == 1
                && repeated.element.name != "array" && repeated.element.name != node.element.name + "_tuple"
            return .list(
                try items.map { item throws(ParquetError) in
                    threeLevel ? try field(repeated.children[0], item) : try instance(repeated, item)
                })
        }
        return .object(try members(of: node, ranges))
    }

    /// Splits a repeated node's ranges into one set of ranges per element.
    private func elements(of node: SchemaNode, _ ranges: Ranges) throws(ParquetError) -> [Ranges] {
        if try firstDefinition(node, ranges) < node.definitionLevel { return [] }
        var perLeaf: [[Range<Int>]] = []
        for leaf in node.leaves {
            let range = ranges[leaf]
            let levels = columns[leaf].repetition
            var bounds = [range.lowerBound]
            for i in range.dropFirst() where Int(levels[i]) <= node.repetitionLevel { bounds.append(i) }
            bounds.append(range.upperBound)
            perLeaf.append(zip(bounds, bounds.dropFirst()).map { $0..<$1 })
        }
        let count = perLeaf[0].count
        guard perLeaf.allSatisfy({ $0.count == count }) else { throw corrupt(node, "its columns disagree on the element count") }
        return (0..<count).map { k in
            var item = ranges
            for (offset, leaf) in node.leaves.enumerated() { item[leaf] = perLeaf[offset][k] }
            return item
        }
    }

    private func firstDefinition(_ node: SchemaNode, _ ranges: Ranges) throws(ParquetError) -> Int {
        let leaf = node.leaves.lowerBound
        guard let first = ranges[leaf].first else { throw corrupt(node, "an instance has no entries") }
        return Int(columns[leaf].definition[first])
    }

    private func corrupt(_ node: SchemaNode, _ detail: String) -> ParquetError {
        .corrupt("field \(node.element.name): \(detail)")
    }
}
