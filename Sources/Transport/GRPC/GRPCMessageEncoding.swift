/// A per-message compression scheme named in `grpc-encoding` / `grpc-accept-encoding`.
public enum GRPCMessageEncoding: String, Sendable, Hashable, CaseIterable {
    case identity
    case gzip
    case deflate

    /// What this server accepts, as sent in `grpc-accept-encoding`.
    public static let acceptedHeaderValue = allCases.map(\.rawValue).joined(separator: ",")

    /// The encodings named in a comma-separated `grpc-accept-encoding` value; unknown names are skipped.
    public static func parseList(_ value: String?) -> Set<GRPCMessageEncoding> {
        guard let value else { return [] }
        var result: Set<GRPCMessageEncoding> = []
        for item in value.split(separator: ",") {
            let name = item.trimmingCharacters(in: " \t").lowercased()
            if let encoding = GRPCMessageEncoding(rawValue: name) { result.insert(encoding) }
        }
        return result
    }
}

extension Substring {
    /// The text without the leading and trailing characters found in `set` (header field parsing).
    public func trimmingCharacters(in set: String) -> Substring {
        var text = self
        while let first = text.first, set.contains(first) { text.removeFirst() }
        while let last = text.last, set.contains(last) { text.removeLast() }
        return text
    }
}
