/// A restricted, non-executing pickle interpreter (binary protocols 2–5).
///
/// Only the opcodes needed for tensor state dicts are implemented; GLOBAL
/// and STACK_GLOBAL resolve names through ``TorchGlobals`` and refuse the
/// rest, and REDUCE can only "call" those allowed globals, which are
/// interpreted here rather than executed. Every length is checked against
/// the remaining input before anything is allocated; the machine is
/// iterative, so hostile nesting cannot exhaust the call stack.
struct Unpickler {
    private var reader: ByteReader
    /// Entry name used in error messages, e.g. "archive/data.pkl".
    private let name: String
    private let arena: PickleArena
    private let persistentLoad: (PickleValue) throws -> PickleValue

    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]
    /// Offset of the opcode being executed (for errors).
    private var opOffset = 0

    /// Longest module or attribute name accepted by GLOBAL.
    static let maxGlobalNameLength = 512

    /// Unpickles `bytes`; containers are owned by `arena`.
    static func load(
        _ bytes: UnsafeRawBufferPointer, name: String, arena: PickleArena,
        persistentLoad: @escaping (PickleValue) throws -> PickleValue = TorchGlobals.persistentLoad
    ) throws -> PickleValue {
        var machine = Unpickler(
            reader: ByteReader(bytes, what: "pickle \(name)"), name: name, arena: arena, persistentLoad: persistentLoad
        )
        return try machine.run()
    }

    private init(
        reader: ByteReader, name: String, arena: PickleArena,
        persistentLoad: @escaping (PickleValue) throws -> PickleValue
    ) {
        self.reader = reader
        self.name = name
        self.arena = arena
        self.persistentLoad = persistentLoad
    }

    // MARK: - Helpers

    private func error(_ message: String) -> CheckpointError {
        fail("\(name) offset \(opOffset): \(message)")
    }

    private mutating func pop() throws -> PickleValue {
        guard let top = stack.popLast() else { throw error("pickle stack underflow") }
        if let mark = marks.last, stack.count < mark { throw error("pickle stack underflow past MARK") }
        return top
    }

    private func top() throws -> PickleValue {
        guard let top = stack.last, stack.count > (marks.last ?? 0) else { throw error("pickle stack underflow") }
        return top
    }

    /// Pops everything above the last MARK (and the mark itself).
    private mutating func popToMark() throws -> [PickleValue] {
        guard let mark = marks.popLast() else { throw error("MARK expected but not found") }
        let items = Array(stack[mark...])
        stack.removeSubrange(mark...)
        return items
    }

    private mutating func string(_ length: Int) throws -> String {
        let raw = try reader.slice(length)
        guard let s = String(validating: raw, as: UTF8.self) else { throw error("string is not valid UTF-8") }
        return s
    }

    /// One line of a text GLOBAL argument, without the newline.
    private mutating func line() throws -> String {
        let start = reader.offset
        var end = start
        while end < reader.bytes.count, reader.bytes[end] != 0x0a {
            end += 1
            guard end - start <= Self.maxGlobalNameLength else { throw error("GLOBAL name too long") }
        }
        guard end < reader.bytes.count else { throw error("truncated GLOBAL name") }
        let text = try string(end - start)
        reader.offset += 1
        return text
    }

    private func resolveGlobal(_ module: String, _ attribute: String) throws -> PickleValue {
        guard let global = TorchGlobals.resolve(module: module, name: attribute) else {
            throw error(TorchGlobals.refusal(module: module, name: attribute))
        }
        return .global(global)
    }

    /// Two's-complement little-endian integer (LONG1 / LONG4).
    private func long(_ raw: UnsafeRawBufferPointer) -> PickleValue {
        if raw.isEmpty { return .int(0) }
        guard raw.count <= 8 else { return .bigInt(byteCount: raw.count) }
        var value: UInt64 = 0
        for (i, byte) in raw.enumerated() { value |= UInt64(byte) << (8 * UInt64(i)) }
        if raw.count < 8, raw[raw.count - 1] & 0x80 != 0 {
            value |= ~0 << (8 * UInt64(raw.count))  // sign-extend
        }
        return .int(Int(Int64(bitPattern: value)))
    }

    private mutating func memoGet(_ key: Int) throws -> PickleValue {
        guard let value = memo[key] else { throw error("memo entry \(key) is not defined") }
        return value
    }

    private mutating func memoPut(_ key: Int) throws {
        memo[key] = try top()
    }

    private func wrapErrors<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as CheckpointError { throw error(e.message) }
    }

    // MARK: - Machine

    private mutating func run() throws -> PickleValue {
        while true {
            opOffset = reader.offset
            guard !reader.atEnd else { throw error("pickle ends without STOP") }
            let op = try reader.u8()
            switch op {
            case 0x80:  // PROTO
                let version = try reader.u8()
                guard version <= 5 else { throw error("unsupported pickle protocol \(version)") }
            case 0x95:  // FRAME: a length hint only
                _ = try reader.length64()
            case UInt8(ascii: "."):  // STOP
                guard marks.isEmpty, stack.count == 1 else { throw error("STOP with \(stack.count) values on the stack") }
                return stack[0]

            // Marks and stack manipulation
            case UInt8(ascii: "("): marks.append(stack.count)  // MARK
            case UInt8(ascii: "0"): _ = try pop()  // POP
            case UInt8(ascii: "1"):  // POP_MARK
                guard let mark = marks.popLast() else { throw error("MARK expected but not found") }
                stack.removeSubrange(mark...)
            case UInt8(ascii: "2"): stack.append(try top())  // DUP

            // Constants and numbers
            case UInt8(ascii: "N"): stack.append(.none)
            case 0x88: stack.append(.bool(true))  // NEWTRUE
            case 0x89: stack.append(.bool(false))  // NEWFALSE
            case UInt8(ascii: "J"): stack.append(.int(Int(Int32(bitPattern: try reader.u32()))))  // BININT
            case UInt8(ascii: "K"): stack.append(.int(Int(try reader.u8())))  // BININT1
            case UInt8(ascii: "M"): stack.append(.int(Int(try reader.u16())))  // BININT2
            case 0x8a:  // LONG1
                let n = Int(try reader.u8())
                stack.append(long(try reader.slice(n)))
            case 0x8b:  // LONG4
                let n = Int(Int32(bitPattern: try reader.u32()))
                guard n >= 0 else { throw error("negative LONG4 length") }
                stack.append(long(try reader.slice(n)))
            case UInt8(ascii: "G"):  // BINFLOAT (big-endian)
                stack.append(.float(Double(bitPattern: try reader.u64().byteSwapped)))

            // Strings and bytes
            case UInt8(ascii: "X"): stack.append(.string(try string(try reader.length32())))  // BINUNICODE
            case 0x8c: stack.append(.string(try string(Int(try reader.u8()))))  // SHORT_BINUNICODE
            case 0x8d: stack.append(.string(try string(try reader.length64())))  // BINUNICODE8
            case UInt8(ascii: "T"): stack.append(.string(try string(try reader.length32())))  // BINSTRING
            case UInt8(ascii: "U"): stack.append(.string(try string(Int(try reader.u8()))))  // SHORT_BINSTRING
            case UInt8(ascii: "C"): stack.append(.bytes(Array(try reader.slice(Int(try reader.u8())))))  // SHORT_BINBYTES
            case UInt8(ascii: "B"): stack.append(.bytes(Array(try reader.slice(try reader.length32()))))  // BINBYTES
            case 0x8e: stack.append(.bytes(Array(try reader.slice(try reader.length64()))))  // BINBYTES8

            // Containers
            case UInt8(ascii: ")"): stack.append(.tuple(arena.list([])))  // EMPTY_TUPLE
            case UInt8(ascii: "t"): stack.append(.tuple(arena.list(try popToMark())))  // TUPLE
            case 0x85, 0x86, 0x87:  // TUPLE1, TUPLE2, TUPLE3
                let n = Int(op - 0x84)
                guard stack.count - (marks.last ?? 0) >= n else { throw error("pickle stack underflow") }
                let items = Array(stack.suffix(n))
                stack.removeLast(n)
                stack.append(.tuple(arena.list(items)))
            case UInt8(ascii: "]"): stack.append(.list(arena.list([])))  // EMPTY_LIST
            case UInt8(ascii: "l"): stack.append(.list(arena.list(try popToMark())))  // LIST
            case UInt8(ascii: "a"):  // APPEND
                let item = try pop()
                try list(try top(), "APPEND").items.append(item)
            case UInt8(ascii: "e"):  // APPENDS
                let items = try popToMark()
                try list(try top(), "APPENDS").items.append(contentsOf: items)
            case UInt8(ascii: "}"): stack.append(.dict(arena.dict()))  // EMPTY_DICT
            case UInt8(ascii: "d"):  // DICT
                let items = try popToMark()
                let dict = arena.dict()
                try setItems(dict, items)
                stack.append(.dict(dict))
            case UInt8(ascii: "s"):  // SETITEM
                let value = try pop()
                let key = try pop()
                try setItems(try dict(try top(), "SETITEM"), [key, value])
            case UInt8(ascii: "u"):  // SETITEMS
                let items = try popToMark()
                try setItems(try dict(try top(), "SETITEMS"), items)
            case 0x8f: stack.append(.set(arena.list([])))  // EMPTY_SET
            case 0x90:  // ADDITEMS
                let items = try popToMark()
                guard case .set(let set) = try top() else { throw error("ADDITEMS on a non-set") }
                set.items.append(contentsOf: items)
            case 0x91: stack.append(.set(arena.list(try popToMark())))  // FROZENSET

            // Memo
            case UInt8(ascii: "q"): try memoPut(Int(try reader.u8()))  // BINPUT
            case UInt8(ascii: "r"): try memoPut(Int(try reader.u32()))  // LONG_BINPUT
            case 0x94: try memoPut(memo.count)  // MEMOIZE
            case UInt8(ascii: "h"): stack.append(try memoGet(Int(try reader.u8())))  // BINGET
            case UInt8(ascii: "j"): stack.append(try memoGet(Int(try reader.u32())))  // LONG_BINGET

            // Globals, calls, persistent ids
            case UInt8(ascii: "c"):  // GLOBAL
                let module = try line()
                let attribute = try line()
                stack.append(try resolveGlobal(module, attribute))
            case 0x93:  // STACK_GLOBAL
                let attribute = try pop()
                let module = try pop()
                guard case .string(let m) = module, case .string(let a) = attribute else {
                    throw error("STACK_GLOBAL needs two strings")
                }
                stack.append(try resolveGlobal(m, a))
            case UInt8(ascii: "R"):  // REDUCE
                let args = try pop()
                let callable = try pop()
                guard case .global(let function) = callable else { throw error("REDUCE on \(callable.kind), which is not callable") }
                guard case .tuple(let tuple) = args else { throw error("REDUCE arguments must be a tuple, found \(args.kind)") }
                let arena = self.arena
                stack.append(try wrapErrors { try TorchGlobals.call(function, tuple.items, arena: arena) })
            case UInt8(ascii: "b"):  // BUILD
                _ = try pop()  // the state is not needed
                switch try top() {
                case .dict, .tensor: break  // OrderedDict._metadata / tensor state: not needed
                case let other: throw error("BUILD on \(other.kind) is not supported")
                }
            case UInt8(ascii: "Q"):  // BINPERSID
                let pid = try pop()
                let load = persistentLoad
                stack.append(try wrapErrors { try load(pid) })

            default:
                if let opName = Self.unsupportedOpcodes[op] {
                    throw error("unsupported pickle opcode \(opName) (0x\(Self.hex(op)))")
                }
                throw error("unknown pickle opcode 0x\(Self.hex(op))")
            }
        }
    }

    private func list(_ value: PickleValue, _ op: String) throws -> PickleList {
        guard case .list(let list) = value else { throw error("\(op) on \(value.kind), expected a list") }
        return list
    }

    private func dict(_ value: PickleValue, _ op: String) throws -> PickleDict {
        guard case .dict(let dict) = value else { throw error("\(op) on \(value.kind), expected a dict") }
        return dict
    }

    private func setItems(_ dict: PickleDict, _ items: [PickleValue]) throws {
        guard items.count % 2 == 0 else { throw error("odd number of items for a dict") }
        try wrapErrors {
            for i in stride(from: 0, to: items.count, by: 2) { try dict.set(items[i], items[i + 1]) }
        }
    }

    static func hex(_ byte: UInt8) -> String {
        let digits = String(byte, radix: 16)
        return byte < 16 ? "0" + digits : digits
    }

    /// Real pickle opcodes this reader deliberately does not implement
    /// (object construction, text protocol 0, extension registry, buffers).
    static let unsupportedOpcodes: [UInt8: String] = [
        UInt8(ascii: "i"): "INST", UInt8(ascii: "o"): "OBJ", 0x81: "NEWOBJ", 0x92: "NEWOBJ_EX",
        UInt8(ascii: "P"): "PERSID", 0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4",
        UInt8(ascii: "I"): "INT", UInt8(ascii: "L"): "LONG", UInt8(ascii: "F"): "FLOAT",
        UInt8(ascii: "S"): "STRING", UInt8(ascii: "V"): "UNICODE", UInt8(ascii: "p"): "PUT",
        UInt8(ascii: "g"): "GET", 0x96: "BYTEARRAY8", 0x97: "NEXT_BUFFER", 0x98: "READONLY_BUFFER",
    ]
}
