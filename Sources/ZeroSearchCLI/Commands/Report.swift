import ArgumentParser
import Foundation
import Reports

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "One self-contained HTML page (SVG charts, summary, evaluation tables) for one or more run folders.")

    @Argument(help: "Run folders (metrics.jsonl, optional config.yaml and *.json results); several are overlaid.")
    var runs: [String]
    @Option(help: "The HTML file to write.") var out = "report.html"
    @Option(help: "Page title.") var title = "ZeroSearch training report"

    func run() throws {
        let folders = try runs.map { try RunFolder(contentsOf: URL(fileURLWithPath: $0)) }
        let report = Report(runs: folders, title: title)
        try Data(report.html().utf8).write(to: URL(fileURLWithPath: out), options: .atomic)
        print("\(out): \(report.charts.count) charts for \(folders.count) run(s)")
    }
}
