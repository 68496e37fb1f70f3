import Tensors

/// One output of a flattened node.
struct ValueRef: Hashable, Sendable {
    var node: Int
    var output: Int
}

/// A node after call inlining: inputs point at other flat nodes, argument names are gone.
struct FlatNode {
    enum Kind {
        /// An op to evaluate or emit as a step.
        case op
        /// A call site: its outputs are its inputs (the callee's return values).
        case forward
        /// A tensor supplied from outside (signature input, restore filename).
        case feed
    }

    var kind: Kind
    var op: String
    var name: String
    /// Where the node comes from, for messages (`function 'f' node 'n'`, `node 'n'`).
    var location: String
    var attrs: [String: NodeAttr]
    var definition: OpDefinition?
    var inputs: [ValueRef] = []
    var controlInputs: [Int] = []
    /// nil when unknown (unsupported op).
    var outputCount: Int?
    /// Output argument name → first flat output index and length (FunctionDef edges `node:arg:idx`).
    var outputArgs: [String: (start: Int, count: Int)] = [:]

    var attrReader: AttrReader {
        AttrReader(attrs: attrs, defaults: definition?.defaults ?? [:], location: location)
    }
}

/// The inlined closure of some roots, with nodes in an order where producers precede consumers.
struct FlatGraph {
    var nodes: [FlatNode]
    var order: [Int]
}

/// Ops the runtime cannot run, with where they were met.
struct MissingOps {
    private(set) var locations: [String: [String]] = [:]

    var isEmpty: Bool { locations.isEmpty }

    /// The missing op types, sorted.
    var opNames: [String] { locations.keys.sorted() }

    mutating func record(_ op: String, at location: String) {
        locations[op, default: []].append(location)
    }

    mutating func merge(_ other: MissingOps, prefix: String) {
        for (op, places) in other.locations {
            locations[op, default: []].append(contentsOf: places.map { "\(prefix)\($0)" })
        }
    }

    /// One message naming every missing op and where it is used.
    var message: String {
        let parts = locations.keys.sorted().map { op -> String in
            let places = locations[op] ?? []
            let shown = places.prefix(5).joined(separator: "; ")
            let more = places.count > 5 ? "; and \(places.count - 5) more" : ""
            return "\(op) (used by \(shown)\(more))"
        }
        return "unsupported ops: " + parts.joined(separator: ", ")
    }
}
