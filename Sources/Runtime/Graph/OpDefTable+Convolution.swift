import Tensors

extension OpDefTable {
    /// 3-D convolution and pooling, and the convolution input gradients transposed convolutions lower to.
    static let convolutionDefinitions: [OpDefinition] = {
        let ndhwc = NodeAttr.string(Array("NDHWC".utf8))
        let ones4 = NodeAttr.list([NodeAttr](repeating: .int(1), count: 4))
        let ones5 = NodeAttr.list([NodeAttr](repeating: .int(1), count: 5))
        return [
            OpDefinition("Conv3D", outputs: [("output", .single)], defaults: ["data_format": ndhwc, "dilations": ones5]) {
                attrs throws(ServingError) in try Conv3DKernel(attrs: attrs)
            },
            OpDefinition("Conv2DBackpropInput", outputs: [("output", .single)],
                         defaults: ["data_format": .string(Array("NHWC".utf8)), "dilations": ones4,
                                    "explicit_paddings": .list([]), "use_cudnn_on_gpu": .bool(true)]) { attrs throws(ServingError) in
                try ConvolutionBackpropInputKernel(op: "Conv2DBackpropInput", spatialRank: 2, attrs: attrs)
            },
            OpDefinition("Conv3DBackpropInputV2", outputs: [("output", .single)],
                         defaults: ["data_format": ndhwc, "dilations": ones5]) { attrs throws(ServingError) in
                try ConvolutionBackpropInputKernel(op: "Conv3DBackpropInputV2", spatialRank: 3, attrs: attrs)
            },
            OpDefinition("MaxPool3D", outputs: [("output", .single)], defaults: ["data_format": ndhwc]) { attrs throws(ServingError) in
                try Pool3DKernel(maximum: true, attrs: attrs)
            },
            OpDefinition("AvgPool3D", outputs: [("output", .single)], defaults: ["data_format": ndhwc]) { attrs throws(ServingError) in
                try Pool3DKernel(maximum: false, attrs: attrs)
            },
        ]
    }()
}
