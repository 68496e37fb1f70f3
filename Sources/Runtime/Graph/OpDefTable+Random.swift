import Tensors

extension OpDefTable {
    /// Stateless random numbers (Philox4x32-10, bit-exact with TensorFlow's CPU kernels).
    static let randomDefinitions: [OpDefinition] = {
        let float = NodeAttr.type(DType.float32.rawValue)
        func random(_ name: String, _ distribution: StatelessDistribution, _ seeding: StatelessSeeding,
                    defaultType: NodeAttr? = nil) -> OpDefinition {
            OpDefinition(name, outputs: [("output", .single)], defaults: defaultType.map { ["dtype": $0] } ?? [:]) {
                attrs throws(ServingError) in
                try StatelessRandomKernel(op: name, distribution: distribution, seeding: seeding, attrs: attrs)
            }
        }
        func keyCounter(_ name: String, outputs: [String], keyCounter: Bool, algorithm: Bool) -> OpDefinition {
            OpDefinition(name, outputs: outputs.map { ($0, .single) }) { attrs in
                StatelessRandomKeyCounterKernel(op: name, location: attrs.location, keyCounter: keyCounter, algorithm: algorithm)
            }
        }
        return [
            random("StatelessRandomUniform", .uniform, .seed, defaultType: float),
            random("StatelessRandomNormal", .normal, .seed, defaultType: float),
            random("StatelessTruncatedNormal", .truncatedNormal, .seed, defaultType: float),
            random("StatelessRandomUniformInt", .uniformInt, .seed),
            random("StatelessRandomUniformFullInt", .uniformFullInt, .seed, defaultType: .type(DType.uint64.rawValue)),
            random("StatelessRandomUniformV2", .uniform, .keyCounter, defaultType: float),
            random("StatelessRandomNormalV2", .normal, .keyCounter, defaultType: float),
            random("StatelessTruncatedNormalV2", .truncatedNormal, .keyCounter, defaultType: float),
            random("StatelessRandomUniformIntV2", .uniformInt, .keyCounter),
            random("StatelessRandomUniformFullIntV2", .uniformFullInt, .keyCounter, defaultType: .type(DType.uint64.rawValue)),
            OpDefinition("StatelessRandomGammaV2", outputs: [("output", .single)]) { attrs throws(ServingError) in
                try StatelessRandomGammaKernel(op: "StatelessRandomGammaV2", seeding: .seed, attrs: attrs)
            },
            OpDefinition("StatelessRandomGammaV3", outputs: [("output", .single)]) { attrs throws(ServingError) in
                try StatelessRandomGammaKernel(op: "StatelessRandomGammaV3", seeding: .keyCounter, attrs: attrs)
            },
            keyCounter("StatelessRandomGetKeyCounter", outputs: ["key", "counter"], keyCounter: true, algorithm: false),
            keyCounter("StatelessRandomGetKeyCounterAlg", outputs: ["key", "counter", "alg"], keyCounter: true, algorithm: true),
            keyCounter("StatelessRandomGetAlg", outputs: ["alg"], keyCounter: false, algorithm: true),
        ]
    }()
}
