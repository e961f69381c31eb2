import Agent
import ArgumentParser
import Datasets
import Foundation

struct DataCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data", abstract: "Look at and prepare dataset files (.parquet, .jsonl, .json, .csv).",
        subcommands: [DataHead.self, DataPrepare.self, DataPull.self, DataSplits.self])
}

/// `zerosearch data head FILE [--n N]`
struct DataHead: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "head", abstract: "Print the first rows, one JSON object per line, keyed by column name in file order.")

    @Argument(help: "A .parquet, .jsonl, .json or .csv file.") var file: String
    @Option(name: .customLong("n"), help: "How many rows.") var count = 5

    func run() async throws {
        var rows = try DatasetFile(contentsOf: URL(fileURLWithPath: file)).makeRowIterator()
        for _ in 0..<max(count, 0) {
            guard let row = try rows.next() else { break }
            print(row.value.jsonText)
        }
    }
}

/// `zerosearch data prepare FILE --out OUT.jsonl`: the rows the trainer reads.
struct DataPrepare: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prepare",
        abstract: "Write {\"id\", \"question\", \"answer\", \"data_source\", \"index\", \"prompt\"} JSONL rows from any dataset file.")

    @Argument(help: "A .parquet, .jsonl, .json or .csv file.") var file: String
    @Option(help: "JSONL file to write.") var out: String
    @Option(help: "Question column (dotted paths walk nested objects).") var questionField = "question"
    @Option(help: "Answers column; default: the first of \(QAMapping.defaultAnswersFields.joined(separator: ", ")) a row has.")
    var answersField: String?
    @Option(help: "Keep only these data sources, comma-separated (e.g. nq,hotpotqa).") var sources: String?
    @Option(help: "Stop after this many written rows; 0 for all.") var limit = 0
    @Flag(help: "Skip rows without a question or answers (counted on stderr) instead of stopping at the first.")
    var skipInvalid = false

    func run() async throws {
        let url = URL(fileURLWithPath: file)
        let mapping = QAMapping(
            questionField: questionField, answersField: answersField,
            defaultDataSource: url.deletingPathExtension().lastPathComponent)
        let wanted = sources.map { Set($0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }) }
        let prompt = PolicyPrompt()
        guard FileManager.default.createFile(atPath: out, contents: nil), let handle = FileHandle(forWritingAtPath: out) else {
            throw ValidationError("cannot create \(out)")
        }
        defer { try? handle.close() }
        // Written in chunks: the training file with prompts is hundreds of MB.
        var output = ""
        func flush() throws {
            try handle.write(contentsOf: Data(output.utf8))
            output = ""
        }
        var written = 0
        let skipped = try forEachQARow(in: url, mapping: mapping, sources: wanted, skipInvalid: skipInvalid) { qa in
            output += qa.record(prompt: prompt.render(question: qa.question)).jsonText + "\n"
            written += 1
            if output.utf8.count > 1 << 20 { try flush() }
            return limit == 0 || written < limit
        }
        try flush()
        let skippedNote = skipped > 0 ? ", skipped \(skipped) rows without a question or answers" : ""
        print("wrote \(written) rows to \(out)\(skippedNote)")
    }
}
