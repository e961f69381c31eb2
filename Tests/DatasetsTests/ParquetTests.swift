import Datasets
import Foundation
import Support
import Testing

/// Parquet files written by pyarrow (scripts/fixtures/make_parquet_fixtures.py)
/// must read back exactly as pyarrow's own `to_pylist()`; damaged copies must
/// fail with a `ParquetError`.
@Suite struct ParquetTests {
    static let searchR1Files = [
        "plain_uncompressed_v1", "dict_snappy_v1", "dict_snappy_v2", "plain_gzip_v2",
        "dict_zstd_v1", "dict_fallback_small_pages",
    ]

    @Test(arguments: searchR1Files) func searchR1FileReadsBackAsPyarrowDoes(name: String) throws {
        let file = try ParquetFile(contentsOf: try fixture(name + ".parquet"))
        #expect(
            file.schema.columnNames == [
                "id", "question", "golden_answers", "data_source", "prompt", "ability",
                "reward_model", "extra_info",
            ])
        #expect(file.rowGroupCount == 3)
        let expected = try expectedRows("search_r1_rows.json")
        #expect(file.rowCount == expected.count)
        var iterator = file.makeRowIterator()
        var index = 0
        while let row = try iterator.next() {
            try #require(index < expected.count)
            #expect(matches(row.value, expected[index]), "row \(index): \(row.value) vs \(expected[index])")
            index += 1
        }
        #expect(index == expected.count)
    }

    @Test func nestedFieldsAreReachable() throws {
        let file = try ParquetFile(contentsOf: try fixture("dict_snappy_v1.parquet"))
        let row = try file.rows(inRowGroup: 0)[0]
        #expect(row["golden_answers"] == .list([.string("answer 0")]))
        #expect(row["reward_model"]?["ground_truth"]?["target"] == row["golden_answers"])
        #expect(row["prompt"]?.list?.first?["role"] == .string("user"))
        #expect(row["extra_info"]?["index"] == .int(0))
    }

    @Test func selectedColumnsMatchTheFullRows() throws {
        let file = try ParquetFile(contentsOf: try fixture("dict_fallback_small_pages.parquet"))
        let wanted = ["data_source", "question", "reward_model"]
        for group in 0..<file.rowGroupCount {
            let full = try file.rows(inRowGroup: group)
            let picked = try file.rows(inRowGroup: group, columns: wanted)
            #expect(picked == full.map { row in Row(fields: row.fields.filter { wanted.contains($0.name) }) })
        }
        // File order, whatever order the names are asked in.
        var iterator = file.makeRowIterator(columns: ["reward_model", "question", "data_source"])
        #expect(try iterator.next()?.fields.map(\.name) == ["question", "data_source", "reward_model"])
        #expect(throws: ParquetError.noSuchColumn("answers", available: file.schema.columnNames)) {
            try file.rows(inRowGroup: 0, columns: ["question", "answers"])
        }
    }

    /// Physical types and nesting the Search-R1 files do not use: BOOLEAN/INT32/FLOAT/DOUBLE;
    /// lists of lists, required lists, maps, and null structs three deep.
    @Test(arguments: ["scalar_types", "other_nesting"]) func otherShapesReadBack(name: String) throws {
        let file = try ParquetFile(contentsOf: try fixture(name + ".parquet"))
        let expected = try expectedRows(name + "_rows.json")
        let rows = try (0..<file.rowGroupCount).flatMap { try file.rows(inRowGroup: $0) }
        #expect(rows.count == expected.count)
        for (row, want) in zip(rows, expected) { #expect(matches(row.value, want), "\(row.value) vs \(want)") }
    }

    /// Every truncation and a sweep of single-byte flips: each either reads (a flip
    /// inside string bytes is still a valid file) or throws `ParquetError`, never
    /// crashes, hangs, or throws anything else.
    @Test(arguments: ["dict_snappy_v2", "plain_uncompressed_v1", "plain_gzip_v2"])
    func damagedFilesFailCleanly(name: String) throws {
        let original = try Data(contentsOf: try fixture(name + ".parquet"))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("damaged-\(name)-\(getpid()).parquet")
        defer { try? FileManager.default.removeItem(at: path) }
        var failures = 0
        // Typed throws guarantee any failure is a ParquetError; it must also say something.
        func readsWholly() -> Bool {
            do {
                let file = try ParquetFile(contentsOf: path)
                var iterator = file.makeRowIterator()
                while try iterator.next() != nil {}
                return true
            } catch {
                #expect(!error.description.isEmpty)
                return false
            }
        }
        func attempt(_ bytes: Data) throws {
            try bytes.write(to: path)
            if !readsWholly() { failures += 1 }
        }
        for length in stride(from: 0, to: original.count, by: 61) { try attempt(original.prefix(length)) }
        #expect(failures == (original.count + 60) / 61)
        // Keeping both magics but dropping a middle stretch leaves a footer whose offsets lie.
        var spliced = original
        spliced.removeSubrange(200..<400)
        failures = 0
        try attempt(spliced)
        #expect(failures == 1)
        // Flips are written in place (one byte out, one back): rewriting the whole file
        // each time would cost more than reading it.
        try original.write(to: path)
        let handle = try FileHandle(forUpdating: path)
        defer { try? handle.close() }
        for position in stride(from: 4, to: original.count - 8, by: 17) {
            try handle.seek(toOffset: UInt64(position))
            try handle.write(contentsOf: [original[position] ^ 0xA5])
            _ = readsWholly()
            try handle.seek(toOffset: UInt64(position))
            try handle.write(contentsOf: [original[position]])
        }
    }

    @Test func hostileFootersAreRejectedWithReasons() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("hostile-\(getpid()).parquet")
        defer { try? FileManager.default.removeItem(at: path) }
        func footerFile(_ footer: [UInt8], claimedLength: Int? = nil) throws -> ParquetError? {
            let length = UInt32(claimedLength ?? footer.count)
            let bytes = Array("PAR1".utf8) + footer + withUnsafeBytes(of: length.littleEndian, Array.init) + Array("PAR1".utf8)
            try Data(bytes).write(to: path)
            do { _ = try ParquetFile(contentsOf: path) } catch { return error }
            return nil
        }
        // A struct nested in a struct, 1000 deep: refused by depth, not by the stack.
        let deep = try footerFile(Array(repeating: 0x1C, count: 1000))
        #expect(deep?.description.contains("deeper") == true)
        // A list claiming a billion elements in a few bytes.
        let huge = try footerFile([0x29, 0xF5, 0x80, 0x80, 0x80, 0x04, 0x00])
        #expect(huge?.description.contains("claims") == true)
        let long = try footerFile([0x00], claimedLength: 5000)
        #expect(long?.description.contains("footer length") == true)
        let empty = try footerFile([0x00])
        #expect(empty?.description.contains("required field") == true)
        #expect(throws: ParquetError.self) { try ParquetFile(contentsOf: URL(fileURLWithPath: "/nonexistent.parquet")) }
    }
}

/// pyarrow's rows as JSON: keys unordered, numbers without a declared type.
enum Expected: Decodable {
    case null, bool(Bool), number(Double), string(String), list([Expected]), object([String: Expected])

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let d = try? c.decode(Double.self) {
            self = .number(d)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let l = try? c.decode([Expected].self) {
            self = .list(l)
        } else {
            self = .object(try c.decode([String: Expected].self))
        }
    }
}

func matches(_ value: JSONValue, _ expected: Expected) -> Bool {
    switch (value, expected) {
    case (.null, .null): true
    case (.bool(let a), .bool(let b)): a == b
    // JSON's doubles hold int64 values up to 2^53 exactly, which covers the fixtures.
    case (.int(let a), .number(let b)): Double(a) == b
    case (.double(let a), .number(let b)): a == b
    case (.string(let a), .string(let b)): a == b
    case (.list(let a), .list(let b)): a.count == b.count && zip(a, b).allSatisfy(matches)
    case (.object(let a), .object(let b)):
        a.count == b.count && a.allSatisfy { member in b[member.name].map { matches(member.value, $0) } ?? false }
    default: false
    }
}

func fixture(_ name: String) throws -> URL {
    try #require(Bundle.module.url(forResource: "Fixtures/" + name, withExtension: nil), "missing fixture \(name)")
}

func expectedRows(_ name: String) throws -> [Expected] {
    try JSONDecoder().decode([Expected].self, from: Data(contentsOf: fixture(name)))
}
