import Foundation
import Tensors

/// RFFT: the discrete Fourier transform of real float32 signals along the innermost axis, each cropped
/// or zero-padded to `fft_length`, keeping the `fft_length / 2 + 1` non-negative frequencies as complex64.
/// Sums run in double precision: a radix-2 FFT when the length is a power of two, the direct sum otherwise.
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
        let transform = RealTransform(length: length)
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
private struct RealTransform {
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
        if length & (length - 1) == 0 {
            var real = signal, imaginary = [Double](repeating: 0, count: length)
            radix2(&real, &imaginary)
            for k in 0..<bins { emit(k, real[k], imaginary[k]) }
            return
        }
        for k in 0..<bins {
            var real = 0.0, imaginary = 0.0
            var phase = 0
            for sample in signal {
                real += sample * cosines[phase]
                imaginary += sample * sines[phase]
                phase += k
                if phase >= length { phase -= length }
            }
            emit(k, real, imaginary)
        }
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
        guard input.dtype == .complex64 else { throw .unimplemented("\(op) supports complex64, got \(input.dtype)") }
        let (result, _) = try Tensor.allocateUninitialized(.float32, input.shape)
        let output = result.mutableElements(Float.self)
        guard let buffer = input.buffer, buffer.byteCount >= 8 * output.count else {
            throw .invalidArgument("\(op): the complex64 input holds fewer values than its shape \(input.shape)")
        }
        let pairs = buffer.typed(Float.self, count: 2 * output.count)
        for index in 0..<output.count { output[index] = pairs[2 * index + part] }
        return [result]
    }
}
