extension OpDefTable {
    /// Op families defined in their own `OpDefTable+<family>.swift` files, one entry each.
    static var familyDefinitions: [[OpDefinition]] {
        [
            controlFlowDefinitions,
            neuralNetDefinitions,
            textDefinitions,
            mathDefinitions,
            randomDefinitions,
            bitwiseDefinitions,
            imageDefinitions,
            convolutionDefinitions,
        ]
    }
}
