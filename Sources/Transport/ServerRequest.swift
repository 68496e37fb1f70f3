import NIOCore

/// The HTTP version a request arrived on.
public enum HTTPVersionKind: Sendable, Hashable {
    case http1_1
    case http2
}

/// One HTTP header field; names are lowercase.
public struct HeaderField: Sendable, Hashable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// A complete request (head and whole body) as the layer above the transport sees it.
public struct ServerRequest: Sendable {
    public var method: String
    /// The request target as sent: path plus optional `?query`.
    public var path: String
    /// Every header field, names lowercase. Built on each read from what the transport received;
    /// `header(_:)` is the cheap way to look one field up.
    public var headers: [HeaderField] {
        get { fields.list }
        set { fields = .list(newValue) }
    }
    public var body: ByteBuffer
    public var version: HTTPVersionKind
    var fields: RequestHeaderFields

    public init(method: String, path: String, headers: [HeaderField], body: ByteBuffer, version: HTTPVersionKind) {
        self.init(method: method, path: path, fields: .list(headers), body: body, version: version)
    }

    init(method: String, path: String, fields: RequestHeaderFields, body: ByteBuffer, version: HTTPVersionKind) {
        self.method = method
        self.path = path
        self.fields = fields
        self.body = body
        self.version = version
    }

    /// The first value of header `name` (case-insensitive).
    public func header(_ name: String) -> String? {
        fields.first(name)
    }
}

/// A complete response. Trailers are sent on HTTP/2 only (gRPC status lives there).
public struct ServerResponse: Sendable {
    public var status: Int
    public var headers: [HeaderField]
    public var body: ByteBuffer
    public var trailers: [HeaderField]

    public init(status: Int, headers: [HeaderField] = [], body: ByteBuffer = ByteBuffer(), trailers: [HeaderField] = []) {
        self.status = status
        self.headers = headers
        self.body = body
        self.trailers = trailers
    }
}

/// Where the layer above sends its answer. `respond` may be called from any thread, exactly once;
/// the transport hops to the connection's event loop. A reset stream or closed connection marks
/// the writer cancelled, and a response sent after that is dropped.
public protocol ResponseWriter: Sendable {
    func respond(_ response: ServerResponse)
    var isCancelled: Bool { get }
}

/// The layer above the transport: receives whole requests, answers through the writer.
/// `handle` runs on an event loop and must not block.
public protocol ServerRequestHandler: Sendable {
    func handle(_ request: ServerRequest, writer: any ResponseWriter)
}
