@testable import API
import Foundation
import NIOCore
import SavedModel
import SwiftProtobuf
import TFProtos
import Tensors
import Transport

/// The parsers a request or a model file reaches, and the connection and model loading code around
/// them, each fed one fuzzer input; `FUZZ_TARGET` picks one.
enum FuzzTarget: String, CaseIterable {
    case predictJSON = "predict_json"
    case exampleJSON = "example_json"
    case kserveInfer = "kserve_infer"
    case tensorProto = "tensor_proto"
    case predictRequest = "predict_request"
    case grpcFraming = "grpc_framing"
    case configText = "config_text"
    case http2Session = "http2_session"
    case tfrecordWarmup = "tfrecord_warmup"
    case savedModel = "saved_model"

    static let signature = SignatureSpec(
        name: "serving_default", methodName: "tensorflow/serving/predict",
        inputs: [
            "x": TensorSpec(tensorName: "x:0", dtype: .float32, shape: ShapeSpec([-1, 4])),
            "ids": TensorSpec(tensorName: "ids:0", dtype: .int64, shape: ShapeSpec([-1])),
            "text": TensorSpec(tensorName: "text:0", dtype: .string, shape: ShapeSpec([-1])),
            "flag": TensorSpec(tensorName: "flag:0", dtype: .bool, shape: ShapeSpec(nil)),
        ],
        outputs: ["y": TensorSpec(tensorName: "y:0", dtype: .float32, shape: ShapeSpec([-1, 1]))])

    func run(_ bytes: UnsafeRawBufferPointer) {
        var body = ByteBuffer()
        body.writeBytes(bytes)
        switch self {
        case .predictJSON:
            _ = try? JSONTensorDecoder().decodePredict(body) { (_: String?) throws(ServingError) -> SignatureSpec in Self.signature }
        case .exampleJSON:
            _ = try? ExampleJSON.decode(body, method: "classify", maxDepth: 64)
        case .kserveInfer:
            // The first two bytes choose the JSON header's length (0xFFFF: all JSON), as the
            // Inference-Header-Content-Length field would.
            guard bytes.count >= 2 else { return }
            let announced = Int(bytes[0]) << 8 | Int(bytes[1])
            var rest = body
            rest.moveReaderIndex(forwardBy: 2)
            _ = try? KServeInferDecoder().decode(rest, headerLength: announced == 0xFFFF ? nil : announced)
        case .tensorProto:
            guard let proto = try? Tensorflow_TensorProto(serializedBytes: Array(bytes)) else { return }
            guard (try? RequestMemory.checkElementCount(proto.tensorShape.dim.lazy.map(\.size), limit: 1 << 20, what: "")) != nil
            else { return }
            _ = try? Tensor(proto: proto)
        case .predictRequest:
            PredictRequestFuzz.run(body)
        case .grpcFraming:
            for encoding in GRPCMessageEncoding.allCases {
                _ = try? GRPCUnaryFraming.unaryMessage(from: body, encoding: encoding, maxMessageBytes: 1 << 20)
            }
        case .configText:
            let text = String(decoding: bytes, as: UTF8.self)
            _ = try? Tensorflow_Serving_ModelServerConfig(textFormatString: text)
            _ = try? Tensorflow_Serving_BatchingParameters(textFormatString: text)
        case .http2Session:
            HTTPConnectionFuzz.run(bytes)
        case .tfrecordWarmup:
            WarmupFileFuzz.run(bytes)
        case .savedModel:
            SavedModelFuzz.run(bytes)
        }
    }
}

nonisolated(unsafe) private var selected = FuzzTarget.predictJSON

@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>>>) -> CInt {
    let name = ProcessInfo.processInfo.environment["FUZZ_TARGET"] ?? ""
    guard let target = FuzzTarget(rawValue: name) else {
        let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
        FileHandle.standardError.write(Data("FUZZ_TARGET must be one of: \(names)\n".utf8))
        exit(2)
    }
    selected = target
    if target == .savedModel {
        SavedModelFuzz.prepare()
    }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    selected.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

@_silgen_name("LLVMFuzzerRunDriver")
private func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt) -> CInt

/// SwiftPM links an executable's entry point under this name; it hands control to libFuzzer.
@_cdecl("ModelServerFuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    var count = argc
    var arguments = argv
    return runFuzzerDriver(&count, &arguments) { data, size in fuzzerTestOneInput(data, size) }
}
