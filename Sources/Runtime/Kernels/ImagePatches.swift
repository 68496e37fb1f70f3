import Tensors

/// ExtractImagePatches: every `ksizes` patch of an NHWC image (dilated by `rates`, every `strides`), its
/// values flattened into the depth of one output position; positions outside the image read zero.
struct ImagePatchesKernel: Kernel {
    let kernelSize: (rows: Int, columns: Int)
    let strides: (rows: Int, columns: Int)
    let rates: (rows: Int, columns: Int)
    let samePadding: Bool

    init(sizes: [Int], strides: [Int], rates: [Int], padding: String, location: String) throws(ServingError) {
        guard sizes.count == 4, strides.count == 4, rates.count == 4, sizes[0] == 1, sizes[3] == 1, strides[0] == 1, strides[3] == 1,
              rates[0] == 1, rates[3] == 1, sizes[1] > 0, sizes[2] > 0, strides[1] > 0, strides[2] > 0, rates[1] > 0, rates[2] > 0 else {
            throw .invalidArgument("\(location): ExtractImagePatches needs ksizes, strides and rates of the form [1, rows, cols, 1] with positive entries, got \(sizes), \(strides), \(rates)")
        }
        guard padding == "SAME" || padding == "VALID" else {
            throw .invalidArgument("\(location): ExtractImagePatches padding must be SAME or VALID, got '\(padding)'")
        }
        kernelSize = (sizes[1], sizes[2])
        self.strides = (strides[1], strides[2])
        self.rates = (rates[1], rates[2])
        samePadding = padding == "SAME"
    }

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 1, "ExtractImagePatches")
        let image = inputs[0]
        guard image.shape.rank == 4 else { throw .invalidArgument("ExtractImagePatches needs an NHWC image, got shape \(image.shape)") }
        guard image.dtype.isFixedSize, let source = image.buffer else { throw .unimplemented("ExtractImagePatches does not support \(image.dtype)") }
        let batch = image.shape[0], height = image.shape[1], width = image.shape[2], depth = image.shape[3]
        let (outRows, top) = outputExtent(height, kernel: kernelSize.rows, stride: strides.rows, rate: rates.rows)
        let (outColumns, left) = outputExtent(width, kernel: kernelSize.columns, stride: strides.columns, rate: rates.columns)
        let patchDepth = kernelSize.rows * kernelSize.columns * depth
        let (result, buffer) = try Tensor.allocate(image.dtype, [batch, outRows, outColumns, patchDepth])
        let size = image.dtype.byteSize
        var destination = 0
        for b in 0..<batch {
            for r in 0..<outRows {
                for c in 0..<outColumns {
                    for i in 0..<kernelSize.rows {
                        let row = r * strides.rows + i * rates.rows - top
                        for j in 0..<kernelSize.columns {
                            let column = c * strides.columns + j * rates.columns - left
                            if row >= 0, row < height, column >= 0, column < width {
                                let offset = ((b * height + row) * width + column) * depth
                                (buffer.baseAddress + destination * size).copyMemory(from: source.baseAddress + offset * size, byteCount: depth * size)
                            }
                            destination += depth
                        }
                    }
                }
            }
        }
        return [result]
    }

    /// Output positions along one axis and the padding before the first, as TensorFlow's SAME / VALID rules give.
    private func outputExtent(_ input: Int, kernel: Int, stride: Int, rate: Int) -> (count: Int, before: Int) {
        let effective = (kernel - 1) * rate + 1
        guard samePadding else { return (max(input - effective + stride, 0) / stride, 0) }
        let count = (input + stride - 1) / stride
        let total = max((count - 1) * stride + effective - input, 0)
        return (count, total / 2)
    }
}
