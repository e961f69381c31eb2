import Foundation

/// One retrievable passage: a corpus line `{"id": …, "title": …, "text": …}`.
public struct Passage: Sendable, Equatable {
    public var id: String
    public var title: String
    public var text: String

    public init(id: String, title: String, text: String) {
        self.id = id
        self.title = title
        self.text = text
    }

    /// How the policy reads a retrieved passage. Search-R1's wiki retriever
    /// stores `"Title"\ntext` and prints `Doc i(Title: "Title") text`; here the
    /// title is a separate field, so it becomes `(Title: Title) text` after
    /// `SearchResult.documents`' `Doc i: ` prefix.
    public var rendered: String { "(Title: \(title)) \(text)" }
}

public enum BM25Error: Error, CustomStringConvertible, Equatable {
    case badCorpusLine(path: String, line: Int, reason: String)
    case badIndex(path: String, reason: String)
    case io(path: String, reason: String)

    public var description: String {
        switch self {
        case let .badCorpusLine(path, line, reason): "\(path):\(line): \(reason)"
        case let .badIndex(path, reason): "\(path) is not a usable BM25 index: \(reason)"
        case let .io(path, reason): "\(path): \(reason)"
        }
    }
}

/// Streams a JSONL corpus one passage at a time, so a corpus larger than
/// memory can be indexed (the index builder keeps the passages it stores, not
/// the file's lines).
public enum JSONLCorpus {
    /// Calls `body` with each passage and its 1-based line number; blank
    /// lines are skipped. `id` may be a string or an integer.
    public static func forEachPassage(in url: URL, _ body: (Passage, Int) throws -> Void) throws {
        let decoder = JSONDecoder()
        try forEachLine(in: url) { line, number in
            guard line.contains(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") && $0 != UInt8(ascii: "\r") }) else { return }
            let record: Record
            let data = Data(line)
            do {
                record = try decoder.decode(Record.self, from: data)
            } catch {
                throw BM25Error.badCorpusLine(path: url.path, line: number, reason: Self.reason(error, data))
            }
            try body(Passage(id: record.id, title: record.title, text: record.text), number)
        }
    }

    /// Splits the file into lines reading 4 MiB at a time.
    static func forEachLine(in url: URL, _ body: (UnsafeBufferPointer<UInt8>, Int) throws -> Void) throws {
        guard let handle = FileHandle(forReadingAtPath: url.path) else {
            throw BM25Error.io(path: url.path, reason: "cannot open the corpus")
        }
        defer { try? handle.close() }
        var pending: [UInt8] = []
        var number = 0
        while true {
            let chunk = try handle.read(upToCount: 4 << 20) ?? Data()
            if chunk.isEmpty { break }
            pending.append(contentsOf: chunk)
            var start = 0
            try pending.withUnsafeBufferPointer { bytes in
                while let end = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) {
                    number += 1
                    try body(UnsafeBufferPointer(rebasing: bytes[start..<end]), number)
                    start = end + 1
                }
            }
            pending.removeFirst(start)
        }
        if !pending.isEmpty {
            try pending.withUnsafeBufferPointer { try body($0, number + 1) }
        }
    }

    private struct Record: Decodable {
        let id: String, title: String, text: String

        enum CodingKeys: String, CodingKey { case id, title, text }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            if let number = try? container.decode(Int.self, forKey: .id) {
                id = String(number)
            } else {
                id = try container.decode(String.self, forKey: .id)
            }
            title = try container.decodeIfPresent(String.self, forKey: .title) ?? ""
            text = try container.decode(String.self, forKey: .text)
        }
    }

    /// The decoder's message without its coding-path boilerplate. For a
    /// syntax error `JSONDecoder` does not say where; `JSONSerialization` does.
    private static func reason(_ error: any Error, _ line: Data) -> String {
        switch error {
        case DecodingError.dataCorrupted:
            do {
                _ = try JSONSerialization.jsonObject(with: line)
                return "invalid JSON"
            } catch {
                return "invalid JSON (\((error as NSError).userInfo[NSDebugDescriptionErrorKey] ?? error))"
            }
        case let DecodingError.keyNotFound(key, _): return "missing \"\(key.stringValue)\""
        case let DecodingError.typeMismatch(_, context):
            guard let key = context.codingPath.last?.stringValue else { return "not a JSON object" }
            return "wrong type for \"\(key)\": \(context.debugDescription)"
        case let DecodingError.valueNotFound(_, context): return "null \"\(context.codingPath.last?.stringValue ?? "?")\""
        default: return "\(error)"
        }
    }
}
