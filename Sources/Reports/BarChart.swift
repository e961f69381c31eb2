import Foundation

/// Grouped bars as standalone SVG: one group per label (a method), one bar
/// per series (single-hop, two-hop, overall) in each, values from 0 up. A
/// results table read at a glance, beside the table itself.
public struct BarChart: Sendable {
    public var groups: [String]
    /// Each series' name and its value in every group (nil: not measured, no bar).
    public var series: [(name: String, values: [Double?])]
    public var title: String
    public var yLabel: String

    public init(groups: [String], series: [(name: String, values: [Double?])], title: String, yLabel: String) {
        self.groups = groups
        self.series = series
        self.title = title
        self.yLabel = yLabel
    }

    public func svg() -> String {
        let left = 64.0
        let top = 36.0
        let legendHeight = 20.0
        // Group labels are written at 40°, so the bottom margin grows with the longest.
        let bottom = 24 + 5 * Double(groups.map(\.count).max() ?? 0)
        let gap = 18.0
        let bars = Double(max(series.count, 1))
        let width = max(640, left + 24 + Double(groups.count) * (bars * 14 + gap))
        let height = 320 + bottom
        let plotW = width - left - 24
        // The groups share the plot's width; bars widen with it, up to 28 units.
        let groupWidth = plotW / Double(max(groups.count, 1))
        let barWidth = min(28, (groupWidth - gap) / bars)
        let plotH = height - top - bottom - legendHeight
        let ticks = niceTicks([0] + series.flatMap { $0.values.compactMap { $0 } })
        let top0 = ticks.last!
        func py(_ value: Double) -> Double { top + legendHeight + plotH - value / top0 * plotH }

        var out = """
            <svg xmlns="http://www.w3.org/2000/svg" width="100%" viewBox="0 0 \(fmt(width)) \(fmt(height))" \
            role="img" font-family="sans-serif" font-size="11">
            <title>\(xmlEscape(title))</title>
            <text x="\(fmt(left + plotW / 2))" y="20" text-anchor="middle" font-size="14" font-weight="bold">\(xmlEscape(title))</text>

            """
        for tick in ticks {
            let y = fmt(py(tick))
            out += "<line x1=\"\(fmt(left - 4))\" y1=\"\(y)\" x2=\"\(fmt(left + plotW))\" y2=\"\(y)\" stroke=\"#e5e5e5\"/>\n"
            out += "<text x=\"\(fmt(left - 7))\" y=\"\(y)\" text-anchor=\"end\" dominant-baseline=\"middle\">\(number(tick))</text>\n"
        }
        let plotTop = top + legendHeight
        out +=
            "<text transform=\"translate(14,\(fmt(plotTop + plotH / 2))) rotate(-90)\" text-anchor=\"middle\">\(xmlEscape(yLabel))</text>\n"
        for (g, group) in groups.enumerated() {
            let x0 = left + Double(g) * groupWidth + (groupWidth - bars * barWidth) / 2
            for (s, entry) in series.enumerated() {
                guard g < entry.values.count, let value = entry.values[g] else { continue }
                let colour = chartPalette[s % chartPalette.count]
                let y = py(max(value, 0))
                out +=
                    "<rect class=\"bar\" x=\"\(fmt(x0 + Double(s) * barWidth))\" y=\"\(fmt(y))\" width=\"\(fmt(barWidth - 2))\" "
                    + "height=\"\(fmt(py(0) - y))\" fill=\"\(colour)\"><title>\(xmlEscape("\(group), \(entry.name): \(number(value))"))</title></rect>\n"
            }
            let labelX = x0 + bars * barWidth / 2
            out +=
                "<text transform=\"translate(\(fmt(labelX)),\(fmt(py(0) + 12))) rotate(40)\" text-anchor=\"start\">\(xmlEscape(group))</text>\n"
        }
        out += "<path d=\"M\(fmt(left)),\(fmt(plotTop))V\(fmt(py(0)))H\(fmt(left + plotW))\" fill=\"none\" stroke=\"#333\"/>\n"
        var legendX = left
        for (s, entry) in series.enumerated() {
            out +=
                "<rect x=\"\(fmt(legendX))\" y=\"\(fmt(top - 4))\" width=\"14\" height=\"10\" fill=\"\(chartPalette[s % chartPalette.count])\"/>\n"
            out += "<text x=\"\(fmt(legendX + 18))\" y=\"\(fmt(top + 1))\" dominant-baseline=\"middle\">\(xmlEscape(entry.name))</text>\n"
            legendX += 32 + 7 * Double(entry.name.count)
        }
        return out + "</svg>"
    }
}
