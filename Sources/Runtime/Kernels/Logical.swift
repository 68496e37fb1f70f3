import Tensors

/// LogicalAnd / LogicalOr with broadcasting.
struct LogicalBinaryKernel: Kernel {
    let op: String
    let isAnd: Bool

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 2, op)
        let a = inputs[0], b = inputs[1]
        guard a.dtype == .bool, b.dtype == .bool else { throw .invalidArgument("\(op) needs bool operands") }
        let isAnd = isAnd
        return [try broadcastMap(a, b, read: a.elements(Bool.self), b.elements(Bool.self)) {
            isAnd ? ($0 && $1) : ($0 || $1)
        }]
    }
}

/// LogicalNot.
struct LogicalNotKernel: Kernel {
    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 1, "LogicalNot")
        let x = inputs[0]
        guard x.dtype == .bool else { throw .invalidArgument("LogicalNot needs a bool operand") }
        let (result, _) = try Tensor.allocate(.bool, x.shape)
        let out = result.mutableElements(Bool.self), input = x.elements(Bool.self)
        for i in 0..<min(out.count, input.count) { out[i] = !input[i] }
        return [result]
    }
}
