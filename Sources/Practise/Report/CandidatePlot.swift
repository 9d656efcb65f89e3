import Foundation

/// An SVG scatter plot of every candidate's recoverability (y) against its latency reduction (x),
/// with the dropped blocks highlighted and labelled.
public enum CandidatePlot {
    public static func svg(_ scores: [CandidateScore], dropped: [String], title: String) -> String {
        let w = 640.0, h = 420.0, left = 70.0, right = 20.0, top = 40.0, bottom = 50.0
        let xs = scores.map(\.latencyReduction), ys = scores.map(\.recoverability)
        let xMax = max((xs.max() ?? 1) * 1.1, 1e-6), yMax = max((ys.max() ?? 1) * 1.1, 1e-9)
        func px(_ x: Double) -> Double { left + x / xMax * (w - left - right) }
        func py(_ y: Double) -> Double { h - bottom - y / yMax * (h - top - bottom) }
        var s = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(w))" height="\(Int(h))" viewBox="0 0 \(Int(w)) \(Int(h))" font-family="sans-serif" font-size="11">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(w / 2)" y="20" text-anchor="middle" font-size="14">\(escape(title))</text>
        <line x1="\(left)" y1="\(h - bottom)" x2="\(w - right)" y2="\(h - bottom)" stroke="black"/>
        <line x1="\(left)" y1="\(top)" x2="\(left)" y2="\(h - bottom)" stroke="black"/>
        <text x="\((left + w - right) / 2)" y="\(h - 12)" text-anchor="middle">latency reduction of dropping the block alone (%)</text>
        <text x="16" y="\((top + h - bottom) / 2)" text-anchor="middle" transform="rotate(-90 16 \((top + h - bottom) / 2))">recoverability (feature MSE)</text>

        """
        for i in 0...4 {
            let xv = xMax * Double(i) / 4, yv = yMax * Double(i) / 4
            s += "<text x=\"\(px(xv))\" y=\"\(h - bottom + 15)\" text-anchor=\"middle\">\(String(format: "%.1f", xv))</text>\n"
            s += "<text x=\"\(left - 5)\" y=\"\(py(yv) + 4)\" text-anchor=\"end\">\(String(format: "%.3g", yv))</text>\n"
        }
        for c in scores {
            let chosen = dropped.contains(c.block)
            s += "<circle cx=\"\(px(c.latencyReduction))\" cy=\"\(py(c.recoverability))\" r=\"\(chosen ? 6 : 4)\" fill=\"\(chosen ? "#d62728" : "#1f77b4")\" fill-opacity=\"0.8\"><title>\(escape(c.block)): score \(String(format: "%.4g", c.score))</title></circle>\n"
            s += "<text x=\"\(px(c.latencyReduction) + 7)\" y=\"\(py(c.recoverability) - 5)\" fill=\"\(chosen ? "#d62728" : "#555")\">\(escape(c.block))</text>\n"
        }
        s += "<text x=\"\(w - right)\" y=\"\(top)\" text-anchor=\"end\" fill=\"#d62728\">● dropped</text>\n"
        return s + "</svg>\n"
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
