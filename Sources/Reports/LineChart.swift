import Foundation

/// One line of a chart. Points with a non-finite coordinate are gaps: the line
/// breaks there instead of being drawn through a value that was never measured.
public struct Series: Sendable {
    public var name: String
    public var points: [(x: Double, y: Double)]
    /// Fixed by the caller so that a run keeps its colour across charts even when
    /// another run lacks the metric; nil takes the palette colour of the position.
    public var colour: String?

    public init(name: String, points: [(x: Double, y: Double)], colour: String? = nil) {
        self.name = name
        self.points = points
        self.colour = colour
    }

    var finitePoints: [(x: Double, y: Double)] { points.filter { $0.x.isFinite && $0.y.isFinite } }
}

/// Tableau 10: distinct on screen and in greyscale print, and safe for the common colour-vision deficiencies.
public let chartPalette = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
]

/// A line chart as standalone SVG: no script and no external resource, so a
/// report stays readable offline and in any browser or XML tool.
public struct LineChart: Sendable {
    public var series: [Series]
    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var width = 640.0
    public var height = 360.0
    /// Steps are whole numbers; a tick at step 2.5 would name a step that never happened.
    public var integralX = true

    public init(series: [Series], title: String, xLabel: String, yLabel: String) {
        self.series = series
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
    }

    // Room for tick labels and axis titles on the left and bottom, the title above.
    private let left = 64.0, top = 36.0, bottom = 48.0

    /// The legend's column on the right: wide enough for the longest name
    /// (11-pixel sans-serif runs at most about 7 pixels a character), so no
    /// name is cut.
    var right: Double { max(150, 44 + 7 * Double(series.map(\.name.count).max() ?? 0)) }

    /// The chart scales to its container's width (`width="100%"`, the
    /// aspect ratio kept by the view box); `width` is the view box's, widened
    /// when a long legend would leave the plot under 400 units.
    public func svg() -> String {
        let width = max(self.width, left + 400 + right)
        let all = series.flatMap(\.finitePoints)
        let xTicks = niceTicks(all.map(\.x), integral: integralX)
        let yTicks = niceTicks(all.map(\.y), integral: false)
        let plotW = width - left - right
        let plotH = height - top - bottom
        let (x0, x1) = (xTicks.first!, xTicks.last!)
        let (y0, y1) = (yTicks.first!, yTicks.last!)
        func px(_ x: Double) -> Double { left + (x - x0) / (x1 - x0) * plotW }
        func py(_ y: Double) -> Double { top + plotH - (y - y0) / (y1 - y0) * plotH }

        var out = """
            <svg xmlns="http://www.w3.org/2000/svg" width="100%" \
            viewBox="0 0 \(fmt(width)) \(fmt(height))" role="img" font-family="sans-serif" font-size="11">
            <title>\(xmlEscape(title))</title>
            <text x="\(fmt(left + plotW / 2))" y="20" text-anchor="middle" font-size="14" font-weight="bold">\(xmlEscape(title))</text>

            """
        let xDecimals = tickDecimals(xTicks)
        let yDecimals = tickDecimals(yTicks)
        for t in xTicks {
            let x = fmt(px(t))
            out += "<line x1=\"\(x)\" y1=\"\(fmt(top))\" x2=\"\(x)\" y2=\"\(fmt(top + plotH + 4))\" stroke=\"#e5e5e5\"/>\n"
            out += "<text x=\"\(x)\" y=\"\(fmt(top + plotH + 16))\" text-anchor=\"middle\">\(tickLabel(t, xDecimals))</text>\n"
        }
        for t in yTicks {
            let y = fmt(py(t))
            out += "<line x1=\"\(fmt(left - 4))\" y1=\"\(y)\" x2=\"\(fmt(left + plotW))\" y2=\"\(y)\" stroke=\"#e5e5e5\"/>\n"
            out +=
                "<text x=\"\(fmt(left - 7))\" y=\"\(y)\" text-anchor=\"end\" dominant-baseline=\"middle\">\(tickLabel(t, yDecimals))</text>\n"
        }
        out += """
            <path d="M\(fmt(left)),\(fmt(top))V\(fmt(top + plotH))H\(fmt(left + plotW))" fill="none" stroke="#333"/>
            <text x="\(fmt(left + plotW / 2))" y="\(fmt(height - 10))" text-anchor="middle">\(xmlEscape(xLabel))</text>
            <text transform="translate(14,\(fmt(top + plotH / 2))) rotate(-90)" text-anchor="middle">\(xmlEscape(yLabel))</text>

            """
        for (i, s) in series.enumerated() {
            let colour = xmlEscape(s.colour ?? chartPalette[i % chartPalette.count])
            let (d, isolated) = pathData(s.points, px: px, py: py)
            if !d.isEmpty {
                out +=
                    "<path class=\"series\" d=\"\(d)\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\" stroke-linejoin=\"round\"/>\n"
            }
            // A lone point between gaps has no line to show it.
            for (x, y) in isolated {
                out += "<circle cx=\"\(fmt(x))\" cy=\"\(fmt(y))\" r=\"3\" fill=\"\(colour)\"/>\n"
            }
            let ly = top + 8 + Double(i) * 18
            out += "<rect x=\"\(fmt(width - right + 12))\" y=\"\(fmt(ly - 5))\" width=\"14\" height=\"10\" fill=\"\(colour)\"/>\n"
            out += "<text x=\"\(fmt(width - right + 32))\" y=\"\(fmt(ly))\" dominant-baseline=\"middle\">\(xmlEscape(s.name))</text>\n"
        }
        return out + "</svg>"
    }

    /// Path commands with a fresh move-to after every gap, and the points that stand alone.
    private func pathData(
        _ points: [(x: Double, y: Double)], px: (Double) -> Double,
        py: (Double) -> Double
    ) -> (String, [(Double, Double)]) {
        var runs: [[(Double, Double)]] = [[]]
        for p in points {
            if p.x.isFinite && p.y.isFinite {
                runs[runs.count - 1].append((px(p.x), py(p.y)))
            } else if !runs.last!.isEmpty {
                runs.append([])
            }
        }
        let lines = runs.filter { $0.count > 1 }
        let d = lines.map { run in
            run.enumerated().map { ($0.offset == 0 ? "M" : "L") + "\(fmt($0.element.0)),\(fmt($0.element.1))" }.joined()
        }.joined()
        return (d, runs.filter { $0.count == 1 }.map { $0[0] })
    }
}

/// Round tick values (1, 2 or 5 times a power of ten apart, Heckbert's "nice
/// numbers") whose first and last enclose every value, about `target` of them. An
/// empty or flat range still gets an axis, so a metric that never moved is drawn
/// rather than divided by zero.
public func niceTicks(_ values: [Double], target: Int = 5, integral: Bool = false) -> [Double] {
    let finite = values.filter(\.isFinite)
    var lo = finite.min() ?? 0
    var hi = finite.max() ?? 1
    if hi == lo {
        let pad = lo == 0 ? 1 : abs(lo) * 0.1
        (lo, hi) = (lo - pad, hi + pad)
    }
    let rough = (hi - lo) / Double(max(target - 1, 1))
    var exponent = Int(floor(log10(rough)))
    let fraction = rough / pow(10, Double(exponent))
    var mantissa = fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10
    if integral && exponent < 0 { (mantissa, exponent) = (1, 0) }
    // Whole multiples divided by an exact power of ten: 6 / 10 is the double nearest 0.6, 3 * 0.2 is not.
    let scale = pow(10, Double(abs(exponent)))
    func tick(_ i: Int) -> Double { exponent < 0 ? Double(i * mantissa) / scale : Double(i * mantissa) * scale }
    let step = Double(mantissa) * (exponent < 0 ? 1 / scale : scale)
    return (Int(floor(lo / step + 1e-9))...Int(ceil(hi / step - 1e-9))).map(tick)
}

/// Decimals that tell neighbouring ticks apart and no more.
private func tickDecimals(_ ticks: [Double]) -> Int {
    guard ticks.count > 1 else { return 0 }
    return max(0, Int(-floor(log10(ticks[1] - ticks[0]) + 1e-9)))
}

private func tickLabel(_ value: Double, _ decimals: Int) -> String {
    // Adding zero turns -0.0 into 0.0 so no tick reads "-0".
    String(format: "%.\(decimals)f", value + 0.0)
}

/// Coordinates to two decimals: sub-pixel enough, and a tenth of the bytes of `description`.
func fmt(_ v: Double) -> String {
    let s = String(format: "%.2f", v)
    guard s.contains(".") else { return s }
    let trimmed = s.reversed().drop { $0 == "0" }.drop { $0 == "." }
    return String(trimmed.reversed())
}

/// Text and attribute values for XML (and so for XHTML and inline SVG).
public func xmlEscape(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for c in text {
        switch c {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&apos;"
        default: out.append(c)
        }
    }
    return out
}
