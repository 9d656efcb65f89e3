import Foundation

/// Entry point: load any supported checkpoint file into a ``StateDict``.
public enum Checkpoint {
    /// Container formats recognised by ``detectFormat(_:pathExtension:)``.
    public enum Format: String, Sendable {
        /// `torch.save` zip archive (torch ≥ 1.6), usually `.pth` / `.pt`.
        case pytorchZip = "pytorch-zip"
        /// safetensors.
        case safetensors
        /// Pre-1.6 `torch.save` pickle (not supported; detected for a clear error).
        case legacyPyTorch = "legacy-pytorch"
        /// A bare pickle that is not a `torch.save` file.
        case pickle
        case unknown
    }

    /// Loads a PyTorch zip checkpoint or a safetensors file, choosing by
    /// the magic bytes (`PK\x03\x04` → zip; a JSON header → safetensors;
    /// a legacy torch pickle → a clear error) and, failing that, by the
    /// `.safetensors` extension.
    ///
    /// Errors are ``CheckpointError``s whose description starts with the
    /// path as given, e.g. `runs/model.pth: tensor 'fc.weight' needs 4096 bytes but storage 'data/3' has 1024`.
    public static func load(_ url: URL) throws -> StateDict {
        try withFileName(url.relativePath) {
            try decode(FileInput.read(url), pathExtension: url.pathExtension)
        }
    }

    /// Like ``load(_:)`` for bytes already in memory; `fileName` is used in
    /// error messages and for its extension.
    public static func load(data: Data, fileName: String) throws -> StateDict {
        try withFileName(fileName) {
            try decode(data, pathExtension: (fileName as NSString).pathExtension)
        }
    }

    static func decode(_ data: Data, pathExtension: String) throws -> StateDict {
        try data.withUnsafeBytes { try decode(bytes: $0, pathExtension: pathExtension) }
    }

    static func decode(bytes: UnsafeRawBufferPointer, pathExtension: String) throws -> StateDict {
            switch detectFormat(bytes, pathExtension: pathExtension) {
            case .pytorchZip:
                return try TorchZip.decode(bytes: bytes)
            case .safetensors:
                return try SafeTensors.decode(bytes: bytes)
            case .legacyPyTorch:
                throw fail("this is the legacy (pre-1.6) PyTorch serialization format, which is not supported; re-save it from torch >= 1.6 with torch.save(obj, path) (_use_new_zipfile_serialization=True, the default)")
            case .pickle:
                throw fail("this is a plain pickle file, not a torch.save zip archive; save the state dict with torch.save(model.state_dict(), path)")
            case .unknown:
                throw fail("unrecognised checkpoint format (expected a PyTorch zip checkpoint or a safetensors file)")
            }
    }

    /// The pre-1.6 `torch.save` magic number 0x1950a86a20f9469cfc6c,
    /// pickled as a 10-byte LONG1.
    static let legacyMagic: [UInt8] = [0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]

    /// Guesses the format from the first bytes (and the extension as a
    /// fallback for safetensors).
    public static func detectFormat(_ data: Data, pathExtension: String = "") -> Format {
        data.withUnsafeBytes { detectFormat($0, pathExtension: pathExtension) }
    }

    static func detectFormat(_ bytes: UnsafeRawBufferPointer, pathExtension: String) -> Format {
        let head = Array(bytes.prefix(32))
        func starts(_ prefix: [UInt8]) -> Bool { head.starts(with: prefix) }
        if starts([0x50, 0x4b, 0x03, 0x04]) || starts([0x50, 0x4b, 0x05, 0x06]) || starts([0x50, 0x4b, 0x06, 0x06]) {
            return .pytorchZip
        }
        if head.count >= 2, head[0] == 0x80, head[1] <= 5 {
            let window = head.count - legacyMagic.count
            if window >= 0, (0...window).contains(where: { head[$0..<($0 + legacyMagic.count)].elementsEqual(legacyMagic) }) {
                return .legacyPyTorch
            }
            return .pickle
        }
        if bytes.count >= 262, bytes[257..<262].elementsEqual(Array("ustar".utf8)) {
            return .legacyPyTorch  // torch < 0.4 tar format
        }
        if head.count >= 9, head[8] == UInt8(ascii: "{") { return .safetensors }
        if pathExtension.lowercased() == "safetensors" { return .safetensors }
        return .unknown
    }
}
