/// Every error the ImageData library throws. Messages name the file (or the
/// spec / list entry) at fault, so they can be shown to a user as they are.
public enum DataError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A file or folder that should exist does not.
    case fileNotFound(path: String)
    /// A file exists but could not be read (permissions, I/O error...).
    case unreadable(path: String, reason: String)
    /// A dataset file whose structure is wrong (bad magic, sizes, truncation).
    case malformed(path: String, reason: String)
    /// A file, or what its header declares, is beyond the documented limit (README, "Limits").
    case tooLarge(path: String, what: String, found: String, limit: String)
    /// An image file the decoder rejected (truncated, corrupt).
    case undecodableImage(path: String, reason: String)
    /// A file that is neither JPEG nor PNG (judged by its first bytes).
    case unsupportedImageFormat(path: String)
    /// A folder holding no usable data.
    case emptyDataset(path: String, reason: String)
    /// A `--data` spec that cannot be parsed or opened.
    case invalidSpec(spec: String, reason: String)
    /// A sample-list line naming a sample the dataset does not have.
    case sampleNotFound(listFile: String, line: Int, entry: String, expected: String)
    /// A sample-list line that cannot be parsed or contradicts the dataset.
    case invalidSampleList(listFile: String, line: Int, reason: String)
    /// More samples requested than exist (overall or in one class).
    case notEnoughSamples(requested: Int, available: Int, context: String)
    /// An index outside `0..<count`.
    case indexOutOfRange(index: Int, count: Int, dataset: String)
    /// Transformed images of one batch do not share one shape.
    case shapeMismatch(sample: String, expected: [Int], found: [Int])
    /// A caller-supplied argument is invalid.
    case invalidArgument(String)
    /// The bundled assets folder could not be located.
    case assetsNotFound(searched: [String])
    /// An ImageFolder's evaluation split (`evalRoot`) has other class folders than its train
    /// split (`trainRoot`): labels would not mean the same classes.
    case splitClassesDiffer(trainRoot: String, evalRoot: String, onlyInTrain: [String], onlyInEval: [String])

    public var description: String {
        switch self {
        case .fileNotFound(let path):
            return "\(path): no such file or directory"
        case .unreadable(let path, let reason):
            return "\(path): cannot read: \(reason)"
        case .malformed(let path, let reason):
            return "\(path): malformed: \(reason)"
        case .tooLarge(let path, let what, let found, let limit):
            return "\(path): \(what) is \(found), more than the limit of \(limit)"
        case .undecodableImage(let path, let reason):
            return "\(path): cannot decode image: \(reason)"
        case .unsupportedImageFormat(let path):
            return "\(path): not a JPEG or PNG image"
        case .emptyDataset(let path, let reason):
            return "\(path): \(reason)"
        case .invalidSpec(let spec, let reason):
            return "invalid data spec '\(spec)': \(reason)"
        case .sampleNotFound(let listFile, let line, let entry, let expected):
            return "\(listFile):\(line): sample '\(entry)' does not exist in the dataset; its samples are \(expected)"
        case .invalidSampleList(let listFile, let line, let reason):
            return "\(listFile):\(line): \(reason)"
        case .notEnoughSamples(let requested, let available, let context):
            return "requested \(requested) samples but only \(available) exist (\(context))"
        case .indexOutOfRange(let index, let count, let dataset):
            return "\(dataset): index \(index) out of range 0..<\(count)"
        case .shapeMismatch(let sample, let expected, let found):
            return "\(sample): transformed shape \(found) differs from the batch shape \(expected)"
                + " (add Resize/CenterCrop to the transform)"
        case .invalidArgument(let message):
            return message
        case .assetsNotFound(let searched):
            return "bundled Assets folder not found; set PRACTISE_ASSETS. Searched: "
                + searched.joined(separator: ", ")
        case .splitClassesDiffer(let trainRoot, let evalRoot, let onlyInTrain, let onlyInEval):
            func listed(_ names: [String]) -> String { names.prefix(10).joined(separator: ", ") + (names.count > 10 ? " and \(names.count - 10) more" : "") }
            let differences = [onlyInTrain.isEmpty ? nil : "only in \(trainRoot): \(listed(onlyInTrain))",
                               onlyInEval.isEmpty ? nil : "only in \(evalRoot): \(listed(onlyInEval))"].compactMap { $0 }
            return "\(evalRoot) has other classes than \(trainRoot) (\(differences.joined(separator: "; "))); "
                + "the label of each class is its position among the class folders, so both splits need the same class folders"
        }
    }
}
