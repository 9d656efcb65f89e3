import Foundation

/// An SVG scatter plot of every candidate's recoverability (y) against its latency reduction (x):
/// horizontal error bars for the latency's 95% interval, dashed lines of equal score (score =
/// recoverability ÷ latency reduction is the slope of the line through the origin, so points
/// below a line rank before points above it), the dropped blocks highlighted, labels placed so
/// they do not collide, round ticks, and the legend to the right of the data area.
public enum CandidatePlot {
    static let width = 760.0, height = 440.0
    /// The data area.
    static let left = 70.0, right = 560.0, top = 40.0, bottom = 390.0
    /// Approximate advance of one character at the labels' 11 px size.
    static let charWidth = 6.3, lineHeight = 12.0

    public static func svg(_ scores: [CandidateScore], dropped: [String], title: String) -> String {
        let xTicks = niceTicks(max: max(scores.map(\.latencyHigh).max() ?? 1, 1e-6))
        let yTicks = niceTicks(max: max(scores.map(\.recoverability).max() ?? 1, 1e-12))
        let xMax = xTicks.last!, yMax = yTicks.last!
        func px(_ x: Double) -> Double { left + x / xMax * (right - left) }
        func py(_ y: Double) -> Double { bottom - y / yMax * (bottom - top) }
        var s = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="11">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\((left + right) / 2)" y="22" text-anchor="middle" font-size="14">\(escape(title))</text>

        """
        // Grid, ticks and axes.
        for t in xTicks {
            s += "<line x1=\"\(f(px(t)))\" y1=\"\(top)\" x2=\"\(f(px(t)))\" y2=\"\(bottom)\" stroke=\"#eee\"/>\n"
            s += "<text x=\"\(f(px(t)))\" y=\"\(bottom + 15)\" text-anchor=\"middle\">\(tickLabel(t, ticks: xTicks))</text>\n"
        }
        for t in yTicks {
            s += "<line x1=\"\(left)\" y1=\"\(f(py(t)))\" x2=\"\(right)\" y2=\"\(f(py(t)))\" stroke=\"#eee\"/>\n"
            s += "<text x=\"\(left - 5)\" y=\"\(f(py(t) + 4))\" text-anchor=\"end\">\(tickLabel(t, ticks: yTicks))</text>\n"
        }
        s += """
        <line x1="\(left)" y1="\(bottom)" x2="\(right)" y2="\(bottom)" stroke="black"/>
        <line x1="\(left)" y1="\(top)" x2="\(left)" y2="\(bottom)" stroke="black"/>
        <text x="\((left + right) / 2)" y="\(bottom + 38)" text-anchor="middle">latency reduction of dropping the block alone (%)</text>
        <text x="16" y="\((top + bottom) / 2)" text-anchor="middle" transform="rotate(-90 16 \((top + bottom) / 2))">recoverability (feature MSE)</text>

        """
        // Lines of equal score y = score · x, clipped to the data area, labelled at their end.
        var occupied: [Box] = []
        for score in scoreLevels(scores) {
            let xEnd = min(xMax, yMax / score), yEnd = score * xEnd
            s += "<line x1=\"\(f(px(0)))\" y1=\"\(f(py(0)))\" x2=\"\(f(px(xEnd)))\" y2=\"\(f(py(yEnd)))\" stroke=\"#999\" stroke-dasharray=\"4 3\"/>\n"
            let text = "score \(compact(score))"
            let w = Double(text.count) * charWidth
            let (lx, ly) = xEnd < xMax ? (px(xEnd) - w - 2, py(yEnd) + 12) : (px(xEnd) - w - 2, py(yEnd) - 4)
            s += "<text x=\"\(f(lx))\" y=\"\(f(ly))\" fill=\"#888\">\(text)</text>\n"
            occupied.append(Box(x0: lx, y0: ly - 10, x1: lx + w, y1: ly + 2))
        }
        // Points with error bars; candidates at the same spot share one label.
        var groups: [(x: Double, y: Double, names: [String], chosen: Bool, c: CandidateScore)] = []
        for c in scores.sorted(by: { $0.block < $1.block }) {
            let x = px(c.latencyReduction), y = py(c.recoverability)
            if let i = groups.firstIndex(where: { abs($0.x - x) < 0.5 && abs($0.y - y) < 0.5 && $0.chosen == dropped.contains(c.block) }) {
                groups[i].names.append(c.block)
            } else {
                groups.append((x, y, [c.block], dropped.contains(c.block), c))
            }
        }
        for g in groups {
            occupied.append(Box(x0: g.x - 6, y0: g.y - 6, x1: g.x + 6, y1: g.y + 6))
            occupied.append(Box(x0: px(g.c.latencyLow) - 1, y0: g.y - 5, x1: px(g.c.latencyHigh) + 1, y1: g.y + 5))  // error bar
        }
        for g in groups {
            let color = g.chosen ? "#d62728" : "#1f77b4"
            let lo = px(g.c.latencyLow), hi = px(g.c.latencyHigh)
            if hi - lo > 0.5 {
                s += "<path d=\"M\(f(lo)) \(f(g.y))H\(f(hi))M\(f(lo)) \(f(g.y - 4))v8M\(f(hi)) \(f(g.y - 4))v8\" stroke=\"\(color)\" fill=\"none\"/>\n"
            }
            let tip = g.names.map { n in
                let c = scores.first { $0.block == n }!
                return String(format: "%@: recoverability %.4g, latency reduction %.2f%% (%.2f–%.2f), score %.4g",
                              n, c.recoverability, c.latencyReduction, c.latencyLow, c.latencyHigh, c.score)
            }.joined(separator: "; ")
            s += "<circle cx=\"\(f(g.x))\" cy=\"\(f(g.y))\" r=\"\(g.chosen ? 6 : 4)\" fill=\"\(color)\" fill-opacity=\"0.85\"><title>\(escape(tip))</title></circle>\n"
        }
        for g in groups {
            let text = g.names.joined(separator: ", ")
            let box = placeLabel(width: Double(text.count) * charWidth, at: (g.x, g.y), avoiding: occupied)
            occupied.append(box)
            s += "<text x=\"\(f(box.x0))\" y=\"\(f(box.y1 - 3))\" fill=\"\(g.chosen ? "#d62728" : "#333")\">\(escape(text))</text>\n"
        }
        // Legend, right of the data area.
        let lx = right + 24
        s += """
        <circle cx="\(lx)" cy="\(top + 6)" r="6" fill="#d62728" fill-opacity="0.85"/><text x="\(lx + 12)" y="\(top + 10)">dropped</text>
        <circle cx="\(lx)" cy="\(top + 26)" r="4" fill="#1f77b4" fill-opacity="0.85"/><text x="\(lx + 12)" y="\(top + 30)">kept</text>
        <path d="M\(lx - 8) \(top + 46)H\(lx + 8)M\(lx - 8) \(top + 42)v8M\(lx + 8) \(top + 42)v8" stroke="#1f77b4" fill="none"/><text x="\(lx + 12)" y="\(top + 50)">95% interval of the latency</text>
        <line x1="\(lx - 8)" y1="\(top + 66)" x2="\(lx + 8)" y2="\(top + 66)" stroke="#999" stroke-dasharray="4 3"/><text x="\(lx + 12)" y="\(top + 70)">equal score</text>
        <text x="\(lx - 8)" y="\(top + 92)" fill="#555">score = recoverability ÷</text>
        <text x="\(lx - 8)" y="\(top + 106)" fill="#555">latency reduction; lowest</text>
        <text x="\(lx - 8)" y="\(top + 120)" fill="#555">first (below the lines)</text>

        """
        return s + "</svg>\n"
    }

    /// An axis-aligned box in SVG coordinates.
    struct Box {
        var x0: Double, y0: Double, x1: Double, y1: Double
        func intersects(_ o: Box) -> Bool { x0 < o.x1 && o.x0 < x1 && y0 < o.y1 && o.y0 < y1 }
        var inside: Bool { x0 >= left + 2 && x1 <= right - 2 && y0 >= top && y1 <= bottom - 2 }
    }

    /// The first of the positions around a point (right, left, above, below, the diagonals, then
    /// further out) where a label of `width` overlaps no occupied box and stays in the data area.
    static func placeLabel(width w: Double, at p: (Double, Double), avoiding occupied: [Box]) -> Box {
        let h = lineHeight
        var candidates: [Box] = []
        for step in 0..<6 {
            let d = 8 + Double(step) * h
            candidates += [
                Box(x0: p.0 + d, y0: p.1 - h / 2, x1: p.0 + d + w, y1: p.1 + h / 2),
                Box(x0: p.0 - d - w, y0: p.1 - h / 2, x1: p.0 - d, y1: p.1 + h / 2),
                Box(x0: p.0 - w / 2, y0: p.1 - d - h, x1: p.0 + w / 2, y1: p.1 - d),
                Box(x0: p.0 - w / 2, y0: p.1 + d, x1: p.0 + w / 2, y1: p.1 + d + h),
                Box(x0: p.0 + d, y0: p.1 - d - h, x1: p.0 + d + w, y1: p.1 - d),
                Box(x0: p.0 + d, y0: p.1 + d, x1: p.0 + d + w, y1: p.1 + d + h),
                Box(x0: p.0 - d - w, y0: p.1 - d - h, x1: p.0 - d, y1: p.1 - d),
                Box(x0: p.0 - d - w, y0: p.1 + d, x1: p.0 - d, y1: p.1 + d + h),
            ]
        }
        return candidates.first { b in b.inside && !occupied.contains { $0.intersects(b) } }
            ?? candidates.first { $0.inside } ?? candidates[0]
    }

    /// Round tick values from 0 covering `max`: steps of 1, 2 or 5 × 10ᵏ, 4–8 intervals.
    public static func niceTicks(max: Double) -> [Double] {
        let raw = max / 5
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
        let n = Int((max / step - 1e-9).rounded(.up))
        return (0...Swift.max(1, n)).map { Double($0) * step }
    }

    /// A tick label with as many decimals as the step needs (0, 5, 10 …; 0, 0.02, 0.04 …).
    static func tickLabel(_ v: Double, ticks: [Double]) -> String {
        let step = ticks.count > 1 ? ticks[1] - ticks[0] : 1
        let decimals = Swift.max(0, Int((-log10(step) - 1e-9).rounded(.up)))
        return String(format: "%.\(decimals)f", v)
    }

    /// Up to four round score levels (1, 2, 5 × 10ᵏ) spanning the candidates' finite scores.
    static func scoreLevels(_ scores: [CandidateScore]) -> [Double] {
        let finite = scores.map(\.score).filter { $0.isFinite && $0 > 0 }
        guard let lo = finite.min(), let hi = finite.max() else { return [] }
        var levels: [Double] = []
        var k = floor(log10(lo)) - 1
        while levels.count < 40 && pow(10, k) <= hi * 10 {
            for m in [1.0, 2, 5] {
                let v = m * pow(10, k)
                if v >= lo / 1.5 && v <= hi * 1.5 { levels.append(v) }
            }
            k += 1
        }
        if levels.count > 4 { levels = stride(from: 0, to: levels.count, by: Int((Double(levels.count) / 4).rounded(.up))).map { levels[$0] } }
        return levels
    }

    static func compact(_ v: Double) -> String { String(format: "%g", v) }
    static func f(_ v: Double) -> String { String(format: "%.1f", v) }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
