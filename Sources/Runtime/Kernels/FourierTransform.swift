import Foundation
import Tensors

/// RFFT: the discrete Fourier transform of real float32 signals along the innermost axis, each cropped
/// or zero-padded to `fft_length`, keeping the `fft_length / 2 + 1` non-negative frequencies as complex64.
/// Sums run in double precision: a radix-2 FFT when the length is a power of two, the direct sum otherwise.
/// The same holds for the complex transforms below.
struct RFFTKernel: Kernel {
    /// The longest transform accepted; longer ones are refused rather than computed.
    static let maximumLength = 1 << 24

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 2, "RFFT")
        let signal = inputs[0]
        guard signal.dtype == .float32 else { throw .unimplemented("RFFT supports float32 signals, got \(signal.dtype)") }
        let rank = signal.shape.rank
        guard rank >= 1 else { throw .invalidArgument("RFFT needs a signal of rank 1 or more, got shape \(signal.shape)") }
        let lengths = try inputs[1].integerValues()
        guard lengths.count == 1, let length = lengths.first, length > 0, length <= Self.maximumLength else {
            throw .invalidArgument("RFFT fft_length must hold one length in 1...\(Self.maximumLength), got \(lengths)")
        }
        let inner = signal.shape[rank - 1]
        let rows = signal.shape.dims.dropLast().reduce(1, *)
        let bins = length / 2 + 1
        let (result, buffer) = try Tensor.allocateUninitialized(.complex64, Shape(signal.shape.dims.dropLast() + [bins]))
        let output = buffer.typed(Float.self, count: 2 * rows * bins)
        let samples = signal.elements(Float.self)
        let transform = FourierTransform(length: length)
        var row = [Double](repeating: 0, count: length)
        for index in 0..<rows {
            let used = min(inner, length)
            for j in 0..<used { row[j] = Double(samples[index * inner + j]) }
            for j in used..<length { row[j] = 0 }
            transform.apply(row, bins: bins) { k, real, imaginary in
                output[2 * (index * bins + k)] = Float(real)
                output[2 * (index * bins + k) + 1] = Float(imaginary)
            }
        }
        return [result]
    }
}

/// The transform of one length: twiddle factors `e^(-2πi k / length)` computed once per run.
private struct FourierTransform {
    let length: Int
    private let cosines: [Double]
    private let sines: [Double]

    init(length: Int) {
        self.length = length
        cosines = (0..<length).map { cos(-2 * Double.pi * Double($0) / Double(length)) }
        sines = (0..<length).map { sin(-2 * Double.pi * Double($0) / Double(length)) }
    }

    /// Calls `emit(k, real, imaginary)` for the first `bins` frequencies of `signal` (`length` samples).
    func apply(_ signal: [Double], bins: Int, _ emit: (Int, Double, Double) -> Void) {
        var real = signal, imaginary = [Double](repeating: 0, count: length)
        forward(&real, &imaginary)
        for k in 0..<bins { emit(k, real[k], imaginary[k]) }
    }

    /// The forward transform of one complex signal in place; the inverse (scaled by 1/length) when `inverse`.
    func transform(_ real: inout [Double], _ imaginary: inout [Double], inverse: Bool) {
        guard inverse else { return forward(&real, &imaginary) }
        for i in 0..<length { imaginary[i] = -imaginary[i] }
        forward(&real, &imaginary)
        let scale = 1 / Double(length)
        for i in 0..<length {
            real[i] *= scale
            imaginary[i] *= -scale
        }
    }

    private func forward(_ real: inout [Double], _ imaginary: inout [Double]) {
        if length & (length - 1) == 0 { return radix2(&real, &imaginary) }
        var outReal = [Double](repeating: 0, count: length), outImaginary = [Double](repeating: 0, count: length)
        for k in 0..<length {
            var re = 0.0, im = 0.0
            var phase = 0
            for t in 0..<length {
                re += real[t] * cosines[phase] - imaginary[t] * sines[phase]
                im += real[t] * sines[phase] + imaginary[t] * cosines[phase]
                phase += k
                if phase >= length { phase -= length }
            }
            outReal[k] = re
            outImaginary[k] = im
        }
        real = outReal
        imaginary = outImaginary
    }

    /// In-place iterative Cooley-Tukey FFT (bit-reversal permutation, then butterflies).
    private func radix2(_ real: inout [Double], _ imaginary: inout [Double]) {
        var j = 0
        for i in 1..<max(length, 1) {
            var bit = length >> 1
            while j & bit != 0 {
                j ^= bit
                bit >>= 1
            }
            j |= bit
            if i < j {
                real.swapAt(i, j)
                imaginary.swapAt(i, j)
            }
        }
        var size = 2
        while size <= length {
            let half = size / 2, step = length / size
            var start = 0
            while start < length {
                for offset in 0..<half {
                    let twiddle = offset * step
                    let a = start + offset, b = a + half
                    let re = real[b] * cosines[twiddle] - imaginary[b] * sines[twiddle]
                    let im = real[b] * sines[twiddle] + imaginary[b] * cosines[twiddle]
                    real[b] = real[a] - re
                    imaginary[b] = imaginary[a] - im
                    real[a] += re
                    imaginary[a] += im
                }
                start += size
            }
            size *= 2
        }
    }
}

/// Real and Imag: one part of each complex64 element, as float32.
struct ComplexPartKernel: Kernel {
    /// 0 for the real part, 1 for the imaginary part.
    let part: Int
    let op: String

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 1, op)
        let input = inputs[0]
        let pairs = try complexPairs(input, op)
        let (result, _) = try Tensor.allocateUninitialized(.float32, input.shape)
        let output = result.mutableElements(Float.self)
        for index in 0..<output.count { output[index] = pairs[2 * index + part] }
        return [result]
    }
}

/// The float pairs of a complex64 tensor, checked against its shape.
private func complexPairs(_ tensor: Tensor, _ op: String) throws(ServingError) -> UnsafeMutableBufferPointer<Float> {
    guard tensor.dtype == .complex64 else { throw .unimplemented("\(op) supports complex64, got \(tensor.dtype)") }
    let count = tensor.elementCount
    guard let buffer = tensor.buffer, buffer.byteCount >= 8 * count else {
        throw .invalidArgument("\(op): the complex64 input holds fewer values than its shape \(tensor.shape)")
    }
    return buffer.typed(Float.self, count: 2 * count)
}

/// FFT, IFFT (innermost axis), FFT2D and IFFT2D (innermost two axes) of complex64 tensors.
struct ComplexFourierKernel: Kernel {
    /// 1 or 2: how many innermost axes are transformed.
    let axes: Int
    let inverse: Bool
    let op: String

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 1, op)
        let input = inputs[0]
        let rank = input.shape.rank
        guard rank >= axes else { throw .invalidArgument("\(op) needs a tensor of rank \(axes) or more, got shape \(input.shape)") }
        let source = try complexPairs(input, op)
        let (result, buffer) = try Tensor.allocateUninitialized(.complex64, input.shape)
        let output = buffer.typed(Float.self, count: source.count)
        guard input.elementCount > 0 else { return [result] }
        let width = input.shape[rank - 1], height = axes == 2 ? input.shape[rank - 2] : 1
        guard width <= RFFTKernel.maximumLength, height <= RFFTKernel.maximumLength else {
            throw .invalidArgument("\(op): transforms longer than \(RFFTKernel.maximumLength) are refused, got shape \(input.shape)")
        }
        let plane = width * height
        let rows = FourierTransform(length: width), columns = FourierTransform(length: height)
        var real = [Double](repeating: 0, count: plane), imaginary = [Double](repeating: 0, count: plane)
        var lineReal = [Double](repeating: 0, count: max(width, height)), lineImaginary = lineReal
        for start in stride(from: 0, to: input.elementCount, by: plane) {
            for i in 0..<plane {
                real[i] = Double(source[2 * (start + i)])
                imaginary[i] = Double(source[2 * (start + i) + 1])
            }
            for row in 0..<height {
                lineReal = Array(real[(row * width)..<((row + 1) * width)])
                lineImaginary = Array(imaginary[(row * width)..<((row + 1) * width)])
                rows.transform(&lineReal, &lineImaginary, inverse: inverse)
                for j in 0..<width {
                    real[row * width + j] = lineReal[j]
                    imaginary[row * width + j] = lineImaginary[j]
                }
            }
            if axes == 2 {
                for column in 0..<width {
                    lineReal = (0..<height).map { real[$0 * width + column] }
                    lineImaginary = (0..<height).map { imaginary[$0 * width + column] }
                    columns.transform(&lineReal, &lineImaginary, inverse: inverse)
                    for i in 0..<height {
                        real[i * width + column] = lineReal[i]
                        imaginary[i * width + column] = lineImaginary[i]
                    }
                }
            }
            for i in 0..<plane {
                output[2 * (start + i)] = Float(real[i])
                output[2 * (start + i) + 1] = Float(imaginary[i])
            }
        }
        return [result]
    }
}

/// IRFFT: real signals of `fft_length` samples from their `fft_length / 2 + 1` non-negative frequencies
/// along the innermost axis (cropped or zero-padded to that many), the rest taken as their conjugates.
struct InverseRFFTKernel: Kernel {
    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 2, "IRFFT")
        let spectrum = inputs[0]
        let rank = spectrum.shape.rank
        guard rank >= 1 else { throw .invalidArgument("IRFFT needs a spectrum of rank 1 or more, got shape \(spectrum.shape)") }
        let source = try complexPairs(spectrum, "IRFFT")
        let lengths = try inputs[1].integerValues()
        guard lengths.count == 1, let length = lengths.first, length > 0, length <= RFFTKernel.maximumLength else {
            throw .invalidArgument("IRFFT fft_length must hold one length in 1...\(RFFTKernel.maximumLength), got \(lengths)")
        }
        let inner = spectrum.shape[rank - 1], rows = spectrum.shape.dims.dropLast().reduce(1, *)
        let bins = length / 2 + 1, used = min(inner, bins)
        let (result, _) = try Tensor.allocateUninitialized(.float32, Shape(spectrum.shape.dims.dropLast() + [length]))
        let output = result.mutableElements(Float.self)
        let transform = FourierTransform(length: length)
        var real = [Double](repeating: 0, count: length), imaginary = real
        for row in 0..<rows {
            for k in 0..<length {
                real[k] = 0
                imaginary[k] = 0
            }
            for k in 0..<used {
                real[k] = Double(source[2 * (row * inner + k)])
                imaginary[k] = Double(source[2 * (row * inner + k) + 1])
            }
            for k in bins..<max(length, bins) {
                real[k] = real[length - k]
                imaginary[k] = -imaginary[length - k]
            }
            transform.transform(&real, &imaginary, inverse: true)
            for t in 0..<length { output[row * length + t] = Float(real[t]) }
        }
        return [result]
    }
}

/// Complex: complex64 elements from broadcast float32 real and imaginary parts.
struct ComplexKernel: Kernel {
    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 2, "Complex")
        let real = inputs[0], imaginary = inputs[1]
        guard real.dtype == .float32, imaginary.dtype == .float32 else {
            throw .unimplemented("Complex supports float32 parts (complex64), got \(real.dtype) and \(imaginary.dtype)")
        }
        let shape = try broadcastShape(real.shape, imaginary.shape)
        let re = try real.broadcast(to: shape).elements(Float.self), im = try imaginary.broadcast(to: shape).elements(Float.self)
        let (result, buffer) = try Tensor.allocateUninitialized(.complex64, shape)
        let output = buffer.typed(Float.self, count: 2 * re.count)
        for i in 0..<re.count {
            output[2 * i] = re[i]
            output[2 * i + 1] = im[i]
        }
        return [result]
    }
}
