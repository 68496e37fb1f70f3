import Tensors

/// A parsed `/v1/models/...` request target.
struct TFServingPath: Sendable, Hashable {
    enum Action: String, Sendable, Hashable {
        case status
        case metadata
        case predict
        case classify
        case regress

        /// The only HTTP method the action answers.
        var method: String {
            switch self {
            case .status, .metadata: "GET"
            case .predict, .classify, .regress: "POST"
            }
        }
    }

    var model: ModelSpec
    var action: Action

    /// Parses a path without its query. Paths that are not TF Serving routes fail NOT_FOUND naming
    /// `method` and the path; a version together with a label fails INVALID_ARGUMENT.
    static func parse(_ path: Substring, method: String) throws(ServingError) -> TFServingPath {
        func malformed() -> ServingError { .notFound("Malformed request: \(method) \(path)") }
        let prefix: StaticString = "/v1/models/"
        let prefixLength = prefix.utf8CodeUnitCount
        guard path.utf8.count > prefixLength, path.utf8.prefix(prefixLength).equalsIgnoringASCIICase(prefix)
        else { throw malformed() }
        var rest = path[path.utf8.index(path.startIndex, offsetBy: prefixLength)...]

        var verb: Action?
        if let colon = rest.utf8.firstIndex(of: UInt8(ascii: ":")) {
            let word = rest[rest.utf8.index(after: colon)...].utf8
            if word.equalsIgnoringASCIICase("predict") {
                verb = .predict
            } else if word.equalsIgnoringASCIICase("classify") {
                verb = .classify
            } else if word.equalsIgnoringASCIICase("regress") {
                verb = .regress
            } else {
                throw malformed()
            }
            rest = rest[..<colon]
        }

        let segments = rest.split(separator: "/", omittingEmptySubsequences: false)
        guard let name = segments.first, !name.isEmpty else { throw malformed() }
        var version: Int64?
        var label: String?
        var isMetadata = false
        var index = 1
        while index < segments.count {
            let word = segments[index].utf8
            if index == segments.count - 1, verb == nil, word.equalsIgnoringASCIICase("metadata") {
                isMetadata = true
                index += 1
                continue
            }
            guard index + 1 < segments.count else { throw malformed() }
            let value = segments[index + 1]
            if word.equalsIgnoringASCIICase("versions") {
                guard version == nil, !value.isEmpty, value.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
                      let number = Int64(value)
                else { throw malformed() }
                version = number
            } else if word.equalsIgnoringASCIICase("labels") {
                guard label == nil, !value.isEmpty else { throw malformed() }
                label = String(value)
            } else {
                throw malformed()
            }
            index += 2
        }
        if version != nil, label != nil {
            throw .invalidArgument(
                "A request may name a version or a label, not both: \(method) \(path)")
        }
        let selector: VersionSelector = if let version { .number(version) } else if let label { .label(label) } else { .latest }
        let action = verb ?? (isMetadata ? .metadata : .status)
        return TFServingPath(model: ModelSpec(name: String(name), version: selector), action: action)
    }

}

extension Collection where Element == UInt8 {
    /// Whether these bytes spell `lowercase` (ASCII lower-case letters), ignoring ASCII case.
    func equalsIgnoringASCIICase(_ lowercase: StaticString) -> Bool {
        guard count == lowercase.utf8CodeUnitCount else { return false }
        return lowercase.withUTF8Buffer { expected in
            zip(self, expected).allSatisfy { byte, wanted in
                byte == wanted || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") && byte | 0x20 == wanted)
            }
        }
    }
}
