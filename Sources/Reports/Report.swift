import Foundation
import Support

/// A training metric worth a chart, in the order the page shows them.
public struct ChartedMetric: Sendable {
    public var key: String
    public var title: String
    public var yLabel: String

    public static let standard: [ChartedMetric] = [
        .init(key: "reward_mean", title: "Reward", yLabel: "mean reward"),
        .init(key: "reward_useful_searches", title: "Reward where every search was useful", yLabel: "mean reward"),
        .init(key: "f1", title: "F1 (training rollouts)", yLabel: "F1"),
        .init(key: "eval_f1", title: "F1 (evaluation)", yLabel: "F1"),
        .init(key: "eval_subem", title: "Substring EM (evaluation)", yLabel: "SubEM"),
        .init(key: "kl", title: "KL to the reference", yLabel: "KL"),
        .init(key: "entropy", title: "Entropy", yLabel: "nats per token"),
        .init(key: "searches_per_trajectory", title: "Searches per trajectory", yLabel: "searches"),
        .init(key: "noisy_share", title: "Noisy-call share", yLabel: "share of searches"),
        .init(key: "response_length", title: "Response length", yLabel: "tokens"),
    ]
}

/// One self-contained page for one or more runs: charts overlaid run by run,
/// a summary per run, and whatever JSON tables the folders hold. Written as
/// XHTML so that it opens in a browser and also parses as XML, which is how the
/// tests check it.
public struct Report: Sendable {
    public var runs: [RunFolder]
    public var title: String
    public var metrics: [ChartedMetric]

    public init(runs: [RunFolder], title: String = "ZeroSearch training report", metrics: [ChartedMetric] = ChartedMetric.standard) {
        self.runs = runs
        self.title = title
        self.metrics = metrics
    }

    /// The charts for metrics at least one run logged; each run keeps its colour in all of them.
    public var charts: [LineChart] {
        metrics.compactMap { metric in
            let series = runs.enumerated().compactMap { i, run in
                run.series(metric.key).map { Series(name: run.name, points: $0, colour: chartPalette[i % chartPalette.count]) }
            }
            return series.isEmpty ? nil : LineChart(series: series, title: metric.title, xLabel: "step", yLabel: metric.yLabel)
        }
    }

    public func html() -> String {
        var out = """
            <!DOCTYPE html>
            <html xmlns="http://www.w3.org/1999/xhtml" lang="en">
            <head>
            <meta charset="utf-8"/>
            <title>\(xmlEscape(title))</title>
            <style>
            body { font-family: sans-serif; margin: 2em; color: #222; }
            .charts { display: flex; flex-wrap: wrap; gap: 1em; }
            .charts svg { flex: 1 1 560px; min-width: 0; max-width: 100%; height: auto; }
            table { border-collapse: collapse; margin: 0.5em 0 1.5em; display: block; max-width: 100%; overflow-x: auto; }
            th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
            th { background: #f3f3f3; }
            td.text, th.text { text-align: left; }
            pre { background: #f7f7f7; padding: 0.8em; overflow-x: auto; }
            </style>
            </head>
            <body>
            <h1>\(xmlEscape(title))</h1>

            """
        // A folder with no training steps (a results folder, an empty run) is no run to list.
        if runs.contains(where: { !$0.steps.isEmpty }) { out += "<h2>Runs</h2>\n" + summaryTable() + "\n" }
        for run in runs where run.config != nil || run.unreadableLines > 0 {
            if run.unreadableLines > 0 {
                out += "<p>\(xmlEscape(run.name)): \(run.unreadableLines) unreadable line(s) of metrics.jsonl skipped.</p>\n"
            }
            if let config = run.config {
                out += "<details><summary>\(xmlEscape(run.name)): config.yaml</summary><pre>\(xmlEscape(config))</pre></details>\n"
            }
        }
        let charts = charts
        if !charts.isEmpty {
            out += "<h2>Training</h2>\n<div class=\"charts\">\n" + charts.map { $0.svg() }.joined(separator: "\n") + "\n</div>\n"
        }
        let tables = runs.flatMap { run in run.tables.map { (title: "\(run.name): \($0.file)", json: $0.json) } }
        if !tables.isEmpty {
            out += "<h2>Evaluation</h2>\n"
            for table in tables {
                out += "<h3>\(xmlEscape(table.title))</h3>\n" + jsonTable(table.json) + "\n"
                if let chart = scoreChart(table.json, title: table.title) { out += "<div class=\"charts\">\n" + chart.svg() + "\n</div>\n" }
            }
        }
        return out + "</body>\n</html>\n"
    }

    private func summaryTable() -> String {
        let rows = runs.filter { !$0.steps.isEmpty }.map { run -> [String] in
            let rewards = run.steps.compactMap { step in step["reward_mean"].map { (step: step["step"], reward: $0) } }
            let best = rewards.max { $0.reward < $1.reward }
            let seconds = run.steps.compactMap { $0["seconds"] }
            return [
                run.name, "\(run.steps.count)",
                rewards.last.map { number($0.reward) } ?? "",
                best.map { number($0.reward) + ($0.step.map { " (step \(number($0)))" } ?? "") } ?? "",
                run.steps.last?["f1"].map(number) ?? "",
                seconds.isEmpty ? "" : duration(seconds.reduce(0, +)),
            ]
        }
        return htmlTable(header: ["run", "steps", "last reward", "best reward", "last F1", "total time"], rows: rows, textColumns: 1)
    }

    /// A results table (rows with a `method` and scores nested by question
    /// kind or split, as the demo and `zerosearch real` write them) as bars:
    /// substring EM in % of each method, one bar per kind or split.
    func scoreChart(_ json: JSONValue, title: String) -> BarChart? {
        guard let rows = json["rows"].map(objects), !rows.isEmpty else { return nil }
        var methods: [String] = []
        var categories: [String] = []
        var values: [String: [String: Double]] = [:]
        for row in rows {
            guard let method = row.first(where: { $0.name == "method" })?.value.string else { continue }
            methods.append(method)
            for member in flatten(row) where member.name.hasSuffix(".subem") {
                guard let score = member.value.number else { continue }
                let category = String(member.name.dropLast(".subem".count))
                if !categories.contains(category) { categories.append(category) }
                values[method, default: [:]][category] = 100 * score
            }
        }
        guard !methods.isEmpty, !categories.isEmpty else { return nil }
        return BarChart(
            groups: methods, series: categories.map { category in (category, methods.map { values[$0]?[category] }) },
            title: "\(title): substring EM", yLabel: "substring EM (%)")
    }

    /// Any JSON as a table: a `rows` array or top-level array of objects gives a row
    /// each, an object of objects (a per-source table) a row per key, anything else
    /// one row. Nested objects become dotted columns (`single_hop.f1`), so the
    /// paper's layout and new layouts need no code here. Columns keep the
    /// file's order, labels (text columns) first.
    private func jsonTable(_ json: JSONValue) -> String {
        let rows: [[JSONValue.Member]]
        switch json {
        case .object where json["rows"].map(isListOfObjects) == true:
            rows = objects(json["rows"]!)
        case .list where isListOfObjects(json):
            rows = objects(json)
        case .object(let members) where !members.isEmpty && isListOfObjects(.list(members.map(\.value))):
            rows = members.compactMap { member in
                guard case .object(let inner) = member.value else { return nil }
                return [JSONValue.Member("name", .string(member.name))] + inner.filter { $0.name != "name" }
            }
        default:
            rows = [[JSONValue.Member("value", json)]]
        }
        let flat = rows.map { flatten($0) }
        var columns: [String] = []
        for row in flat { for member in row where !columns.contains(member.name) { columns.append(member.name) } }
        let value = { (row: [JSONValue.Member], column: String) in row.first { $0.name == column }?.value }
        let isText = { (column: String) in flat.contains { if case .string? = value($0, column) { true } else { false } } }
        let text = columns.filter(isText)
        columns = text + columns.filter { !isText($0) }
        return htmlTable(
            header: columns, rows: flat.map { row in columns.map { value(row, $0).map(cell) ?? "" } },
            textColumns: text.count)
    }

    private func isListOfObjects(_ json: JSONValue) -> Bool {
        guard case .list(let items) = json, !items.isEmpty else { return false }
        return items.allSatisfy { if case .object = $0 { true } else { false } }
    }

    private func objects(_ json: JSONValue) -> [[JSONValue.Member]] {
        guard case .list(let items) = json else { return [] }
        return items.compactMap { if case .object(let members) = $0 { members } else { nil } }
    }

    private func flatten(_ members: [JSONValue.Member], prefix: String = "") -> [JSONValue.Member] {
        members.flatMap { member -> [JSONValue.Member] in
            if case .object(let inner) = member.value { return flatten(inner, prefix: prefix + member.name + ".") }
            return [JSONValue.Member(prefix + member.name, member.value)]
        }
    }

    private func cell(_ value: JSONValue) -> String {
        switch value {
        case .null: ""
        case .bool(let b): b ? "true" : "false"
        case .int(let i): String(i)
        case .double(let d): number(d)
        case .string(let s): s
        case .list(let items): items.map(cell).joined(separator: ", ")
        case .object: "…"  // flatten() leaves objects only inside lists
        }
    }

    /// Cells are plain text here and escaped once, in one place.
    /// Right-aligned numbers line up by magnitude; the leading `textColumns` (labels) read better left-aligned.
    private func htmlTable(header: [String], rows: [[String]], textColumns: Int) -> String {
        func cells(_ values: [String], tag: String) -> String {
            values.enumerated().map { c, v in
                "<\(tag)\(c < textColumns ? " class=\"text\"" : "")>\(xmlEscape(v))</\(tag)>"
            }.joined()
        }
        return "<table>\n<tr>\(cells(header, tag: "th"))</tr>\n" + rows.map { "<tr>\(cells($0, tag: "td"))</tr>\n" }.joined() + "</table>"
    }
}

/// Up to five significant digits: enough to compare runs, short enough for a table cell.
func number(_ value: Double) -> String {
    if value == value.rounded(), abs(value) < 1e15 { return String(Int(value)) }
    return String(format: "%.5g", value)
}

func duration(_ seconds: Double) -> String {
    let s = Int(seconds.rounded())
    return s >= 3600
        ? String(format: "%dh %02dm %02ds", s / 3600, s % 3600 / 60, s % 60)
        : s >= 60 ? String(format: "%dm %02ds", s / 60, s % 60) : "\(s)s"
}
