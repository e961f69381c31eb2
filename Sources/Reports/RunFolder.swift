import Foundation
import Support

public enum ReportError: Error, CustomStringConvertible {
    case notARun(String)

    public var description: String {
        switch self {
        case .notARun(let path): "\(path) has neither metrics.jsonl nor a JSON results file"
        }
    }
}

/// What a report needs from one run folder, read as plain JSON so that a report
/// can be made from runs written by older or newer versions of the trainer.
public struct RunFolder: Sendable {
    public var name: String
    /// One dictionary per step, numeric fields only.
    public var steps: [[String: Double]]
    /// Lines that did not parse: a run still being written can end in half a line.
    public var unreadableLines: Int
    public var config: String?
    /// Every top-level `*.json` file (results.json, evaluation tables), by file name.
    public var tables: [(file: String, json: JSONValue)]

    public init(
        name: String, steps: [[String: Double]], unreadableLines: Int = 0, config: String? = nil,
        tables: [(file: String, json: JSONValue)] = []
    ) {
        self.name = name
        self.steps = steps
        self.unreadableLines = unreadableLines
        self.config = config
        self.tables = tables
    }

    public init(contentsOf folder: URL) throws {
        let files = FileManager.default
        let metrics = folder.appendingPathComponent("metrics.jsonl")
        var steps: [[String: Double]] = []
        var unreadable = 0
        if files.fileExists(atPath: metrics.path) {
            let text = try String(contentsOf: metrics, encoding: .utf8)
            for line in text.split(whereSeparator: \.isNewline) where !line.allSatisfy(\.isWhitespace) {
                guard case .object(let members)? = try? JSONValue.parse(String(line)) else {
                    unreadable += 1
                    continue
                }
                steps.append(
                    Dictionary(members.compactMap { member in member.value.number.map { (member.name, $0) } }) { first, _ in first })
            }
        }
        let jsonFiles = (try? files.contentsOfDirectory(atPath: folder.path))?.filter { $0.hasSuffix(".json") }.sorted() ?? []
        let tables = try jsonFiles.map { file in
            (file: file, json: try JSONValue.parse(String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)))
        }
        guard files.fileExists(atPath: metrics.path) || !tables.isEmpty else { throw ReportError.notARun(folder.path) }
        let config = try? String(contentsOf: folder.appendingPathComponent("config.yaml"), encoding: .utf8)
        self.init(
            name: folder.standardizedFileURL.lastPathComponent, steps: steps, unreadableLines: unreadable,
            config: config, tables: tables)
    }

    /// A metric over steps; steps without it become gaps. Nil when no step has it.
    public func series(_ key: String) -> [(x: Double, y: Double)]? {
        guard steps.contains(where: { $0[key] != nil }) else { return nil }
        return steps.enumerated().map { i, step in
            // Older logs without `step` are still in step order.
            (x: step["step"] ?? Double(i + 1), y: step[key] ?? .nan)
        }
    }
}
