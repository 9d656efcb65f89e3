/// The only globals a checkpoint pickle may name, mirroring the spirit of
/// `torch/_weights_only_unpickler.py`. Anything else (`os.system`,
/// `builtins.eval`, model classes, ...) is refused when the GLOBAL opcode is
/// read, so it is never looked up, let alone called.
enum PickleGlobal: Equatable {
    /// `collections.OrderedDict`
    case orderedDict
    /// `torch._utils._rebuild_tensor_v2`
    case rebuildTensorV2
    /// `torch._utils._rebuild_parameter`
    case rebuildParameter
    /// `torch._utils._rebuild_parameter_with_state`
    case rebuildParameterWithState
    /// `torch._tensor._rebuild_from_type_v2`
    case rebuildFromTypeV2
    /// `torch.Tensor` or `torch.nn.parameter.Parameter` (only as a type argument)
    case tensorType(String)
    /// `torch.FloatStorage` and friends (only inside persistent ids)
    case storageType(DType)
    /// `torch.float32` and friends
    case dtype(DType)

    var qualifiedName: String {
        switch self {
        case .orderedDict: return "collections.OrderedDict"
        case .rebuildTensorV2: return "torch._utils._rebuild_tensor_v2"
        case .rebuildParameter: return "torch._utils._rebuild_parameter"
        case .rebuildParameterWithState: return "torch._utils._rebuild_parameter_with_state"
        case .rebuildFromTypeV2: return "torch._tensor._rebuild_from_type_v2"
        case .tensorType(let name): return name
        case .storageType(let d): return "torch.\(d.torchStorageName)"
        case .dtype(let d): return "torch.\(d)"
        }
    }
}

/// Resolution and evaluation of the allowed globals.
enum TorchGlobals {
    /// The allowed global `module.name`, or `nil` if it is not allowed.
    static func resolve(module: String, name: String) -> PickleGlobal? {
        switch (module, name) {
        case ("collections", "OrderedDict"): return .orderedDict
        case ("torch._utils", "_rebuild_tensor_v2"): return .rebuildTensorV2
        case ("torch._utils", "_rebuild_parameter"): return .rebuildParameter
        case ("torch._utils", "_rebuild_parameter_with_state"): return .rebuildParameterWithState
        case ("torch._tensor", "_rebuild_from_type_v2"): return .rebuildFromTypeV2
        case ("torch", "Tensor"), ("torch.nn.parameter", "Parameter"): return .tensorType("\(module).\(name)")
        case ("torch", _):
            if let d = DType.fromTorchStorage(name) { return .storageType(d) }
            if let d = DType.fromTorchDType(name) { return .dtype(d) }
            return nil
        default: return nil
        }
    }

    /// The error for a refused global, with a hint for common cases.
    static func refusal(module: String, name: String) -> String {
        var message = "pickle global '\(module).\(name)' is not allowed"
        if module.hasPrefix("__torch__") {
            message += " (this looks like a TorchScript archive; save model.state_dict() with torch.save instead)"
        }
        return message
    }

    /// Evaluates `callable(*args)` for REDUCE.
    static func call(_ callable: PickleGlobal, _ args: [PickleValue], arena: PickleArena) throws -> PickleValue {
        switch callable {
        case .orderedDict:
            // torch pickles OrderedDicts as `OrderedDict()` followed by
            // SETITEMS; the list-of-pairs form is not accepted, so a memoised
            // list cannot be replayed into many large dicts.
            guard args.isEmpty else { throw fail("collections.OrderedDict() must be called without arguments") }
            return .dict(arena.dict())

        case .rebuildTensorV2:
            return .tensor(try rebuildTensor(args))

        case .rebuildParameter, .rebuildParameterWithState:
            let expected = callable == .rebuildParameter ? 3 : 4
            guard args.count == expected, case .tensor = args[0] else {
                throw fail("\(callable.qualifiedName) expects (tensor, requires_grad, hooks\(expected == 4 ? ", state" : ""))")
            }
            return args[0]

        case .rebuildFromTypeV2:
            guard args.count == 4, case .global(let function) = args[0], case .global(.tensorType) = args[1],
                  case .tuple(let inner) = args[2]
            else { throw fail("torch._tensor._rebuild_from_type_v2 expects (function, tensor type, args, state)") }
            guard function != .rebuildFromTypeV2 else {
                throw fail("torch._tensor._rebuild_from_type_v2 cannot rebuild through itself")
            }
            let result = try call(function, inner.items, arena: arena)
            guard case .tensor = result else {
                throw fail("torch._tensor._rebuild_from_type_v2 must rebuild a tensor")
            }
            return result

        case .tensorType, .storageType, .dtype:
            throw fail("'\(callable.qualifiedName)' cannot be called")
        }
    }

    /// Most dimensions a tensor may have (PyTorch itself allows 64).
    static let maxRank = 64

    /// `_rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])`
    private static func rebuildTensor(_ args: [PickleValue]) throws -> TensorRef {
        let usage = "torch._utils._rebuild_tensor_v2 expects (storage, offset, size, stride, requires_grad, hooks)"
        guard args.count == 6 || args.count == 7,
              case .storage(let storage) = args[0],
              case .int(let offset) = args[1], offset >= 0,
              let shape = intTuple(args[2]), let strides = intTuple(args[3]),
              shape.count == strides.count
        else { throw fail(usage) }
        guard shape.count <= maxRank else { throw fail("tensor has \(shape.count) dimensions, more than \(maxRank)") }
        guard shape.allSatisfy({ $0 >= 0 }), strides.allSatisfy({ $0 >= 0 }) else {
            throw fail("tensor has a negative size or stride")
        }
        return TensorRef(storage: storage, offset: offset, shape: shape, strides: strides)
    }

    /// A tuple (or list) of plain ints.
    private static func intTuple(_ value: PickleValue) -> [Int]? {
        let items: [PickleValue]
        switch value {
        case .tuple(let t), .list(let t): items = t.items
        default: return nil
        }
        var out: [Int] = []
        for item in items {
            guard case .int(let i) = item else { return nil }
            out.append(i)
        }
        return out
    }

    /// Resolves a persistent id `('storage', torch.FloatStorage, key, location, numel)`.
    static func persistentLoad(_ pid: PickleValue) throws -> PickleValue {
        guard case .tuple(let t) = pid, t.items.count == 5,
              case .string("storage") = t.items[0],
              case .global(.storageType(let dtype)) = t.items[1],
              case .string(let key) = t.items[2],
              case .string = t.items[3],
              case .int(let count) = t.items[4], count >= 0
        else {
            throw fail("unsupported persistent id (expected ('storage', torch.<Type>Storage, key, location, numel))")
        }
        return .storage(StorageRef(key: key, dtype: dtype, count: count))
    }
}
