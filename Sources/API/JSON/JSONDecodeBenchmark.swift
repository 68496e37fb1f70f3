import Dispatch
import NIOCore
import Tensors

/// Times the REST predict decoder alone on one body, for `model-server bench --json_body`.
public enum JSONDecodeBenchmark {
    /// Decodes `body` against `signature` repeatedly for about `seconds` and returns the median
    /// throughput in bytes per second; throws what decoding the body throws.
    public static func medianBytesPerSecond(
        body: [UInt8], signature: SignatureSpec, seconds: Double
    ) throws(ServingError) -> Double {
        let decoder = JSONTensorDecoder()
        var buffer = ByteBuffer()
        buffer.writeBytes(body)
        let resolve = { (_: String?) throws(ServingError) -> SignatureSpec in signature }
        _ = try decoder.decodePredict(buffer, signature: resolve)
        var rates: [Double] = []
        let budget = UInt64(seconds * 1e9)
        let start = DispatchTime.now().uptimeNanoseconds
        while DispatchTime.now().uptimeNanoseconds - start < budget {
            let began = DispatchTime.now().uptimeNanoseconds
            _ = try decoder.decodePredict(buffer, signature: resolve)
            let took = max(1, DispatchTime.now().uptimeNanoseconds - began)
            rates.append(Double(body.count) * 1e9 / Double(took))
        }
        rates.sort()
        return rates.isEmpty ? 0 : rates[rates.count / 2]
    }
}
