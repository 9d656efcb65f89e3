extension Checkpoint {
    /// A readable summary for `practise inspect`: one row per tensor
    /// (name, dtype, shape, element count) in file order, then totals and
    /// any metadata / `rm_blocks`.
    ///
    ///     name          dtype  shape          params
    ///     conv1.weight  F32    [64, 3, 7, 7]   9,408
    ///     bn1.num_batches_tracked  I64  []      1
    ///
    ///     2 tensors, 9,409 parameters, 37,640 bytes as stored
    public static func describe(_ stateDict: StateDict) -> String {
        let names = stateDict.orderedNames
        var rows: [[String]] = [["name", "dtype", "shape", "params"]]
        var parameters = 0
        var bytes = 0
        for name in names {
            let record = stateDict.tensors[name]!
            let count = record.elementCount
            parameters += count
            bytes += count * record.sourceDType.byteSize
            let shape = "[" + record.shape.map(String.init).joined(separator: ", ") + "]"
            rows.append([name, record.sourceDType.rawValue, shape, grouped(count)])
        }
        var widths = [Int](repeating: 0, count: 4)
        for row in rows {
            for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) }
        }
        var lines = rows.map { row -> String in
            let left = (0..<3).map { row[$0].padding(widths[$0]) }.joined(separator: "  ")
            return left + "  " + String(repeating: " ", count: widths[3] - row[3].count) + row[3]
        }
        lines.append("")
        let noun = names.count == 1 ? "tensor" : "tensors"
        lines.append("\(grouped(names.count)) \(noun), \(grouped(parameters)) parameters, \(grouped(bytes)) bytes as stored")
        if let blocks = stateDict.rmBlocks {
            lines.append("rm_blocks: " + (blocks.isEmpty ? "(none)" : blocks.joined(separator: ", ")))
        }
        for key in stateDict.metadata.keys.sorted() {
            lines.append("metadata \(key): \(stateDict.metadata[key]!)")
        }
        return lines.joined(separator: "\n")
    }

    /// `1234567` → `"1,234,567"`.
    static func grouped(_ n: Int) -> String {
        let digits = String(n.magnitude)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return n < 0 ? "-" + out : out
    }
}

extension String {
    /// Left-aligned in a field of `width` characters.
    fileprivate func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
