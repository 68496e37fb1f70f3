@testable import API
import Foundation
import NIOCore
import SavedModel
import TFProtos
import Tensors

/// The PredictRequest wire reader against the full decoder: whatever the reader accepts, SwiftProtobuf
/// must decode to the same model spec, output filter and inputs, and each input's TensorProto must
/// convert to the same tensor, byte for byte.
enum PredictRequestFuzz {
    static func run(_ body: ByteBuffer) {
        guard let wire = PredictRequestWire(body) else { return }
        guard let full = try? Tensorflow_Serving_PredictRequest(serializedBytes: Array(body.readableBytesView)) else {
            preconditionFailure("the wire reader accepted a message SwiftProtobuf refuses")
        }
        precondition(wire.request.modelSpec == full.modelSpec && wire.request.hasModelSpec == full.hasModelSpec, "model spec differs")
        precondition(wire.request.outputFilter == full.outputFilter, "output filter differs")
        precondition(wire.inputs.map(\.name) == full.inputs.keys.sorted(), "input names differ")
        for (name, tensor) in wire.inputs {
            guard let proto = full.inputs[name], let expected = try? Tensor(proto: proto) else {
                preconditionFailure("input \(name) converts on the wire but not from its TensorProto")
            }
            precondition(tensor.dtype == expected.dtype && tensor.shape == expected.shape, "input \(name) dtype or shape differs")
            guard let got = tensor.buffer, let want = expected.buffer, got.byteCount == want.byteCount else {
                preconditionFailure("input \(name) storage differs")
            }
            precondition(memcmp(got.baseAddress, want.baseAddress, got.byteCount) == 0, "input \(name) bytes differ")
        }
    }
}
