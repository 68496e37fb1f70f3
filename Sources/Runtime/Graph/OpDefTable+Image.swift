import Tensors

extension OpDefTable {
    /// Image ops: projective transforms and colour-space conversions.
    static let imageDefinitions: [OpDefinition] = {
        let constant = NodeAttr.string(Array("CONSTANT".utf8))
        func projective(_ name: String, takesFillValue: Bool) -> OpDefinition {
            OpDefinition(name, outputs: [("transformed_images", .single)], defaults: ["fill_mode": constant]) {
                attrs throws(ServingError) in
                try ImageProjectiveTransformKernel(op: name, takesFillValue: takesFillValue, attrs: attrs)
            }
        }
        return [
            projective("ImageProjectiveTransformV2", takesFillValue: false),
            projective("ImageProjectiveTransformV3", takesFillValue: true),
            OpDefinition("RGBToHSV", outputs: [("output", .single)]) { attrs in
                ColorSpaceKernel(op: "RGBToHSV", location: attrs.location, toHSV: true)
            },
            OpDefinition("HSVToRGB", outputs: [("output", .single)]) { attrs in
                ColorSpaceKernel(op: "HSVToRGB", location: attrs.location, toHSV: false)
            },
        ]
    }()
}
