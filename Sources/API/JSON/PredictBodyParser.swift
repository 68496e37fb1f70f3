import Tensors

/// The shape a nested list has been seen to have so far.
struct ShapeTracker {
    var rank: Int?
    var dims: [Int] = []

    var shape: Shape { Shape(Array(dims.prefix(rank ?? 0))) }

    /// Ready for the next row, keeping the storage.
    mutating func reset() {
        rank = nil
        dims.removeAll(keepingCapacity: true)
    }

    func matches(_ other: Shape) -> Bool {
        guard let rank, rank == other.rank, dims.count >= rank else { return false }
        for axis in 0..<rank where dims[axis] != other.dims[axis] { return false }
        return true
    }
}

/// Second pass over a predict body: the `instances` or `inputs` value, read into accumulators.
struct PredictBodyParser {
    var scanner: JSONScanner
    let signature: SignatureSpec
    let inputNames: [String]
    let inputIndex: [String: Int]

    init(bytes: UnsafeRawBufferPointer, position: Int, depth: Int, maxDepth: Int, signature: SignatureSpec) {
        scanner = JSONScanner(bytes: bytes, position: position, depth: depth, maxDepth: maxDepth)
        self.signature = signature
        inputNames = signature.inputs.keys.sorted()
        var index: [String: Int] = [:]
        for (position, name) in inputNames.enumerated() { index[name] = position }
        inputIndex = index
    }

    private var inputList: String { inputNames.joined(separator: ", ") }

    private func makeAccumulators() throws(ServingError) -> [TensorAccumulator] {
        var accumulators: [TensorAccumulator] = []
        for name in inputNames {
            guard let spec = signature.inputs[name] else { continue }
            accumulators.append(try TensorAccumulator(name: name, dtype: spec.dtype))
        }
        return accumulators
    }

    private func finish(_ accumulator: TensorAccumulator, shape: Shape) throws(ServingError) -> Tensor {
        if let spec = signature.inputs[accumulator.name], !spec.shape.accepts(shape) {
            throw .invalidArgument(
                "input '\(accumulator.name)' has shape \(shape) but signature '\(signature.name)' expects \(spec.shape)")
        }
        guard accumulator.count == shape.elementCount else {
            throw .internal("input '\(accumulator.name)' read \(accumulator.count) values for shape \(shape)")
        }
        return accumulator.makeTensor(shape: shape)
    }

    /// Whether the next value is a `{"b64": ...}` object rather than an object keyed by input name.
    private func nextIsBase64Object() -> Bool {
        var probe = scanner
        guard probe.consume(UInt8(ascii: "{")), probe.peek() == UInt8(ascii: "\"") else { return false }
        do throws(ServingError) {
            return try probe.readString() == Array("b64".utf8)
        } catch {
            return false
        }
    }

    private func inputName(for key: [UInt8], context: String) throws(ServingError) -> Int {
        let name = String(decoding: key, as: UTF8.self)
        guard let index = inputIndex[name] else {
            throw .invalidArgument(
                "\(context) has unknown input '\(name)'; signature '\(signature.name)' has inputs: \(inputList)")
        }
        return index
    }

    mutating func parse(_ format: PredictFormat) throws(ServingError) -> [String: Tensor] {
        switch format {
        case .row: try parseInstances()
        case .columnar: try parseInputs()
        }
    }

    // MARK: Row format

    mutating func parseInstances() throws(ServingError) -> [String: Tensor] {
        guard scanner.peek() == UInt8(ascii: "[") else {
            throw .invalidArgument("'instances' must be a list")
        }
        try scanner.open(UInt8(ascii: "["))
        if scanner.closesEmptyArray() {
            throw .invalidArgument("'instances' must not be empty")
        }
        var accumulators = try makeAccumulators()
        var firstShapes = [Shape?](repeating: nil, count: accumulators.count)
        var trackers = [ShapeTracker](repeating: ShapeTracker(), count: accumulators.count)
        var rows = 0
        repeat {
            if accumulators.count == 1, scanner.peek() != UInt8(ascii: "{") || nextIsBase64Object() {
                trackers[0].reset()
                try readValue(level: 0, tracker: &trackers[0], into: &accumulators[0])
                if let first = firstShapes[0] {
                    guard trackers[0].matches(first) else {
                        throw .invalidArgument(
                            "instances[\(rows)] has shape \(trackers[0].shape) but instances[0] has shape \(first)")
                    }
                } else {
                    firstShapes[0] = trackers[0].shape
                }
            } else {
                try readInstanceObject(
                    row: rows, accumulators: &accumulators, trackers: &trackers, firstShapes: &firstShapes)
            }
            rows += 1
        } while try scanner.nextArrayElement()

        var tensors: [String: Tensor] = [:]
        for (index, accumulator) in accumulators.enumerated() {
            let rowShape = firstShapes[index] ?? .scalar
            tensors[accumulator.name] = try finish(accumulator, shape: Shape([rows] + rowShape.dims))
        }
        return tensors
    }

    private mutating func readInstanceObject(
        row: Int, accumulators: inout [TensorAccumulator], trackers: inout [ShapeTracker], firstShapes: inout [Shape?]
    ) throws(ServingError) {
        guard scanner.peek() == UInt8(ascii: "{") else {
            throw .invalidArgument(
                "instances[\(row)] must be an object keyed by input name; signature '\(signature.name)' has inputs: \(inputList)")
        }
        try scanner.open(UInt8(ascii: "{"))
        var seen = [Bool](repeating: false, count: accumulators.count)
        if !scanner.closesEmptyObject() {
            repeat {
                let index = try inputName(for: try scanner.readKey(), context: "instances[\(row)]")
                guard !seen[index] else {
                    throw .invalidArgument("instances[\(row)] names input '\(inputNames[index])' twice")
                }
                seen[index] = true
                trackers[index].reset()
                try readValue(level: 0, tracker: &trackers[index], into: &accumulators[index])
                if let first = firstShapes[index] {
                    guard trackers[index].matches(first) else {
                        throw .invalidArgument(
                            "instances[\(row)] input '\(inputNames[index])' has shape \(trackers[index].shape) "
                                + "but instances[0] has shape \(first)")
                    }
                } else {
                    firstShapes[index] = trackers[index].shape
                }
            } while try scanner.nextObjectMember()
        }
        if let missing = seen.firstIndex(of: false) {
            throw .invalidArgument("instances[\(row)] is missing input '\(inputNames[missing])'")
        }
    }

    // MARK: Columnar format

    mutating func parseInputs() throws(ServingError) -> [String: Tensor] {
        var accumulators = try makeAccumulators()
        if accumulators.count == 1, scanner.peek() != UInt8(ascii: "{") || nextIsBase64Object() {
            var tracker = ShapeTracker()
            try readValue(level: 0, tracker: &tracker, into: &accumulators[0])
            return [accumulators[0].name: try finish(accumulators[0], shape: tracker.shape)]
        }
        guard scanner.peek() == UInt8(ascii: "{") else {
            throw .invalidArgument(
                "'inputs' must be an object keyed by input name; signature '\(signature.name)' has inputs: \(inputList)")
        }
        try scanner.open(UInt8(ascii: "{"))
        var shapes = [Shape?](repeating: nil, count: accumulators.count)
        if !scanner.closesEmptyObject() {
            repeat {
                let index = try inputName(for: try scanner.readKey(), context: "'inputs'")
                guard shapes[index] == nil else {
                    throw .invalidArgument("'inputs' names input '\(inputNames[index])' twice")
                }
                var tracker = ShapeTracker()
                try readValue(level: 0, tracker: &tracker, into: &accumulators[index])
                shapes[index] = tracker.shape
            } while try scanner.nextObjectMember()
        }
        var tensors: [String: Tensor] = [:]
        for (index, accumulator) in accumulators.enumerated() {
            guard let shape = shapes[index] else {
                throw .invalidArgument(
                    "Missing input '\(accumulator.name)' in 'inputs'; signature '\(signature.name)' has inputs: \(inputList)")
            }
            tensors[accumulator.name] = try finish(accumulator, shape: shape)
        }
        return tensors
    }

    // MARK: Values

    private func notRectangular(_ accumulator: TensorAccumulator, _ detail: String) -> ServingError {
        .invalidArgument("input '\(accumulator.name)' is not a rectangular nested list: \(detail)")
    }

    /// One value (scalar or nested list) of an input, appended in row-major order.
    private mutating func readValue(
        level: Int, tracker: inout ShapeTracker, into accumulator: inout TensorAccumulator
    ) throws(ServingError) {
        let next = scanner.peek()
        if next == UInt8(ascii: "[") {
            if let rank = tracker.rank, level >= rank {
                throw notRectangular(accumulator, "found a list at depth \(level + 1) where other elements are scalars")
            }
            try scanner.open(UInt8(ascii: "["))
            var count = 0
            if scanner.closesEmptyArray() {
                if tracker.rank == nil { tracker.rank = level + 1 }
            } else {
                // Numbers in a list of float32 values, the common body, go straight into the tensor;
                // anything else goes the general way, which also reports shape errors.
                let readsFloats = accumulator.dtype == .float32
                repeat {
                    if readsFloats, tracker.rank == nil || tracker.rank == level + 1,
                       let number = try scanner.readNumberIfPresent() {
                        if tracker.rank == nil { tracker.rank = level + 1 }
                        accumulator.appendFloat32(scanner.floatValue(number))
                    } else {
                        try readValue(level: level + 1, tracker: &tracker, into: &accumulator)
                    }
                    count += 1
                } while try scanner.nextArrayElement()
            }
            while tracker.dims.count <= level { tracker.dims.append(-1) }
            if tracker.dims[level] < 0 {
                tracker.dims[level] = count
            } else if tracker.dims[level] != count {
                throw notRectangular(
                    accumulator,
                    "a list at depth \(level + 1) has \(count) elements but an earlier one has \(tracker.dims[level])")
            }
            return
        }
        if let rank = tracker.rank {
            guard level == rank else {
                throw notRectangular(accumulator, "found a scalar at depth \(level) where other elements are lists")
            }
        } else {
            tracker.rank = level
        }
        try readScalar(into: &accumulator)
    }

    private mutating func readScalar(into accumulator: inout TensorAccumulator) throws(ServingError) {
        switch scanner.peek() {
        case UInt8(ascii: "\""):
            guard accumulator.dtype == .string else {
                throw .invalidArgument("input '\(accumulator.name)' expects \(accumulator.dtype.tensorFlowName) values, got a string")
            }
            try accumulator.appendString(try scanner.readString())
        case UInt8(ascii: "{"):
            try readBase64Object(into: &accumulator)
        default:
            switch try scanner.readScalarToken() {
            case .number(let number): try accumulator.appendNumber(number, scanner: scanner)
            case .bool(let value): try accumulator.appendBool(value)
            case .nan: try accumulator.appendNonFinite(.nan, text: "NaN")
            case .infinity(let negative):
                try accumulator.appendNonFinite(negative ? -.infinity : .infinity, text: negative ? "-Infinity" : "Infinity")
            case .null:
                throw .invalidArgument("input '\(accumulator.name)' expects \(accumulator.dtype.tensorFlowName) values, got null")
            }
        }
    }

    private mutating func readBase64Object(into accumulator: inout TensorAccumulator) throws(ServingError) {
        let objectStart = scanner.position
        guard accumulator.dtype == .string else {
            throw .invalidArgument(
                "input '\(accumulator.name)' expects \(accumulator.dtype.tensorFlowName) values, got an object")
        }
        let wrongShape = ServingError.invalidArgument(
            "input '\(accumulator.name)': an object value must be {\"b64\": \"<base64>\"} (at byte \(objectStart))")
        try scanner.open(UInt8(ascii: "{"))
        guard !scanner.closesEmptyObject(), try scanner.readKey() == Array("b64".utf8),
              scanner.peek() == UInt8(ascii: "\"")
        else { throw wrongShape }
        let text = try scanner.readString()
        guard try !scanner.nextObjectMember() else { throw wrongShape }
        guard let decoded = Base64.decode(text) else {
            throw .invalidArgument("input '\(accumulator.name)' has a 'b64' value that is not valid base64")
        }
        try accumulator.appendString(decoded)
    }
}
