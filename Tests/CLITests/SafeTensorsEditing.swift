import Foundation

/// A safetensors file taken apart for hostile-input tests: its JSON header (with
/// `__metadata__`) and its data bytes, edited and written back.
struct EditableSafeTensors {
    var header: [String: Any]
    var data: [UInt8]

    init(contentsOf path: String) throws {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let length = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        header = try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + length)])) as! [String: Any]
        data = Array(bytes[(8 + length)...])
    }

    /// Sets metadata `key` to `value`, or removes it when `value` is nil.
    mutating func setMetadata(_ key: String, _ value: String?) {
        var m = header["__metadata__"] as? [String: String] ?? [:]
        m[key] = value
        header["__metadata__"] = m
    }

    /// Overwrites float32 element `index` of tensor `key`.
    mutating func setValue(_ key: String, at index: Int, _ value: Float) {
        let entry = header[key] as! [String: Any]
        let start = (entry["data_offsets"] as! [Int])[0] + 4 * index
        for b in 0..<4 { data[start + b] = UInt8(truncatingIfNeeded: value.bitPattern >> (8 * b)) }
    }

    /// Every float32 value of every tensor set to `value`.
    mutating func setAllValues(_ value: Float) {
        var i = 0
        while i + 4 <= data.count {
            for b in 0..<4 { data[i + b] = UInt8(truncatingIfNeeded: value.bitPattern >> (8 * b)) }
            i += 4
        }
    }

    func write(to path: String) throws {
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var out = Data((0..<8).map { UInt8(truncatingIfNeeded: json.count >> (8 * $0)) })
        out.append(json)
        out.append(contentsOf: data)
        try out.write(to: URL(fileURLWithPath: path))
    }
}
