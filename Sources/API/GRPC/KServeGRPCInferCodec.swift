import Foundation
import NIOCore
import TFProtos
import Tensors

/// Converts `ModelInferRequest` / `ModelInferResponse` messages to and from tensors: typed
/// `InferTensorContents` fields, or `raw_input_contents` / `raw_output_contents` in the binary
/// tensor layout (little-endian, row-major; BYTES elements with a 4-byte length prefix).
enum KServeGRPCInferCodec {
    static func request(_ message: Inference_ModelInferRequest) throws(ServingError) -> KServeInferRequest {
        var decoded = KServeInferRequest()
        decoded.id = message.id.isEmpty ? nil : message.id
        let raw = message.rawInputContents
        guard raw.isEmpty || raw.count == message.inputs.count else {
            throw .invalidArgument(
                "The request has \(message.inputs.count) inputs but \(raw.count) raw_input_contents; "
                    + "send one raw_input_contents entry per input, or none")
        }
        var seen: Set<String> = []
        for (index, input) in message.inputs.enumerated() {
            guard seen.insert(input.name).inserted else {
                throw .invalidArgument("Input '\(input.name)' appears more than once in the request")
            }
            guard let dtype = DType(kserveName: input.datatype) else {
                throw .invalidArgument("Input '\(input.name)' has unsupported datatype '\(input.datatype)'")
            }
            guard input.shape.allSatisfy({ $0 >= 0 }), input.shape.allSatisfy({ $0 <= Int64(Int.max) }) else {
                throw .invalidArgument("Input '\(input.name)' has invalid shape \(input.shape); dimensions must be non-negative")
            }
            let shape = Shape(input.shape.map { Int($0) })
            guard elementCount(shape) != nil else {
                throw .invalidArgument("Input '\(input.name)' shape \(shape) has too many elements")
            }
            let tensor: Tensor
            if raw.isEmpty {
                guard input.hasContents else {
                    throw .invalidArgument("Input '\(input.name)' has no contents and the request has no raw_input_contents")
                }
                tensor = try typedTensor(input.contents, name: input.name, dtype: dtype, shape: shape)
            } else {
                if input.hasContents, !isEmpty(input.contents) {
                    throw .invalidArgument(
                        "Input '\(input.name)' has both contents and raw_input_contents; use one or the other")
                }
                let read: Result<Tensor, ServingError> = raw[index].withUnsafeBytes { bytes in
                    do throws(ServingError) {
                        return .success(try KServeBinaryTensor.read(bytes, name: input.name, dtype: dtype, shape: shape))
                    } catch {
                        return .failure(error)
                    }
                }
                tensor = try read.get()
            }
            decoded.inputs.append(KServeInput(name: input.name, tensor: tensor))
        }
        if !message.outputs.isEmpty {
            decoded.outputs = message.outputs.map { KServeRequestedOutput(name: $0.name, binaryData: nil) }
        }
        return decoded
    }

    static func response(
        _ outputs: [String: Tensor], selection: KServeOutputSelection, modelName: String, version: Int64, id: String?,
        raw: Bool
    ) throws(ServingError) -> Inference_ModelInferResponse {
        var response = Inference_ModelInferResponse()
        response.modelName = modelName
        response.modelVersion = String(version)
        response.id = id ?? ""
        let entries = try selection.entries(from: outputs)
        let useRaw = raw || entries.contains { $0.tensor.dtype == .float16 || $0.tensor.dtype == .bfloat16 }
        for entry in entries {
            var output = Inference_ModelInferResponse.InferOutputTensor()
            output.name = entry.name
            let dtype = entry.tensor.dtype
            guard let datatype = dtype.kserveName else {
                throw .internal("Output '\(entry.name)' has dtype \(dtype.tensorFlowName), which KServe cannot represent")
            }
            output.datatype = datatype
            output.shape = entry.tensor.shape.dims.map(Int64.init)
            if useRaw {
                var buffer = ByteBuffer()
                _ = try KServeBinaryTensor.write(entry.tensor, name: entry.name, into: &buffer)
                response.rawOutputContents.append(Data(buffer.readableBytesView))
            } else {
                output.contents = try typedContents(entry.tensor, name: entry.name)
            }
            response.outputs.append(output)
        }
        return response
    }

    private static func elementCount(_ shape: Shape) -> Int? {
        var count = 1
        for dim in shape.dims {
            let (product, overflow) = count.multipliedReportingOverflow(by: dim)
            if overflow { return nil }
            count = product
        }
        return count
    }

    private static func isEmpty(_ contents: Inference_InferTensorContents) -> Bool {
        contents.boolContents.isEmpty && contents.intContents.isEmpty && contents.int64Contents.isEmpty
            && contents.uintContents.isEmpty && contents.uint64Contents.isEmpty && contents.fp32Contents.isEmpty
            && contents.fp64Contents.isEmpty && contents.bytesContents.isEmpty
    }

    private static func typedTensor(
        _ contents: Inference_InferTensorContents, name: String, dtype: DType, shape: Shape
    ) throws(ServingError) -> Tensor {
        let count = shape.elementCount
        func check(_ given: Int, _ field: String) throws(ServingError) {
            guard given == count else {
                throw .invalidArgument(
                    "Input '\(name)' has \(given) values in \(field) but \(dtype.kserveName ?? dtype.tensorFlowName) shape \(shape) needs \(count)")
            }
        }
        switch dtype {
        case .bool:
            try check(contents.boolContents.count, "bool_contents")
            return Tensor(contents.boolContents, shape: shape)
        case .int8:
            try check(contents.intContents.count, "int_contents")
            return Tensor(contents.intContents.map { Int8(truncatingIfNeeded: $0) }, shape: shape)
        case .int16:
            try check(contents.intContents.count, "int_contents")
            return Tensor(contents.intContents.map { Int16(truncatingIfNeeded: $0) }, shape: shape)
        case .int32:
            try check(contents.intContents.count, "int_contents")
            return Tensor(contents.intContents, shape: shape)
        case .int64:
            try check(contents.int64Contents.count, "int64_contents")
            return Tensor(contents.int64Contents, shape: shape)
        case .uint8:
            try check(contents.uintContents.count, "uint_contents")
            return Tensor(contents.uintContents.map { UInt8(truncatingIfNeeded: $0) }, shape: shape)
        case .uint16:
            try check(contents.uintContents.count, "uint_contents")
            return Tensor(contents.uintContents.map { UInt16(truncatingIfNeeded: $0) }, shape: shape)
        case .uint32:
            try check(contents.uintContents.count, "uint_contents")
            return Tensor(contents.uintContents, shape: shape)
        case .uint64:
            try check(contents.uint64Contents.count, "uint64_contents")
            return Tensor(contents.uint64Contents, shape: shape)
        case .float32:
            try check(contents.fp32Contents.count, "fp32_contents")
            return Tensor(contents.fp32Contents, shape: shape)
        case .float64:
            try check(contents.fp64Contents.count, "fp64_contents")
            return Tensor(contents.fp64Contents, shape: shape)
        case .string:
            try check(contents.bytesContents.count, "bytes_contents")
            return Tensor(strings: contents.bytesContents.map { [UInt8]($0) }, shape: shape)
        case .float16, .bfloat16, .complex64, .resource, .variant:
            throw .invalidArgument(
                "Input '\(name)' of datatype \(dtype.kserveName ?? dtype.tensorFlowName) must be sent in raw_input_contents")
        }
    }

    private static func typedContents(_ tensor: Tensor, name: String) throws(ServingError) -> Inference_InferTensorContents {
        var contents = Inference_InferTensorContents()
        switch tensor.dtype {
        case .bool: contents.boolContents = tensor.scalars(as: Bool.self)
        case .int8: contents.intContents = tensor.scalars(as: Int8.self).map(Int32.init)
        case .int16: contents.intContents = tensor.scalars(as: Int16.self).map(Int32.init)
        case .int32: contents.intContents = tensor.scalars(as: Int32.self)
        case .int64: contents.int64Contents = tensor.scalars(as: Int64.self)
        case .uint8: contents.uintContents = tensor.scalars(as: UInt8.self).map(UInt32.init)
        case .uint16: contents.uintContents = tensor.scalars(as: UInt16.self).map(UInt32.init)
        case .uint32: contents.uintContents = tensor.scalars(as: UInt32.self)
        case .uint64: contents.uint64Contents = tensor.scalars(as: UInt64.self)
        case .float32: contents.fp32Contents = tensor.scalars(as: Float.self)
        case .float64: contents.fp64Contents = tensor.scalars(as: Double.self)
        case .string:
            guard let strings = tensor.strings else {
                throw .internal("Output '\(name)' is a string tensor without string storage")
            }
            contents.bytesContents = strings.map { Data($0) }
        case .float16, .bfloat16, .complex64, .resource, .variant:
            throw .internal("Output '\(name)' of dtype \(tensor.dtype.tensorFlowName) cannot be sent as typed contents")
        }
        return contents
    }
}
