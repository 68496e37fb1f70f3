@testable import Runtime
import Tensors
import Testing

/// Conv3D, the convolution input gradients and the 3-D pools, checked against the 2-D kernels and
/// against the adjoint identity <conv(x, w), dy> = <x, backprop(dy, w)>.
@Suite struct VolumeConvolutionTests {
    private func random(_ count: Int, seed: inout UInt64) -> [Float] {
        (0..<count).map { _ in
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int(seed >> 40) % 2000 - 1000) / 250
        }
    }

    private func kernel(_ op: String, _ values: [String: NodeAttr]) throws -> any Kernel {
        let definition = try #require(OpDefTable.definition(op))
        let factory = try #require(definition.makeKernel)
        return try factory(AttrReader(attrs: values, defaults: definition.defaults, location: "node 'test'"))
    }

    private func list(_ values: [Int]) -> NodeAttr { .list(values.map { .int(Int64($0)) }) }
    private func text(_ value: String) -> NodeAttr { .string(Array(value.utf8)) }

    private func close(_ a: [Float], _ b: [Float], tolerance: Float = 1e-4) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tolerance * max(1, abs($1)) }
    }

    private func dot(_ a: [Float], _ b: [Float]) -> Double { zip(a, b).reduce(0) { $0 + Double($1.0) * Double($1.1) } }

    @Test(arguments: [(1, 1, "SAME"), (2, 1, "SAME"), (2, 1, "VALID"), (3, 2, "SAME"), (1, 2, "VALID")])
    func backpropInputIsTheAdjointOfConv2D(_ setup: (Int, Int, String)) throws {
        let (stride, dilation, padding) = setup
        let (n, h, w, c, kh, kw, o) = (2, 7, 6, 3, 3, 2, 4)
        var seed: UInt64 = 11
        let x = random(n * h * w * c, seed: &seed), f = random(kh * kw * c * o, seed: &seed)
        let attrs: [String: NodeAttr] = [
            "strides": list([1, stride, stride, 1]), "dilations": list([1, dilation, dilation, 1]), "padding": text(padding),
        ]
        let forward = try kernel("Conv2D", attrs).run([Tensor(x, shape: [n, h, w, c]), Tensor(f, shape: [kh, kw, c, o])])[0]
        let dy = random(forward.elementCount, seed: &seed)
        let dx = try kernel("Conv2DBackpropInput", attrs).run([
            Tensor([Int32(n), Int32(h), Int32(w), Int32(c)], shape: [4]), Tensor(f, shape: [kh, kw, c, o]),
            Tensor(dy, shape: forward.shape),
        ])[0]
        #expect(dx.shape == [n, h, w, c])
        let lhs = dot(forward.scalars(as: Float.self), dy), rhs = dot(x, dx.scalars(as: Float.self))
        #expect(abs(lhs - rhs) <= 1e-3 * max(1, abs(lhs)))
    }

    @Test func backpropInputRejectsAMismatchedGradient() throws {
        let attrs: [String: NodeAttr] = ["strides": list([1, 1, 1, 1]), "padding": text("VALID")]
        #expect(throws: ServingError.self) {
            _ = try kernel("Conv2DBackpropInput", attrs).run([
                Tensor([Int32(1), 4, 4, 1], shape: [4]), Tensor([Float](repeating: 1, count: 4), shape: [2, 2, 1, 1]),
                Tensor([Float](repeating: 1, count: 16), shape: [1, 4, 4, 1]),
            ])
        }
    }

    @Test func conv3DOverOneDepthSliceEqualsConv2D() throws {
        let (n, d, h, w, c, kh, kw, o) = (2, 1, 6, 5, 3, 3, 3, 2)
        var seed: UInt64 = 5
        let x = random(n * d * h * w * c, seed: &seed), f = random(kh * kw * c * o, seed: &seed)
        let volume = try kernel("Conv3D", ["strides": list([1, 1, 2, 1, 1]), "dilations": list([1, 1, 1, 2, 1]), "padding": text("SAME")])
            .run([Tensor(x, shape: [n, d, h, w, c]), Tensor(f, shape: [1, kh, kw, c, o])])[0]
        let plane = try kernel("Conv2D", ["strides": list([1, 2, 1, 1]), "dilations": list([1, 1, 2, 1]), "padding": text("SAME")])
            .run([Tensor(x, shape: [n, h, w, c]), Tensor(f, shape: [kh, kw, c, o])])[0]
        #expect(volume.shape == [n, 1, 3, 5, o])
        #expect(close(volume.scalars(as: Float.self), plane.scalars(as: Float.self)))
    }

    @Test func conv3DBackpropInputIsTheAdjointOfConv3D() throws {
        let (n, d, h, w, c, o) = (1, 4, 5, 3, 2, 3)
        var seed: UInt64 = 9
        let x = random(n * d * h * w * c, seed: &seed), f = random(2 * 3 * 2 * c * o, seed: &seed)
        let attrs: [String: NodeAttr] = ["strides": list([1, 2, 1, 2, 1]), "padding": text("SAME")]
        let forward = try kernel("Conv3D", attrs).run([Tensor(x, shape: [n, d, h, w, c]), Tensor(f, shape: [2, 3, 2, c, o])])[0]
        let dy = random(forward.elementCount, seed: &seed)
        let dx = try kernel("Conv3DBackpropInputV2", attrs).run([
            Tensor([Int32(n), Int32(d), Int32(h), Int32(w), Int32(c)], shape: [5]), Tensor(f, shape: [2, 3, 2, c, o]),
            Tensor(dy, shape: forward.shape),
        ])[0]
        let lhs = dot(forward.scalars(as: Float.self), dy), rhs = dot(x, dx.scalars(as: Float.self))
        #expect(abs(lhs - rhs) <= 1e-3 * max(1, abs(lhs)))
    }

    @Test(arguments: [true, false])
    func pool3DOverOneDepthSliceEqualsPool2D(_ maximum: Bool) throws {
        var seed: UInt64 = 2
        let x = random(2 * 7 * 6 * 3, seed: &seed)
        let volume = try kernel(maximum ? "MaxPool3D" : "AvgPool3D", [
            "ksize": list([1, 1, 3, 2, 1]), "strides": list([1, 1, 2, 2, 1]), "padding": text("SAME"),
        ]).run([Tensor(x, shape: [2, 1, 7, 6, 3])])[0]
        let plane = try kernel(maximum ? "MaxPool" : "AvgPool", [
            "ksize": list([1, 3, 2, 1]), "strides": list([1, 2, 2, 1]), "padding": text("SAME"),
        ]).run([Tensor(x, shape: [2, 7, 6, 3])])[0]
        #expect(volume.shape == [2, 1, 4, 3, 3])
        #expect(close(volume.scalars(as: Float.self), plane.scalars(as: Float.self)))
    }
}
