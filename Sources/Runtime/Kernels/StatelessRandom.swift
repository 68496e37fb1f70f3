import Foundation
import Tensors

/// The distributions TensorFlow's stateless random ops draw from.
enum StatelessDistribution: Sendable {
    case uniform, normal, truncatedNormal, uniformInt, uniformFullInt
}

/// How a stateless random op receives its generator state.
enum StatelessSeeding: Sendable {
    /// `shape, seed[2]` (StatelessRandomUniform, ...), scrambled like TensorFlow's `GenerateKey`.
    case seed
    /// `shape, key[1], counter[2], alg` (StatelessRandomUniformV2, ...).
    case keyCounter
}

/// The stateless random ops, bit-exact with TensorFlow's CPU kernels: the same Philox4x32-10 stream
/// consumed in the same groups (four 32-bit outputs per call, one call per output group, 256 calls
/// reserved per group of truncated normals).
struct StatelessRandomKernel: Kernel {
    let op: String
    let location: String
    let distribution: StatelessDistribution
    let dtype: DType
    let seeding: StatelessSeeding

    init(op: String, distribution: StatelessDistribution, seeding: StatelessSeeding, attrs: AttrReader) throws(ServingError) {
        self.op = op
        self.location = attrs.location
        self.distribution = distribution
        self.seeding = seeding
        dtype = try attrs.dtype("dtype")
        let supported: [DType] = switch distribution {
        case .uniform, .normal, .truncatedNormal: [.float32, .float64, .float16, .bfloat16]
        case .uniformInt, .uniformFullInt: [.int32, .int64, .uint32, .uint64]
        }
        guard supported.contains(dtype) else {
            throw .unimplemented("\(attrs.location): \(op) does not support dtype \(dtype); expected one of \(supported)")
        }
    }

    private var stateInputs: Int { seeding == .seed ? 2 : 4 }

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, stateInputs + (distribution == .uniformInt ? 2 : 0), "\(location): \(op)")
        let shapeTensor = inputs[0]
        guard shapeTensor.shape.rank == 1 else {
            throw .invalidArgument("\(location): \(op) shape must be a vector, got \(shapeTensor.shape)")
        }
        let shape = Shape(try shapeTensor.integerValues())
        let generator: Philox = switch seeding {
        case .seed: try StatelessRandomState.generator(seed: inputs[1], location: location, op: op)
        case .keyCounter: try StatelessRandomState.generator(key: inputs[1], counter: inputs[2], algorithm: inputs[3],
                                                              location: location, op: op)
        }
        let (result, _) = try Tensor.allocateUninitialized(dtype, shape)
        switch (distribution, dtype) {
        case (.uniform, .float32):
            fill(result.mutableElements(Float.self), generator) { block, i in PhiloxConversion.float(block[i]) }
        case (.uniform, .float16):
            fill(result.mutableElements(UInt16.self), generator) { block, i in PhiloxConversion.half(block[i]) }
        case (.uniform, .bfloat16):
            fill(result.mutableElements(UInt16.self), generator) { block, i in PhiloxConversion.bfloat16(block[i]) }
        case (.uniform, .float64):
            fill(result.mutableElements(Double.self), generator, perBlock: 2) { block, i in
                PhiloxConversion.double(block[2 * i], block[2 * i + 1])
            }
        case (.normal, .float32): fillNormal(result.mutableElements(Float.self), generator) { $0 }
        case (.normal, .float16): fillNormal(result.mutableElements(UInt16.self), generator) { Float16($0).bitPattern }
        case (.normal, .bfloat16): fillNormal(result.mutableElements(UInt16.self), generator, Self.bfloat16Bits)
        case (.normal, .float64):
            fill(result.mutableElements(Double.self), generator, perBlock: 2) { block, i in
                let pair = PhiloxConversion.normalPair(block)
                return i == 0 ? pair.0 : pair.1
            }
        case (.truncatedNormal, .float32): fillTruncated(result.mutableElements(Float.self), generator) { $0 }
        case (.truncatedNormal, .float16):
            fillTruncated(result.mutableElements(UInt16.self), generator) { Float16($0).bitPattern }
        case (.truncatedNormal, .bfloat16): fillTruncated(result.mutableElements(UInt16.self), generator, Self.bfloat16Bits)
        case (.truncatedNormal, .float64): fillTruncatedDouble(result.mutableElements(Double.self), generator)
        case (.uniformInt, _): try fillUniformInt(result, generator, minimum: inputs[stateInputs], maximum: inputs[stateInputs + 1])
        case (.uniformFullInt, .int32):
            fill(result.mutableElements(Int32.self), generator) { block, i in Int32(bitPattern: block[i]) }
        case (.uniformFullInt, .uint32): fill(result.mutableElements(UInt32.self), generator) { block, i in block[i] }
        case (.uniformFullInt, .int64):
            fill(result.mutableElements(Int64.self), generator, perBlock: 2) { block, i in
                Int64(bitPattern: Self.wide(block, i))
            }
        case (.uniformFullInt, .uint64):
            fill(result.mutableElements(UInt64.self), generator, perBlock: 2) { block, i in Self.wide(block, i) }
        default:
            throw .unimplemented("\(location): \(op) does not support dtype \(dtype)")
        }
        return [result]
    }

    @inline(__always) private static func wide(_ block: SIMD4<UInt32>, _ i: Int) -> UInt64 {
        UInt64(block[2 * i]) | UInt64(block[2 * i + 1]) << 32
    }

    /// Round-to-nearest-even bfloat16 bits of a float, as Eigen converts.
    private static func bfloat16Bits(_ value: Float) -> UInt16 {
        guard !value.isNaN else { return 0x7FC0 }
        let bits = value.bitPattern
        let rounded = bits &+ 0x7FFF &+ ((bits >> 16) & 1)
        return UInt16(truncatingIfNeeded: rounded >> 16)
    }

    /// One Philox call per group of `perBlock` elements; a partial last group keeps its leading elements.
    private func fill<T>(_ out: UnsafeMutableBufferPointer<T>, _ generator: Philox, perBlock: Int = 4,
                         _ element: (SIMD4<UInt32>, Int) -> T) {
        var generator = generator
        var offset = 0
        while offset < out.count {
            let block = generator.next()
            for i in 0..<min(perBlock, out.count - offset) { out[offset + i] = element(block, i) }
            offset += perBlock
        }
    }

    private func fillNormal<T>(_ out: UnsafeMutableBufferPointer<T>, _ generator: Philox, _ convert: (Float) -> T) {
        var generator = generator
        var offset = 0
        while offset < out.count {
            let block = generator.next()
            let first = PhiloxConversion.normalPair(block[0], block[1])
            let second = PhiloxConversion.normalPair(block[2], block[3])
            let values = SIMD4(first.0, first.1, second.0, second.1)
            for i in 0..<min(4, out.count - offset) { out[offset + i] = convert(values[i]) }
            offset += 4
        }
    }

    /// Groups of four normals within two standard deviations, each group drawn by rejection from its
    /// own reserved stretch of 256 Philox calls.
    private func fillTruncated<T>(_ out: UnsafeMutableBufferPointer<T>, _ generator: Philox, _ convert: (Float) -> T) {
        var group: UInt64 = 0
        var offset = 0
        while offset < out.count {
            var start = generator
            start.skip(group * 256)
            var samples = Philox.SingleSamples(start)
            var accepted = 0
            let wanted = min(4, out.count - offset)
            draw: while true {
                let x0 = samples.next(), x1 = samples.next()
                let pair = PhiloxConversion.normalPair(x0, x1)
                let values = SIMD2(pair.0, pair.1)
                for i in 0..<2 where abs(values[i]) < 2 {
                    out[offset + accepted] = convert(values[i])
                    accepted += 1
                    if accepted == wanted { break draw }
                }
            }
            offset += 4
            group += 1
        }
    }

    private func fillTruncatedDouble(_ out: UnsafeMutableBufferPointer<Double>, _ generator: Philox) {
        var group: UInt64 = 0
        var offset = 0
        while offset < out.count {
            var start = generator
            start.skip(group * 128)
            var samples = Philox.SingleSamples(start)
            var accepted = 0
            let wanted = min(2, out.count - offset)
            draw: while true {
                let block = SIMD4(samples.next(), samples.next(), samples.next(), samples.next())
                let pair = PhiloxConversion.normalPair(block)
                let values = SIMD2(pair.0, pair.1)
                for i in 0..<2 where abs(values[i]) < 2 {
                    out[offset + accepted] = values[i]
                    accepted += 1
                    if accepted == wanted { break draw }
                }
            }
            offset += 2
            group += 1
        }
    }

    private func fillUniformInt(_ result: Tensor, _ generator: Philox, minimum: Tensor, maximum: Tensor) throws(ServingError) {
        guard minimum.dtype == dtype, maximum.dtype == dtype, minimum.shape.rank == 0, maximum.shape.rank == 0 else {
            throw .invalidArgument("\(location): \(op) minval and maxval must be \(dtype) scalars, got "
                + "\(minimum.dtype)\(minimum.shape) and \(maximum.dtype)\(maximum.shape)")
        }
        switch dtype {
        case .int32:
            let low = minimum.elements(Int32.self)[0], high = maximum.elements(Int32.self)[0]
            try checkRange(low < high, low, high)
            let range = UInt32(bitPattern: high) &- UInt32(bitPattern: low)
            fill(result.mutableElements(Int32.self), generator) { block, i in low &+ Int32(bitPattern: block[i] % range) }
        case .uint32:
            let low = minimum.elements(UInt32.self)[0], high = maximum.elements(UInt32.self)[0]
            try checkRange(low < high, low, high)
            let range = high &- low
            fill(result.mutableElements(UInt32.self), generator) { block, i in low &+ block[i] % range }
        case .int64:
            let low = minimum.elements(Int64.self)[0], high = maximum.elements(Int64.self)[0]
            try checkRange(low < high, low, high)
            let range = UInt64(bitPattern: high) &- UInt64(bitPattern: low)
            fill(result.mutableElements(Int64.self), generator, perBlock: 2) { block, i in
                low &+ Int64(bitPattern: Self.wide(block, i) % range)
            }
        case .uint64:
            let low = minimum.elements(UInt64.self)[0], high = maximum.elements(UInt64.self)[0]
            try checkRange(low < high, low, high)
            let range = high &- low
            fill(result.mutableElements(UInt64.self), generator, perBlock: 2) { block, i in low &+ Self.wide(block, i) % range }
        default:
            throw .unimplemented("\(location): \(op) does not support dtype \(dtype)")
        }
    }

    private func checkRange<T>(_ ordered: Bool, _ low: T, _ high: T) throws(ServingError) {
        guard ordered else { throw .invalidArgument("\(location): \(op) needs minval < maxval, got \(low) >= \(high)") }
    }
}

/// Reading the generator state operands of the stateless random ops.
enum StatelessRandomState {
    /// The Philox algorithm id, and the id of "auto select", which is Philox on CPU.
    static let philoxAlgorithm: Int32 = 1
    static let autoSelectAlgorithm: Int32 = 3

    static func seedValues(_ seed: Tensor, location: String, op: String) throws(ServingError) -> (UInt64, UInt64) {
        guard seed.shape == [2] else {
            throw .invalidArgument("\(location): \(op) seed must have shape [2], got \(seed.shape)")
        }
        switch seed.dtype {
        case .int32:
            let values = seed.elements(Int32.self)
            return (UInt64(bitPattern: Int64(values[0])), UInt64(bitPattern: Int64(values[1])))
        case .int64:
            let values = seed.elements(Int64.self)
            return (UInt64(bitPattern: values[0]), UInt64(bitPattern: values[1]))
        default:
            throw .invalidArgument("\(location): \(op) seed must be int32 or int64, got \(seed.dtype)")
        }
    }

    static func generator(seed: Tensor, location: String, op: String) throws(ServingError) -> Philox {
        let (seed0, seed1) = try seedValues(seed, location: location, op: op)
        return Philox(seed0: seed0, seed1: seed1)
    }

    static func generator(key: Tensor, counter: Tensor, algorithm: Tensor, location: String, op: String) throws(ServingError) -> Philox {
        guard algorithm.dtype == .int32, algorithm.elementCount == 1, algorithm.shape.rank == 0 else {
            throw .invalidArgument("\(location): \(op) alg must be an int32 scalar, got \(algorithm.dtype)\(algorithm.shape)")
        }
        let id = algorithm.elements(Int32.self)[0]
        guard id == philoxAlgorithm || id == autoSelectAlgorithm else {
            throw .unimplemented("\(location): \(op) algorithm \(id) is not supported; only Philox (1) and auto-select (3)")
        }
        guard key.dtype == .uint64, key.shape == [1] else {
            throw .invalidArgument("\(location): \(op) key must be uint64 of shape [1], got \(key.dtype)\(key.shape)")
        }
        guard counter.dtype == .uint64, counter.shape.rank == 1, counter.elementCount >= 2 else {
            throw .invalidArgument("\(location): \(op) counter must be a uint64 vector of at least 2 elements, "
                + "got \(counter.dtype)\(counter.shape)")
        }
        let values = counter.elements(UInt64.self)
        return Philox(key: key.elements(UInt64.self)[0], counter0: values[0], counter1: values[1])
    }
}

/// StatelessRandomGetKeyCounter / StatelessRandomGetKeyCounterAlg / StatelessRandomGetAlg: the
/// Philox key and counter TensorFlow derives from a seed, and the algorithm id it picks on CPU.
struct StatelessRandomKeyCounterKernel: Kernel {
    let op: String
    let location: String
    let keyCounter: Bool
    let algorithm: Bool

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        let algorithmTensor = Tensor([StatelessRandomState.philoxAlgorithm], shape: [])
        guard keyCounter else {
            try expectInputs(inputs, 0, "\(location): \(op)")
            return [algorithmTensor]
        }
        try expectInputs(inputs, 1, "\(location): \(op)")
        let generator = try StatelessRandomState.generator(seed: inputs[0], location: location, op: op)
        let counter = generator.packedCounter
        let outputs = [Tensor([generator.packedKey], shape: [1]), Tensor([counter.0, counter.1], shape: [2])]
        return algorithm ? outputs + [algorithmTensor] : outputs
    }
}

/// StatelessRandomGammaV2 (seed) / StatelessRandomGammaV3 (key, counter, alg): Marsaglia and Tsang's
/// transformation-rejection in double precision as TensorFlow runs it, each sample drawing from its
/// own stretch of 256 Philox calls; `alpha` covers the trailing dimensions of the output shape.
struct StatelessRandomGammaKernel: Kernel {
    let op: String
    let location: String
    let dtype: DType
    let seeding: StatelessSeeding

    init(op: String, seeding: StatelessSeeding, attrs: AttrReader) throws(ServingError) {
        self.op = op
        self.seeding = seeding
        location = attrs.location
        dtype = try attrs.dtype("dtype")
        guard dtype == .float32 || dtype == .float64 || dtype == .float16 else {
            throw .unimplemented("\(attrs.location): \(op) does not support dtype \(dtype); expected float32, float64 or float16")
        }
    }

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        let stateInputs = seeding == .seed ? 2 : 4
        try expectInputs(inputs, stateInputs + 1, "\(location): \(op)")
        guard inputs[0].shape.rank == 1 else {
            throw .invalidArgument("\(location): \(op) shape must be a vector, got \(inputs[0].shape)")
        }
        let shape = Shape(try inputs[0].integerValues())
        let alpha = inputs[stateInputs]
        guard alpha.dtype == dtype, alpha.shape.rank <= shape.rank,
              Array(shape.dims.suffix(alpha.shape.rank)) == alpha.shape.dims else {
            throw .invalidArgument("\(location): \(op) alpha \(alpha.dtype)\(alpha.shape) must be \(dtype) shaped like the "
                + "trailing dimensions of \(shape)")
        }
        let generator: Philox = switch seeding {
        case .seed: try StatelessRandomState.generator(seed: inputs[1], location: location, op: op)
        case .keyCounter: try StatelessRandomState.generator(key: inputs[1], counter: inputs[2], algorithm: inputs[3],
                                                              location: location, op: op)
        }
        let (result, _) = try Tensor.allocateUninitialized(dtype, shape)
        let alphas: [Double] = switch dtype {
        case .float32: alpha.elements(Float.self).map { Double($0) }
        case .float64: Array(alpha.elements(Double.self))
        default: alpha.elements(UInt16.self).map { Double(Float16(bitPattern: $0)) }
        }
        let total = shape.elementCount
        guard total > 0, !alphas.isEmpty else { return [result] }
        let perAlpha = total / alphas.count
        for index in 0..<total {
            let alphaIndex = index / perAlpha, sample = index - alphaIndex * perAlpha
            let value = Self.sample(alpha: alphas[alphaIndex], generator, index: UInt64(index))
            let position = sample * alphas.count + alphaIndex
            switch dtype {
            case .float32: result.mutableElements(Float.self)[position] = Float(value)
            case .float64: result.mutableElements(Double.self)[position] = value
            default: result.mutableElements(UInt16.self)[position] = Float16(Float(value)).bitPattern
            }
        }
        return [result]
    }

    /// Double-precision normals and uniforms from one Philox stream, each taken from the end of its
    /// pair first, as TensorFlow's sampler does.
    private struct Draws {
        var generator: Philox
        var normals: (Double, Double) = (0, 0)
        var normalsLeft = 0
        var uniforms: (Double, Double) = (0, 0)
        var uniformsLeft = 0

        mutating func normal() -> Double {
            if normalsLeft == 0 {
                normals = PhiloxConversion.normalPair(generator.next())
                normalsLeft = 2
            }
            normalsLeft -= 1
            return normalsLeft == 1 ? normals.1 : normals.0
        }

        mutating func uniform() -> Double {
            if uniformsLeft == 0 {
                let block = generator.next()
                uniforms = (PhiloxConversion.double(block[0], block[1]), PhiloxConversion.double(block[2], block[3]))
                uniformsLeft = 2
            }
            uniformsLeft -= 1
            return uniformsLeft == 1 ? uniforms.1 : uniforms.0
        }
    }

    private static func sample(alpha: Double, _ generator: Philox, index: UInt64) -> Double {
        var start = generator
        start.skip(256 &* index)
        var draws = Draws(generator: start)
        if alpha == 1 { return -Foundation.log1p(-draws.uniform()) }
        let belowOne = alpha < 1
        let d = alpha + (belowOne ? 2.0 / 3 : -1.0 / 3)
        let c = 1.0 / 3 / d.squareRoot()
        while true {
            let x = draws.normal()
            var v = 1 + c * x
            if v <= 0 { continue }
            v = v * v * v
            let u = draws.uniform()
            if u < 1 - 0.0331 * (x * x) * (x * x) || Foundation.log(u) < 0.5 * x * x + d * (1 - v + Foundation.log(v)) {
                var result = d * v
                if belowOne { result *= Foundation.pow(draws.uniform(), 1 / alpha) }
                return result
            }
        }
    }
}
