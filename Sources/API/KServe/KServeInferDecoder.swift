import NIOCore
import Tensors

/// Decodes a KServe v2 inference request: the JSON object with the existing scanner, each input's
/// `data` straight into tensor storage, and binary tensor data that follows the JSON when
/// `Inference-Header-Content-Length` is given.
struct KServeInferDecoder: Sendable {
    var maxDepth: Int = 64

    /// `headerLength` is the JSON's byte count when binary data follows it; nil means the whole body is JSON.
    func decode(_ body: ByteBuffer, headerLength: Int?) throws(ServingError) -> KServeInferRequest {
        let total = body.readableBytes
        let jsonLength = headerLength ?? total
        guard jsonLength >= 0, jsonLength <= total else {
            throw .invalidArgument(
                "Inference-Header-Content-Length is \(jsonLength) but the request body has only \(total) bytes")
        }
        let maxDepth = maxDepth
        let result: Result<KServeInferRequest, ServingError> = body.withUnsafeReadableBytes { bytes in
            do throws(ServingError) {
                var parser = KServeInferParser(
                    json: UnsafeRawBufferPointer(rebasing: bytes[0..<jsonLength]),
                    binary: UnsafeRawBufferPointer(rebasing: bytes[jsonLength...]),
                    maxDepth: maxDepth)
                return .success(try parser.parse())
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
}

/// One pass over the JSON header of an inference request.
struct KServeInferParser {
    var scanner: JSONScanner
    let binary: UnsafeRawBufferPointer
    /// How much of `binary` the inputs read so far have claimed.
    private var binaryCursor = 0

    init(json: UnsafeRawBufferPointer, binary: UnsafeRawBufferPointer, maxDepth: Int) {
        scanner = JSONScanner(bytes: json, maxDepth: maxDepth)
        self.binary = binary
    }

    mutating func parse() throws(ServingError) -> KServeInferRequest {
        var request = KServeInferRequest()
        var sawInputs = false
        guard scanner.peek() == UInt8(ascii: "{") else {
            throw scanner.isAtEnd ? scanner.expected("'{'") : .invalidArgument("The inference request must be a JSON object")
        }
        try scanner.open(UInt8(ascii: "{"))
        if !scanner.closesEmptyObject() {
            repeat {
                _ = scanner.peek()
                let keyStart = scanner.position
                switch try scanner.readKey() {
                case Array("id".utf8):
                    request.id = try readString("'id'")
                case Array("parameters".utf8):
                    try readRequestParameters(into: &request)
                case Array("inputs".utf8):
                    guard !sawInputs else { throw scanner.malformed("duplicate key 'inputs'", at: keyStart) }
                    sawInputs = true
                    request.inputs = try readInputs()
                case Array("outputs".utf8):
                    guard request.outputs == nil else { throw scanner.malformed("duplicate key 'outputs'", at: keyStart) }
                    request.outputs = try readRequestedOutputs()
                default:
                    try scanner.skipValue()
                }
            } while try scanner.nextObjectMember()
        }
        scanner.skipWhitespace()
        guard scanner.isAtEnd else { throw scanner.malformed("unexpected data after the top-level object") }
        guard sawInputs else { throw .invalidArgument("The inference request has no 'inputs'") }
        guard binaryCursor == binary.count else {
            throw .invalidArgument(
                "The request has \(binary.count) bytes of binary tensor data after its JSON header but its inputs "
                    + "declare \(binaryCursor) bytes in parameters.binary_data_size")
        }
        return request
    }

    // MARK: Scalars

    private mutating func readString(_ what: String) throws(ServingError) -> String {
        guard scanner.peek() == UInt8(ascii: "\"") else { throw .invalidArgument("\(what) must be a string") }
        return String(decoding: try scanner.readString(), as: UTF8.self)
    }

    private mutating func readBool(_ what: String) throws(ServingError) -> Bool {
        let wrong = ServingError.invalidArgument("\(what) must be true or false")
        switch scanner.peek() {
        case UInt8(ascii: "t"), UInt8(ascii: "f"):
            guard case .bool(let value) = try scanner.readScalarToken() else { throw wrong }
            return value
        default:
            throw wrong
        }
    }

    private mutating func readNonNegativeInteger(_ what: String) throws(ServingError) -> Int {
        let wrong = ServingError.invalidArgument("\(what) must be a non-negative integer")
        guard let next = scanner.peek(), next >= UInt8(ascii: "0") && next <= UInt8(ascii: "9") || next == UInt8(ascii: "-")
        else { throw wrong }
        guard case .number(let number) = try scanner.readScalarToken(),
              case .integral(isNegative: let negative, magnitude: let magnitude) = scanner.integerValue(number),
              !negative || magnitude == 0, let value = Int(exactly: magnitude)
        else { throw wrong }
        return value
    }

    private mutating func openObject(_ what: String) throws(ServingError) -> Bool {
        guard scanner.peek() == UInt8(ascii: "{") else { throw .invalidArgument("\(what) must be an object") }
        try scanner.open(UInt8(ascii: "{"))
        return !scanner.closesEmptyObject()
    }

    private mutating func openArray(_ what: String) throws(ServingError) -> Bool {
        guard scanner.peek() == UInt8(ascii: "[") else { throw .invalidArgument("\(what) must be a list") }
        try scanner.open(UInt8(ascii: "["))
        return !scanner.closesEmptyArray()
    }

    // MARK: Request members

    private mutating func readRequestParameters(into request: inout KServeInferRequest) throws(ServingError) {
        guard try openObject("'parameters'") else { return }
        repeat {
            switch try scanner.readKey() {
            case Array("signature_name".utf8):
                let name = try readString("parameters.signature_name")
                request.signatureName = name.isEmpty ? nil : name
            case Array("binary_data_output".utf8):
                request.binaryDataOutput = try readBool("parameters.binary_data_output")
            default:
                try scanner.skipValue()
            }
        } while try scanner.nextObjectMember()
    }

    private mutating func readRequestedOutputs() throws(ServingError) -> [KServeRequestedOutput] {
        var outputs: [KServeRequestedOutput] = []
        guard try openArray("'outputs'") else { return outputs }
        repeat {
            let label = "outputs[\(outputs.count)]"
            var name: String?
            var binaryData: Bool?
            if try openObject(label) {
                repeat {
                    switch try scanner.readKey() {
                    case Array("name".utf8):
                        name = try readString("\(label).name")
                    case Array("parameters".utf8):
                        guard try openObject("\(label).parameters") else { break }
                        repeat {
                            switch try scanner.readKey() {
                            case Array("binary_data".utf8):
                                binaryData = try readBool("\(label).parameters.binary_data")
                            case Array("classification".utf8):
                                throw .unimplemented("The classification extension is not supported; request the output tensor itself")
                            default:
                                try scanner.skipValue()
                            }
                        } while try scanner.nextObjectMember()
                    default:
                        try scanner.skipValue()
                    }
                } while try scanner.nextObjectMember()
            }
            guard let name else { throw .invalidArgument("\(label) has no 'name'") }
            guard !outputs.contains(where: { $0.name == name }) else {
                throw .invalidArgument("Output '\(name)' is requested more than once")
            }
            outputs.append(KServeRequestedOutput(name: name, binaryData: binaryData))
        } while try scanner.nextArrayElement()
        return outputs
    }

    // MARK: Inputs

    private mutating func readInputs() throws(ServingError) -> [KServeInput] {
        var inputs: [KServeInput] = []
        guard try openArray("'inputs'") else { return inputs }
        repeat {
            let input = try readInput(index: inputs.count)
            guard !inputs.contains(where: { $0.name == input.name }) else {
                throw .invalidArgument("Input '\(input.name)' is given more than once")
            }
            inputs.append(input)
        } while try scanner.nextArrayElement()
        return inputs
    }

    /// Where a `data` value stands when its datatype was not known yet on reaching it.
    private struct DeferredData {
        var position: Int
        var depth: Int
    }

    private mutating func readInput(index: Int) throws(ServingError) -> KServeInput {
        let label = "inputs[\(index)]"
        var name: String?
        var dims: [Int]?
        var datatype: String?
        var binarySize: Int?
        var decoded: TensorAccumulator?
        var deferred: DeferredData?
        var sawData = false
        if try openObject(label) {
            repeat {
                _ = scanner.peek()
                let keyStart = scanner.position
                let key = try scanner.readKey()
                let duplicate = scanner.malformed("duplicate key '\(String(decoding: key, as: UTF8.self))'", at: keyStart)
                switch key {
                case Array("name".utf8):
                    guard name == nil else { throw duplicate }
                    name = try readString("\(label).name")
                case Array("shape".utf8):
                    guard dims == nil else { throw duplicate }
                    dims = try readShape(name ?? label)
                case Array("datatype".utf8):
                    guard datatype == nil else { throw duplicate }
                    datatype = try readString("\(label).datatype")
                case Array("parameters".utf8):
                    binarySize = try readInputParameters(name ?? label)
                case Array("data".utf8):
                    guard !sawData else { throw duplicate }
                    sawData = true
                    if let datatype, let dtype = DType(kserveName: datatype) {
                        var accumulator = try TensorAccumulator(name: name ?? label, dtype: dtype)
                        try readData(into: &accumulator)
                        decoded = accumulator
                    } else {
                        _ = scanner.peek()
                        deferred = DeferredData(position: scanner.position, depth: scanner.depth)
                        try scanner.skipValue()
                    }
                default:
                    try scanner.skipValue()
                }
            } while try scanner.nextObjectMember()
        }

        guard let name else { throw .invalidArgument("\(label) has no 'name'") }
        guard let datatype else { throw .invalidArgument("Input '\(name)' has no 'datatype'") }
        guard let dtype = DType(kserveName: datatype) else {
            let known = DType.allCases.compactMap(\.kserveName).joined(separator: ", ")
            throw .invalidArgument("Input '\(name)' has unknown datatype '\(datatype)'; known datatypes: \(known)")
        }
        guard let dims else { throw .invalidArgument("Input '\(name)' has no 'shape'") }
        let shape = Shape(dims)
        var count = 1
        for dim in dims {
            let (product, overflow) = count.multipliedReportingOverflow(by: dim)
            guard !overflow else { throw .invalidArgument("Input '\(name)' has shape \(shape), which has too many elements") }
            count = product
        }

        if let binarySize {
            guard !sawData else {
                throw .invalidArgument("Input '\(name)' has both 'data' and parameters.binary_data_size; give one")
            }
            let remaining = binary.count - binaryCursor
            guard binarySize <= remaining else {
                throw .invalidArgument(
                    "Input '\(name)' declares binary_data_size \(binarySize) but only \(remaining) bytes of binary "
                        + "tensor data remain after the JSON header")
            }
            let start = binaryCursor
            binaryCursor += binarySize
            let bytes = UnsafeRawBufferPointer(rebasing: binary[start..<binaryCursor])
            return KServeInput(name: name, tensor: try KServeBinaryTensor.read(bytes, name: name, dtype: dtype, shape: shape))
        }
        guard sawData else {
            throw .invalidArgument("Input '\(name)' has neither 'data' nor parameters.binary_data_size")
        }
        var accumulator: TensorAccumulator
        if let decoded {
            accumulator = decoded
        } else {
            let resume = scanner
            scanner = JSONScanner(
                bytes: scanner.bytes, position: deferred?.position ?? scanner.position,
                depth: deferred?.depth ?? scanner.depth, maxDepth: scanner.maxDepth)
            accumulator = try TensorAccumulator(name: name, dtype: dtype)
            try readData(into: &accumulator)
            scanner = resume
        }
        guard accumulator.count == count else {
            throw .invalidArgument(
                "Input '\(name)' has shape \(shape), which holds \(count) elements, but its data has \(accumulator.count) values")
        }
        return KServeInput(name: name, tensor: accumulator.makeTensor(shape: shape))
    }

    private mutating func readShape(_ name: String) throws(ServingError) -> [Int] {
        var dims: [Int] = []
        guard try openArray("The shape of input '\(name)'") else { return dims }
        repeat {
            dims.append(try readNonNegativeInteger("Each dimension in the shape of input '\(name)'"))
        } while try scanner.nextArrayElement()
        return dims
    }

    /// `binary_data_size` when given; other parameters are ignored.
    private mutating func readInputParameters(_ name: String) throws(ServingError) -> Int? {
        var size: Int?
        guard try openObject("The parameters of input '\(name)'") else { return nil }
        repeat {
            switch try scanner.readKey() {
            case Array("binary_data_size".utf8):
                size = try readNonNegativeInteger("binary_data_size of input '\(name)'")
            default:
                try scanner.skipValue()
            }
        } while try scanner.nextObjectMember()
        return size
    }

    /// A `data` value, flat or nested, appended in row-major order.
    private mutating func readData(into accumulator: inout TensorAccumulator) throws(ServingError) {
        let datatype = accumulator.dtype.kserveName ?? accumulator.dtype.tensorFlowName
        func mismatch(_ got: String) -> ServingError {
            .invalidArgument("Input '\(accumulator.name)' has datatype \(datatype) but its data holds \(got)")
        }
        switch scanner.peek() {
        case UInt8(ascii: "["):
            try scanner.open(UInt8(ascii: "["))
            if scanner.closesEmptyArray() { return }
            let isFloat32 = accumulator.dtype == .float32
            repeat {
                if isFloat32, let number = try scanner.readNumberIfPresent() {
                    accumulator.appendFloat32(scanner.floatValue(number))
                } else {
                    try readData(into: &accumulator)
                }
            } while try scanner.nextArrayElement()
        case UInt8(ascii: "\""):
            guard accumulator.dtype == .string else { throw mismatch("a string") }
            try accumulator.appendString(try scanner.readString())
        case UInt8(ascii: "{"):
            throw mismatch("an object")
        default:
            switch try scanner.readScalarToken() {
            case .number(let number):
                guard accumulator.dtype != .string, accumulator.dtype != .bool else { throw mismatch("a number") }
                try accumulator.appendNumber(number, scanner: scanner)
            case .bool(let value):
                guard accumulator.dtype == .bool else { throw mismatch("a boolean") }
                try accumulator.appendBool(value)
            case .nan:
                try accumulator.appendNonFinite(.nan, text: "NaN")
            case .infinity(let negative):
                try accumulator.appendNonFinite(negative ? -.infinity : .infinity, text: negative ? "-Infinity" : "Infinity")
            case .null:
                throw mismatch("null")
            }
        }
    }
}
