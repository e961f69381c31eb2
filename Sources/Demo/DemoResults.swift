import Evaluation
import Foundation

/// One row of the demo's table: a method scored on the world's test
/// questions with the real (BM25) engine.
public struct DemoRow: Codable, Equatable, Sendable {
    public struct Scores: Codable, Equatable, Sendable {
        public var subem: Double
        public var f1: Double
        public var em: Double
        public var questions: Int

        init(_ summary: ScoreSummary?) {
            subem = summary?.subem ?? 0
            f1 = summary?.f1 ?? 0
            em = summary?.em ?? 0
            questions = summary?.questions ?? 0
        }
    }

    public var method: String
    public var description: String
    public var singleHop: Scores
    public var twoHop: Scores
    public var overall: Scores
    public var searchesPerQuestion: Double

    init(method: String, description: String, report: EvaluationReport) {
        self.method = method
        self.description = description
        singleHop = Scores(report.bySource["single_hop"])
        twoHop = Scores(report.bySource["two_hop"])
        overall = Scores(report.overall)
        searchesPerQuestion = report.searchesPerQuestion
    }

    enum CodingKeys: String, CodingKey {
        case method, description, overall
        case singleHop = "single_hop", twoHop = "two_hop", searchesPerQuestion = "searches_per_question"
    }
}

/// `results.json`.
public struct DemoResults: Codable, Equatable, Sendable {
    public var rows: [DemoRow]
    public var seed: UInt64
    public var settings: DemoSettings
    public var build: DemoBuildReport
    /// Wall-clock seconds of the whole demo, models included.
    public var seconds: Double

    public func row(_ method: String) -> DemoRow? { rows.first { $0.method == method } }

    /// The paper's layout: substring EM and F1 in percent per question type.
    public var table: String {
        func padded(_ text: String, _ width: Int) -> String { text.padding(toLength: max(width, text.count), withPad: " ", startingAt: 0) }
        func cells(_ scores: DemoRow.Scores) -> String { String(format: "%7.1f %6.1f", 100 * scores.subem, 100 * scores.f1) }
        let width = max(24, (rows.map(\.method.count).max() ?? 0) + 2)
        var lines = [
            padded("", width) + "    single-hop        two-hop        overall  searches",
            padded("method", width) + String(repeating: "  subEM     F1", count: 3),
        ]
        for row in rows {
            lines.append(
                padded(row.method, width) + cells(row.singleHop) + cells(row.twoHop) + cells(row.overall)
                    + String(format: "%10.2f", row.searchesPerQuestion))
        }
        return lines.joined(separator: "\n")
    }
}
