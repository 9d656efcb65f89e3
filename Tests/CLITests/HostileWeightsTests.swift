import Foundation
import XCTest

/// Issue 13, weights files that lie: metadata values that crashed, trapped or were silently
/// ignored, and tensors no network should run. Each is refused at load with the file, the
/// metadata key or tensor, what was expected and what was found; nothing is written.
final class HostileWeightsTests: CLITestCase {
    /// The tool's own ResNet-20 weights with metadata `edits` applied (nil removes a key).
    func edited(_ edits: [String: String?], name: String = "edited") throws -> String {
        var file = try EditableSafeTensors(contentsOf: try weights())
        for (k, v) in edits { file.setMetadata(k, v) }
        let path = work + "/\(name).safetensors"
        try file.write(to: path)
        return path
    }

    func testEveryMetadataValueIsCheckedAtLoad() throws {
        let mean = "practise.normalization.mean", std = "practise.normalization.std"
        let cases: [([String: String?], String)] = [
            (["practise.num_classes": "-3"], "metadata practise.num_classes must be an integer in 1...100000; found '-3'"),
            (["practise.num_classes": "0"], "metadata practise.num_classes must be an integer in 1...100000; found '0'"),
            (["practise.num_classes": "ten"], "metadata practise.num_classes must be an integer in 1...100000; found 'ten'"),
            (["practise.num_classes": "99999999999999999999"], "metadata practise.num_classes must be an integer in 1...100000"),
            (["practise.in_channels": "-1"], "metadata practise.in_channels must be an integer in 1...1024; found '-1'"),
            (["practise.in_channels": "0"], "metadata practise.in_channels must be an integer in 1...1024; found '0'"),
            (["practise.architecture": "vgg16"], "metadata practise.architecture must be one of resnet18, "),
            (["practise.dropped_blocks": "layer9.9"], "metadata practise.dropped_blocks must be droppable blocks of resnet20 (layer1.1, layer1.2, layer2.1, layer2.2, layer3.1, layer3.2); found 'layer9.9'"),
            (["practise.dropped_blocks": "layer2.0"], "metadata practise.dropped_blocks must be droppable blocks of resnet20"),
            (["practise.dropped_blocks": "layer1.1,,layer1.2"], "metadata practise.dropped_blocks must be distinct block paths, comma-separated"),
            (["practise.dropped_blocks": "layer1.1,layer1.1"], "metadata practise.dropped_blocks must be distinct block paths, comma-separated"),
            ([mean: "0.5", std: "0"], "metadata practise.normalization.std must be finite numbers of at least 0.001; found '0'"),
            ([mean: "0.5", std: "-1"], "metadata practise.normalization.std must be finite numbers of at least 0.001; found '-1'"),
            ([mean: "0.5", std: "inf"], "metadata practise.normalization.std must be finite numbers of at least 0.001; found 'inf'"),
            ([mean: "nan", std: "1"], "metadata practise.normalization.mean must be finite numbers; found 'nan'"),
            ([mean: "0.5,x", std: "1,1"], "metadata practise.normalization.mean must be comma-separated numbers, one per channel; found '0.5,x'"),
            ([mean: "0.5", std: "1,1"], "metadata practise.normalization.std must be as many values as practise.normalization.mean (1); found '1,1'"),
            ([mean: "0.5,0.5", std: "1,1"], "metadata practise.normalization.mean must be 1 value (the model takes 1-channel images); found '0.5,0.5'"),
            ([mean: "0.5"], "metadata practise.normalization.std must be given with practise.normalization.mean (one value per channel); found nothing"),
            (["practise.inner_widths": "[1]"], "metadata practise.inner_widths must be a JSON object of inner-channel site → width"),
            (["practise.inner_widths": #"{"layer1.0.conv1":1.5}"#], "metadata practise.inner_widths must be a JSON object of inner-channel site → width"),
            (["practise.inner_widths": #"{"layer1.0.conv1":0}"#], "metadata practise.inner_widths must be a width in 1...16 for layer1.0.conv1; found 'layer1.0.conv1: 0'"),
            (["practise.inner_widths": #"{"layer9.0.conv1":3}"#], "metadata practise.inner_widths must be inner-channel sites of resnet20"),
            (["practise.kept_channels": #"{"layer1.0.conv1":[0,1,99]}"#], "metadata practise.kept_channels must be 16 distinct filter indices in 0..<16 for layer1.0.conv1"),
            (["practise.kept_channels": "zero"], "metadata practise.kept_channels must be a JSON object of inner-channel site → kept filter indices"),
        ]
        for (edits, message) in cases {
            let w = try edited(edits)
            try assertRefused(["eval", "--weights", w, "--data", "bundled", "--limit", "10", "--json", work + "/e.json"], "\(w): " + message)
        }
        // Every command reads weights through the same check.
        let w = try edited(["practise.num_classes": "-3"])
        let expected = "\(w): metadata practise.num_classes must be an integer in 1...100000; found '-3'"
        try assertRefused(["compress", "--weights", w, "--data", "bundled", "--blocks", "layer1.1", "--out", work + "/o"], expected)
        try assertRefused(["analyze", "--weights", w, "--data", "bundled", "--out", work + "/a"], expected)
        try assertRefused(["latency", "--weights", w, "--runs", "1"], expected)
        try assertRefused(["export", "--weights", w, "--out", work + "/m.onnx"], expected)
    }

    func testTensorsHoldingNaNOrInfinityAreNamedAtLoad() throws {
        var file = try EditableSafeTensors(contentsOf: try weights())
        file.setValue("conv1.weight", at: 3, .nan)
        file.setValue("conv1.weight", at: 7, .infinity)
        file.setValue("fc.bias", at: 0, -.infinity)
        let w = work + "/nan.safetensors"
        try file.write(to: w)
        let message = "\(w): 2 tensors hold NaN or infinity: conv1.weight (2 of 144 values), fc.bias (1 of 10 values)"
        try assertRefused(["eval", "--weights", w, "--data", "bundled", "--limit", "10"], message)
        try assertRefused(["compress", "--weights", w, "--data", "bundled", "--blocks", "layer1.1", "--out", work + "/o"], message)
    }

    /// A negative running variance was reported later as a diverged finetuning ("try a lower --lr").
    func testANegativeBatchNormVarianceIsRefusedAtLoadNamingTheTensor() throws {
        var file = try EditableSafeTensors(contentsOf: try weights())
        file.setValue("layer1.0.bn1.running_var", at: 3, -0.5)
        let w = work + "/negvar.safetensors"
        try file.write(to: w)
        let message = "\(w): BatchNorm variance below zero in layer1.0.bn1.running_var (1 of 16 entries, e.g. -0.5)"
        try assertRefused(["compress", "--weights", w, "--data", "bundled", "--blocks", "layer1.1", "--finetune-iterations", "1",
                           "--num-samples", "10", "--out", work + "/o"], message)
        try assertRefused(["eval", "--weights", w, "--data", "bundled", "--limit", "10"], message)
    }
}
