import NIOCore
import Tensors

/// TF Serving's status and metadata documents, field for field as its REST API prints them.
enum TFServingModelJSON {
    /// `{"model_version_status":[{"version":"3","state":"AVAILABLE","status":{"error_code":"OK","error_message":""}}]}`
    static func status(_ versions: [ModelVersionStatus]) -> ByteBuffer {
        var writer = JSONWriter(capacity: 64 + versions.count * 112)
        writer.beginObject()
        writer.key("model_version_status")
        writer.beginArray()
        for version in versions {
            writer.beginObject()
            writer.key("version")
            writer.string(String(version.version))
            writer.key("state")
            writer.string(version.state.name)
            writer.key("status")
            writer.beginObject()
            writer.key("error_code")
            writer.string(version.error?.code.name ?? StatusCode.ok.name)
            writer.key("error_message")
            writer.string(version.message)
            writer.endObject()
            writer.endObject()
        }
        writer.endArray()
        writer.endObject()
        return writer.buffer
    }

    /// `{"model_spec":{...},"metadata":{"signature_def":{"signature_def":{name: SignatureDef}}}}`.
    static func metadata(modelName: String, version: Int64, signatures: [String: SignatureSpec]) -> ByteBuffer {
        var writer = JSONWriter(capacity: 512)
        writer.beginObject()
        writer.key("model_spec")
        writer.beginObject()
        writer.key("name")
        writer.string(modelName)
        writer.key("signature_name")
        writer.string("")
        writer.key("version")
        writer.string(String(version))
        writer.endObject()
        writer.key("metadata")
        writer.beginObject()
        writer.key("signature_def")
        writer.beginObject()
        writer.key("signature_def")
        writer.beginObject()
        for name in signatures.keys.sorted() {
            guard let signature = signatures[name] else { continue }
            writer.key(name)
            writer.beginObject()
            writer.key("inputs")
            tensorInfoMap(signature.inputs, into: &writer)
            writer.key("outputs")
            tensorInfoMap(signature.outputs, into: &writer)
            writer.key("method_name")
            writer.string(signature.methodName)
            writer.key("defaults")
            writer.beginObject()
            writer.endObject()
            writer.endObject()
        }
        writer.endObject()
        writer.endObject()
        writer.endObject()
        writer.endObject()
        return writer.buffer
    }

    private static func tensorInfoMap(_ tensors: [String: TensorSpec], into writer: inout JSONWriter) {
        writer.beginObject()
        for key in tensors.keys.sorted() {
            guard let spec = tensors[key] else { continue }
            writer.key(key)
            writer.beginObject()
            writer.key("dtype")
            writer.string(spec.dtype.tensorFlowName)
            writer.key("tensor_shape")
            writer.beginObject()
            writer.key("dim")
            writer.beginArray()
            for size in spec.shape.dims ?? [] {
                writer.beginObject()
                writer.key("size")
                writer.string(String(size < 0 ? -1 : size))
                writer.key("name")
                writer.string("")
                writer.endObject()
            }
            writer.endArray()
            writer.key("unknown_rank")
            writer.bool(spec.shape.dims == nil)
            writer.endObject()
            writer.key("name")
            writer.string(spec.tensorName)
            writer.endObject()
        }
        writer.endObject()
    }
}
