import Engine
import Foundation
import NN

/// Writes a network as ONNX or safetensors by what it is: a zoo architecture
/// (torchvision keys, the spec in the metadata) or an imported ONNX graph (the source's graph
/// name; safetensors under the state_dict keys of its PyTorch module tree, with
/// ``MetadataKey/importedFrom``). Both are written by ``ONNXExport`` from the network's steps.
public enum NetworkFiles {
    /// `model` must be what `network` builds.
    public static func writeONNX(_ model: ClassifierModel, network: NetworkSpec, imageShape: [Int], to path: String,
                                 metadata: [String: String] = [:]) throws {
        switch network {
        case .zoo(let spec):
            try ONNXExport.write(model, spec: spec, imageShape: imageShape, to: path, metadata: metadata)
        case .imported(let spec):
            let net = imported(model)
            try ONNXExport.write(net, name: spec.source.graph.name.isEmpty ? spec.name : spec.source.graph.name, to: path,
                                         metadata: WeightsIO.metadata(for: spec, extra: metadata))
        }
    }

    public static func writeSafetensors(_ model: ClassifierModel, network: NetworkSpec, to path: String, metadata: [String: String] = [:]) throws {
        switch network {
        case .zoo(let spec): try WeightsIO.save(model, spec: spec, to: path, extra: metadata)
        case .imported(let spec): try WeightsIO.save(imported(model), metadata: WeightsIO.metadata(for: spec, extra: metadata), to: path)
        }
    }

    private static func imported(_ model: ClassifierModel) -> GraphNetwork {
        guard let net = model as? GraphNetwork, net.fixedImageShape != nil else { preconditionFailure("NetworkFiles: an imported spec with a \(type(of: model))") }
        return net
    }
}
