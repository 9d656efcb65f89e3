/// Values produced by the restricted ``Unpickler``.
///
/// Containers are reference types (pickle's memo shares them, and APPEND /
/// SETITEM mutate them in place). Every container is registered in a
/// ``PickleArena`` and emptied by ``PickleArena/teardown()`` once loading is
/// done, which breaks reference cycles (a list appended to itself) and
/// prevents deep recursive deinitialisation of hostile, deeply nested input.
enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    /// An integer that does not fit in `Int` (only its size is kept).
    case bigInt(byteCount: Int)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple(PickleList)
    case list(PickleList)
    case set(PickleList)
    case dict(PickleDict)
    /// A global from the allow-list (see ``TorchGlobals``).
    case global(PickleGlobal)
    /// A storage named by a persistent id.
    case storage(StorageRef)
    /// A tensor view on a storage.
    case tensor(TensorRef)

    /// Short type name for error messages.
    var kind: String {
        switch self {
        case .none: return "None"
        case .bool: return "bool"
        case .int, .bigInt: return "int"
        case .float: return "float"
        case .string: return "str"
        case .bytes: return "bytes"
        case .tuple: return "tuple"
        case .list: return "list"
        case .set: return "set"
        case .dict: return "dict"
        case .global(let g): return "global '\(g.qualifiedName)'"
        case .storage: return "storage"
        case .tensor: return "tensor"
        }
    }
}

/// Common interface for arena-managed containers.
protocol PickleContainer: AnyObject {
    func clear()
}

/// Items of a tuple, list or set.
final class PickleList: PickleContainer {
    var items: [PickleValue]
    init(_ items: [PickleValue]) { self.items = items }
    func clear() { items = [] }
}

/// A dict (or OrderedDict) that keeps insertion order; re-setting a key
/// replaces its value in place, like Python.
final class PickleDict: PickleContainer {
    private(set) var keys: [PickleValue] = []
    private(set) var values: [PickleValue] = []
    private var index: [PickleKey: Int] = [:]

    func set(_ key: PickleValue, _ value: PickleValue) throws {
        let hashable = try PickleKey(key)
        if let i = index[hashable] {
            values[i] = value
        } else {
            index[hashable] = keys.count
            keys.append(key)
            values.append(value)
        }
    }

    /// The value stored under the string key `name`, if any.
    subscript(name: String) -> PickleValue? {
        index[.string(name)].map { values[$0] }
    }

    var count: Int { keys.count }

    func clear() {
        keys = []
        values = []
        index = [:]
    }
}

/// Owns every container created while unpickling; see ``PickleValue``.
final class PickleArena {
    private var containers: [any PickleContainer] = []

    func list(_ items: [PickleValue]) -> PickleList {
        let list = PickleList(items)
        containers.append(list)
        return list
    }

    func dict() -> PickleDict {
        let dict = PickleDict()
        containers.append(dict)
        return dict
    }

    /// Empties every container, so releasing them cannot recurse.
    func teardown() {
        for container in containers { container.clear() }
        containers = []
    }
}

/// A hashable mirror of the pickle values allowed as dict keys.
indirect enum PickleKey: Hashable {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple([PickleKey])

    /// Nesting and size limits for tuple keys: hashing is bounded even if
    /// memoised tuples are shared many times inside one key.
    static let maxDepth = 16
    static let maxNodes = 256

    init(_ value: PickleValue) throws {
        var budget = Self.maxNodes
        try self.init(value, depth: 0, budget: &budget)
    }

    private init(_ value: PickleValue, depth: Int, budget: inout Int) throws {
        guard depth < Self.maxDepth else { throw fail("pickle dict key nested more than \(Self.maxDepth) levels deep") }
        budget -= 1
        guard budget >= 0 else { throw fail("pickle dict key has more than \(Self.maxNodes) parts") }
        switch value {
        case .none: self = .none
        case .bool(let b): self = .bool(b)
        case .int(let i): self = .int(i)
        case .float(let d): self = .float(d)
        case .string(let s): self = .string(s)
        case .bytes(let b): self = .bytes(b)
        case .tuple(let t):
            var parts: [PickleKey] = []
            for item in t.items { parts.append(try PickleKey(item, depth: depth + 1, budget: &budget)) }
            self = .tuple(parts)
        default: throw fail("unsupported pickle dict key of type \(value.kind)")
        }
    }
}

/// A storage reference from a persistent id
/// `('storage', torch.FloatStorage, key, location, numel)`.
struct StorageRef {
    var key: String
    var dtype: DType
    /// Element count declared by the pickle.
    var count: Int
}

/// A tensor from `_rebuild_tensor_v2`: a strided view into a storage
/// (offset and strides in elements).
struct TensorRef {
    var storage: StorageRef
    var offset: Int
    var shape: [Int]
    var strides: [Int]
}
