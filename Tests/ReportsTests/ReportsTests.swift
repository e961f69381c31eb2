import Foundation
import Reports
import Support
import Testing

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// Parses XML and counts elements by name; a parse error fails the check that uses it.
private final class ElementCounter: NSObject, XMLParserDelegate {
    var counts: [String: Int] = [:]
    var attributes: [String: [[String: String]]] = [:]

    func parser(
        _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String]
    ) {
        counts[name, default: 0] += 1
        self.attributes[name, default: []].append(attributes)
    }
}

private func parse(_ xml: String) -> ElementCounter? {
    let counter = ElementCounter()
    let parser = XMLParser(data: Data(xml.utf8))
    parser.delegate = counter
    return parser.parse() ? counter : nil
}

private func seriesPaths(_ counter: ElementCounter) -> [[String: String]] {
    counter.attributes["path", default: []].filter { $0["class"] == "series" }
}

@Test func chartIsWellFormedXML() throws {
    let chart = LineChart(
        series: [Series(name: "run", points: [(1, 0.1), (2, 0.4), (3, 0.35)])],
        title: "Reward", xLabel: "step", yLabel: "reward")
    let counter = try #require(parse(chart.svg()))
    #expect(counter.counts["svg"] == 1)
    #expect(seriesPaths(counter).count == 1)
    #expect(counter.counts["text", default: 0] > 6)  // title, axis labels, ticks, legend
}

/// A legend name as long as the demo's longest fits inside the view box
/// (the report once cut `zerosearch_fixed_noise` to `zerosearch_fixed_nois…`),
/// and the chart takes its container's width.
@Test func longLegendNamesFitAndChartsScaleToThePage() throws {
    let name = "zerosearch_prompt_sim_fixed_noise"
    let chart = LineChart(
        series: [Series(name: "run", points: [(1, 0.1), (2, 0.4)]), Series(name: name, points: [(1, 0.2), (2, 0.3)])],
        title: "Reward", xLabel: "step", yLabel: "reward")
    let counter = try #require(parse(chart.svg()))
    let svg = try #require(counter.attributes["svg"]?.first)
    #expect(svg["width"] == "100%")
    let viewWidth = try #require(svg["viewBox"].flatMap { Double($0.split(separator: " ")[2]) })
    let legendX = try #require(counter.attributes["text", default: []].compactMap { $0["x"].flatMap(Double.init) }.max())
    // At most 7 units a character at font size 11.
    #expect(legendX + 7 * Double(name.count) <= viewWidth, "legend from x = \(legendX) in a \(viewWidth)-wide view box")
}

@Test func niceTickValues() {
    #expect(niceTicks([0.03, 0.97]) == [0, 0.2, 0.4, 0.6, 0.8, 1])
    #expect(niceTicks([1, 10], integral: true) == [0, 2, 4, 6, 8, 10])
    #expect(niceTicks([1, 3], integral: true) == [1, 2, 3])
    #expect(niceTicks([0, 0.0004]) == [0, 0.0001, 0.0002, 0.0003, 0.0004])
    #expect(niceTicks([120, 480]) == [100, 200, 300, 400, 500])
    // A flat or empty metric still gets an axis that encloses it.
    let flat = niceTicks([2, 2])
    #expect(flat.first! < 2 && flat.last! > 2)
    #expect(niceTicks([]).count >= 2)
}

@Test func twoRunsOverlaidGiveTwoPathsAndTwoColours() throws {
    let chart = LineChart(
        series: [Series(name: "a", points: [(1, 1), (2, 2)]), Series(name: "b", points: [(1, 3), (2, 1)])],
        title: "KL", xLabel: "step", yLabel: "KL")
    let paths = seriesPaths(try #require(parse(chart.svg())))
    #expect(paths.count == 2)
    #expect(Set(paths.compactMap { $0["stroke"] }).count == 2)
}

@Test func namesAreEscaped() throws {
    let name = "run <a> & \"b\""
    let chart = LineChart(series: [Series(name: name, points: [(1, 1), (2, 2)])], title: "x<y & z", xLabel: "<", yLabel: "&")
    let svg = chart.svg()
    #expect(!svg.contains("<a>"))
    #expect(svg.contains("run &lt;a&gt; &amp; &quot;b&quot;"))
    #expect(parse(svg) != nil)
}

@Test func nonFiniteValuesBreakTheLine() throws {
    let chart = LineChart(
        series: [Series(name: "r", points: [(1, 1), (2, .nan), (3, 2), (4, 3), (5, .infinity), (6, 1)])],
        title: "t", xLabel: "x", yLabel: "y")
    let svg = chart.svg()
    let counter = try #require(parse(svg))
    let d = try #require(seriesPaths(counter).first?["d"])
    #expect(d.allSatisfy { "ML0123456789.,-".contains($0) })  // no "nan" or "inf" coordinates
    #expect(d.filter { $0 == "M" }.count == 1)  // only 3–4 is a line
    #expect(counter.counts["circle"] == 2)  // steps 1 and 6 stand alone
}

@Test func reportFromRunFolder() throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("report-test-\(UUID())/run<&>")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder.deletingLastPathComponent()) }
    // Four charted metrics; kl only at some steps, the last line cut off as by a run still writing.
    let lines =
        (1...5).map { step in
            "{\"step\":\(step),\"reward_mean\":\(Double(step) / 10),\"f1\":0.\(step),\"entropy\":2.5,\"seconds\":30"
                + (step % 2 == 0 ? ",\"kl\":0.01}" : "}")
        } + ["{\"step\":6,\"rew"]
    try lines.joined(separator: "\n").write(to: folder.appendingPathComponent("metrics.jsonl"), atomically: true, encoding: .utf8)
    try "policy:\n  model: <smol & lm>\n".write(to: folder.appendingPathComponent("config.yaml"), atomically: true, encoding: .utf8)
    try """
    {"rows": [{"method": "Direct", "single_hop": {"subem": 0.2, "f1": 0.25}, "two_hop": {"subem": 0.1, "f1": 0.12},
               "overall": {"subem": 0.15, "f1": 0.18}}]}
    """.write(to: folder.appendingPathComponent("results.json"), atomically: true, encoding: .utf8)

    let run = try RunFolder(contentsOf: folder)
    #expect(run.steps.count == 5 && run.unreadableLines == 1)
    let html = Report(runs: [run]).html()
    let counter = try #require(parse(html))
    #expect(counter.counts["svg"] == 5)  // four metrics and the results as bars
    #expect(counter.counts["table"] == 2)
    let bars = counter.attributes["rect", default: []].filter { $0["class"] == "bar" }
    #expect(bars.count == 3, "Direct: single-hop, two-hop and overall substring EM")
    #expect(counter.counts["details"] == 1)
    #expect(html.contains("single_hop.f1") && html.contains("Direct") && html.contains("&lt;smol &amp; lm&gt;"))
    #expect(html.contains("2m 30s"))
    #expect(!html.contains("<script") && !html.contains("src="))
}

@Test func perSourceTableGetsARowPerSource() throws {
    let json = try JSONValue.parse(#"{"nq": {"f1": 0.3, "n": 10}, "popqa": {"f1": 0.2, "n": 5}}"#)
    let html = Report(runs: [RunFolder(name: "eval", steps: [], tables: [(file: "eval.json", json: json)])]).html()
    let counter = try #require(parse(html))
    #expect(counter.counts["tr"] == 3)  // the table's header and two sources; no run summary for a folder without steps
    #expect(!html.contains("<h2>Runs</h2>"))
    #expect(counter.counts["svg"] == nil)
}
