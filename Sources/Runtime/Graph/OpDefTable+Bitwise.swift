import Tensors

extension OpDefTable {
    /// `tf.bitwise` (and, or, xor, shifts and complement on integer tensors) and Bitcast.
    static let bitwiseDefinitions: [OpDefinition] = {
        func bitwise(_ name: String, _ operation: BitwiseOperation) -> OpDefinition {
            OpDefinition(name, outputs: [("z", .single)]) { attrs in
                BitwiseKernel(op: name, location: attrs.location, operation: operation)
            }
        }
        return [
            bitwise("BitwiseAnd", .and),
            bitwise("BitwiseOr", .or),
            bitwise("BitwiseXor", .xor),
            bitwise("LeftShift", .leftShift),
            bitwise("RightShift", .rightShift),
            OpDefinition("Bitcast", outputs: [("output", .single)]) { attrs throws(ServingError) in try BitcastKernel(attrs: attrs) },
            OpDefinition("Invert", outputs: [("y", .single)]) { attrs in InvertKernel(location: attrs.location) },
        ]
    }()
}
