import Foundation
@testable import Practise
import XCTest

final class CandidatePlotTests: XCTestCase {
    /// The example: two stages of blocks with equal latency (and so equal x), one pair
    /// with nearly equal recoverability too.
    let scores = [
        CandidateScore(block: "layer1.1", recoverability: 0.0102, latency: LatencyInterval(value: 11.4, low: 10.9, high: 12.0)),
        CandidateScore(block: "layer1.2", recoverability: 0.0104, latency: LatencyInterval(value: 11.4, low: 10.9, high: 12.0)),
        CandidateScore(block: "layer2.1", recoverability: 0.0191, latency: LatencyInterval(value: 10.3, low: 9.4, high: 11.1)),
        CandidateScore(block: "layer2.2", recoverability: 0.0138, latency: LatencyInterval(value: 10.3, low: 9.4, high: 11.1)),
        CandidateScore(block: "layer3.1", recoverability: 0.0411, latency: LatencyInterval(value: 8.6, low: 7.4, high: 9.7)),
        CandidateScore(block: "layer3.2", recoverability: 0.0297, latency: LatencyInterval(value: 8.6, low: 7.4, high: 9.7)),
    ]

    func testTicksAreRound() {
        XCTAssertEqual(CandidatePlot.niceTicks(max: 12), [0, 5, 10, 15])
        XCTAssertEqual(CandidatePlot.niceTicks(max: 11.6), [0, 5, 10, 15])
        XCTAssertEqual(CandidatePlot.niceTicks(max: 0.0411).map { ($0 * 100).rounded() / 100 }, [0, 0.01, 0.02, 0.03, 0.04, 0.05])
        XCTAssertEqual(CandidatePlot.niceTicks(max: 3.9), [0, 1, 2, 3, 4])
        XCTAssertEqual(CandidatePlot.tickLabel(0.02, ticks: [0, 0.01, 0.02]), "0.02")
        XCTAssertEqual(CandidatePlot.tickLabel(10, ticks: [0, 5, 10]), "10")
    }

    /// Labels are drawn where they overlap neither another label, a point nor a score-line
    /// label, inside the data area; the legend is right of it; error bars and score lines drawn.
    func testLabelsDoNotCollideAndTheLegendIsOutside() throws {
        let svg = CandidatePlot.svg(scores, dropped: ["layer1.1", "layer1.2"], title: "resnet20")
        if let dir = ProcessInfo.processInfo.environment["PRACTISE_PLOT_DIR"] {
            try svg.write(toFile: dir + "/candidates-example.svg", atomically: true, encoding: .utf8)
        }
        var boxes: [CandidatePlot.Box] = []
        let labels = ["layer1.1", "layer1.2", "layer2.1", "layer2.2", "layer3.1", "layer3.2"]
        for line in svg.split(separator: "\n") where labels.contains(where: { line.hasSuffix(">\($0)</text>") }) {
            let x = try XCTUnwrap(Double(String(line).between("x=\"", "\"")))
            let y = try XCTUnwrap(Double(String(line).between("y=\"", "\"")))
            let text = String(line).between("\">", "</text>")
            let box = CandidatePlot.Box(x0: x, y0: y - 9, x1: x + Double(text.count) * CandidatePlot.charWidth, y1: y + 3)
            XCTAssertTrue(box.x1 <= CandidatePlot.right && box.x0 >= CandidatePlot.left, "\(text) inside the data area")
            for b in boxes { XCTAssertFalse(b.intersects(box), "\(text) collides") }
            boxes.append(box)
        }
        XCTAssertEqual(boxes.count, 6)
        XCTAssert(svg.contains(">dropped</text>"))
        let legend = try XCTUnwrap(svg.split(separator: "\n").first { $0.contains(">dropped</text>") })
        XCTAssertGreaterThan(try XCTUnwrap(Double(String(legend).between("cx=\"", "\""))), CandidatePlot.right)
        XCTAssertEqual(svg.components(separatedBy: "stroke-dasharray=\"4 3\"").count - 1, CandidatePlot.scoreLevels(scores).count + 1)
        XCTAssertGreaterThanOrEqual(CandidatePlot.scoreLevels(scores).count, 2)
        XCTAssertEqual(svg.components(separatedBy: "<path d=\"M").count - 1, 6 + 1, "one error bar per candidate, one in the legend")
    }

    /// Candidates at exactly the same spot share one label instead of printing on top of each other.
    func testCoincidentCandidatesShareOneLabel() {
        let same = [CandidateScore(block: "a", recoverability: 1, latency: LatencyInterval(exact: 5)),
                    CandidateScore(block: "b", recoverability: 1, latency: LatencyInterval(exact: 5))]
        XCTAssert(CandidatePlot.svg(same, dropped: [], title: "t").contains(">a, b</text>"))
    }
}

private extension String {
    func between(_ a: String, _ b: String) -> String {
        guard let r = range(of: a), let e = self[r.upperBound...].range(of: b) else { return "" }
        return String(self[r.upperBound..<e.lowerBound])
    }
}
