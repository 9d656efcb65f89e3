import Engine
import Foundation
import NN
import Practise
import XCTest

/// Models exported by `torch.onnx.export` (Scripts/make-onnx-import-parity.py, run by
/// Scripts/test) import into our engine with PyTorch's logits (batch 1 and 8, within 1e-4 of
/// the largest logit) and the candidate blocks the PyTorch module tree gives.
/// Skipped unless `PRACTISE_ONNX_PARITY_DIR` names the script's output folder.
final class ONNXImportParityTests: XCTestCase {
    func testExportedModels() throws {
        guard let dir = ProcessInfo.processInfo.environment["PRACTISE_ONNX_PARITY_DIR"] else {
            throw XCTSkip("set PRACTISE_ONNX_PARITY_DIR (Scripts/test does) to run the ONNX import parity checks")
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".onnx") }.sorted()
        XCTAssertFalse(files.isEmpty, "no .onnx files in \(dir)")
        for file in files {
            let name = String(file.prefix { $0 != "." })
            let base = (dir as NSString).appendingPathComponent(name)
            let io = try WeightsIO.load(base + ".io.safetensors").tensors
            let info = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: base + ".json"))) as! [String: Any]
            let net = try ONNXImporter.load(path: (dir as NSString).appendingPathComponent(file))
            net.eval()
            for b in [1, 8] {
                let expected = io["logits.b\(b)"]!
                let logits = Autograd.noGrad { net(io["input.b\(b)"]!) }
                XCTAssertEqual(logits.shape, expected.shape, "\(file) batch \(b)")
                var worst: Float = 0
                for i in 0..<min(expected.count, logits.count) { worst = max(worst, abs(logits.pointer[i] - expected.pointer[i])) }
                XCTAssertLessThanOrEqual(worst, 1e-4 * expected.maxAbs, "\(file) batch \(b): max |Δlogit| \(worst), max |logit| \(expected.maxAbs)")
                print("\(file) batch \(b): max |Δlogit| \(worst) (max |logit| \(expected.maxAbs))")
            }
            let found = Candidates.find(in: net, imageShape: info["image"] as! [Int]).map(\.path)
            XCTAssertEqual(found, info["candidates"] as! [String], "\(file): candidates")
            print("\(file): \(net.blockPaths.count) blocks in \(net.stages.count) stages, candidates \(found)")
        }
    }
}
