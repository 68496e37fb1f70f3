import Foundation

/// Philox4x32-10 as TensorFlow's `random::PhiloxRandom`: a 128-bit counter and a 64-bit key give
/// four 32-bit outputs per call, after which the counter advances by one.
struct Philox: Sendable {
    var counter: SIMD4<UInt32>
    var key: SIMD2<UInt32>

    /// The generator TensorFlow's stateless ops derive from a shape-[2] seed (`GenerateKey` in
    /// stateless_random_ops.cc): the seed, read as two uint64 values, is scrambled by one Philox call.
    init(seed0: UInt64, seed1: UInt64) {
        let start = Philox(counter: SIMD4(UInt32(truncatingIfNeeded: seed0), UInt32(truncatingIfNeeded: seed0 >> 32),
                                          UInt32(truncatingIfNeeded: seed1), UInt32(truncatingIfNeeded: seed1 >> 32)),
                           key: SIMD2(0x3EC8_F720, 0x0246_1E29))
        let mix = start.block()
        self.init(counter: SIMD4(0, 0, mix[2], mix[3]), key: SIMD2(mix[0], mix[1]))
    }

    init(counter: SIMD4<UInt32>, key: SIMD2<UInt32>) {
        self.counter = counter
        self.key = key
    }

    /// The generator of the V2 ops' uint64 key and two-element uint64 counter.
    init(key: UInt64, counter0: UInt64, counter1: UInt64) {
        self.init(counter: SIMD4(UInt32(truncatingIfNeeded: counter0), UInt32(truncatingIfNeeded: counter0 >> 32),
                                 UInt32(truncatingIfNeeded: counter1), UInt32(truncatingIfNeeded: counter1 >> 32)),
                  key: SIMD2(UInt32(truncatingIfNeeded: key), UInt32(truncatingIfNeeded: key >> 32)))
    }

    /// The key as the V2 ops' uint64 key tensor holds it.
    var packedKey: UInt64 { UInt64(key[0]) | UInt64(key[1]) << 32 }
    /// The counter as the V2 ops' uint64 counter tensor holds it.
    var packedCounter: (UInt64, UInt64) {
        (UInt64(counter[0]) | UInt64(counter[1]) << 32, UInt64(counter[2]) | UInt64(counter[3]) << 32)
    }

    /// The output for the current counter, without advancing.
    func block() -> SIMD4<UInt32> {
        var c = counter
        var k = key
        for round in 0..<10 {
            let p0 = UInt64(0xD251_1F53) &* UInt64(c[0])
            let p1 = UInt64(0xCD9E_8D57) &* UInt64(c[2])
            c = SIMD4(UInt32(truncatingIfNeeded: p1 >> 32) ^ c[1] ^ k[0], UInt32(truncatingIfNeeded: p1),
                      UInt32(truncatingIfNeeded: p0 >> 32) ^ c[3] ^ k[1], UInt32(truncatingIfNeeded: p0))
            if round < 9 { k &+= SIMD2(0x9E37_79B9, 0xBB67_AE85) }
        }
        return c
    }

    mutating func next() -> SIMD4<UInt32> {
        let result = block()
        skip(1)
        return result
    }

    /// Advances the 128-bit counter by `count` calls, with `PhiloxRandom::Skip`'s carries.
    mutating func skip(_ count: UInt64) {
        let low = UInt32(truncatingIfNeeded: count)
        var high = UInt32(truncatingIfNeeded: count >> 32)
        counter[0] &+= low
        if counter[0] < low { high &+= 1 }
        counter[1] &+= high
        guard counter[1] < high else { return }
        counter[2] &+= 1
        if counter[2] == 0 { counter[3] &+= 1 }
    }

    /// `count` outputs one at a time, as TensorFlow's `SingleSampleAdapter` hands them out.
    struct SingleSamples {
        var generator: Philox
        private var buffer = SIMD4<UInt32>()
        private var used = 4

        init(_ generator: Philox) { self.generator = generator }

        mutating func next() -> UInt32 {
            if used == 4 {
                buffer = generator.next()
                used = 0
            }
            defer { used += 1 }
            return buffer[used]
        }
    }
}

/// TensorFlow's bit-level conversions of Philox outputs to floating point (random_distributions.h).
enum PhiloxConversion {
    /// A float in [0, 1) from the low 23 bits.
    @inline(__always) static func float(_ x: UInt32) -> Float {
        Float(bitPattern: 0x3F80_0000 | (x & 0x7F_FFFF)) - 1
    }

    /// A double in [0, 1) from 52 bits: the low 20 bits of `high` above all of `low`.
    @inline(__always) static func double(_ high: UInt32, _ low: UInt32) -> Double {
        Double(bitPattern: 0x3FF0_0000_0000_0000 | UInt64(high & 0xF_FFFF) << 32 | UInt64(low)) - 1
    }

    /// A half in [0, 1) from the low 10 bits, as its bit pattern.
    @inline(__always) static func half(_ x: UInt32) -> UInt16 {
        (Float16(bitPattern: 0x3C00 | UInt16(truncatingIfNeeded: x & 0x3FF)) - 1).bitPattern
    }

    /// A bfloat16 in [0, 1) from the low 7 bits, as its bit pattern.
    @inline(__always) static func bfloat16(_ x: UInt32) -> UInt16 {
        let value = Float(bitPattern: UInt32(0x3F80 | (x & 0x7F)) << 16) - 1
        return UInt16(truncatingIfNeeded: value.bitPattern >> 16)
    }

    /// Box-Muller on two outputs: (sin, cos) scaled by the radius, as `BoxMullerFloat`.
    @inline(__always) static func normalPair(_ x0: UInt32, _ x1: UInt32) -> (Float, Float) {
        var u1 = float(x0)
        if u1 < 1.0e-7 { u1 = 1.0e-7 }
        let v1 = Float(2 * Double.pi * Double(float(x1)))
        let u2 = (-2 * logf(u1)).squareRoot()
        return (sinf(v1) * u2, cosf(v1) * u2)
    }

    /// Box-Muller on four outputs in double precision, as `BoxMullerDouble`.
    @inline(__always) static func normalPair(_ x: SIMD4<UInt32>) -> (Double, Double) {
        var u1 = double(x[0], x[1])
        if u1 < 1.0e-7 { u1 = 1.0e-7 }
        let v1 = 2 * Double.pi * double(x[2], x[3])
        let u2 = (-2 * Foundation.log(u1)).squareRoot()
        return (Foundation.sin(v1) * u2, Foundation.cos(v1) * u2)
    }
}
