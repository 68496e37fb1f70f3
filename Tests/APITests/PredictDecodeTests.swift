import NIOCore
import Tensors
import Testing
@testable import API

@Suite struct RowFormatDecodeTests {
    @Test func singleInputRowsStackIntoBatch() throws {
        let decoded = try decodePredict(#"{"instances": [[1, 2, 3, 4], [5.5, -6, 7e1, 8E-1]]}"#,
                                        inputs: ["x": Fixtures.spec(.float32, [-1, 4], tensor: "x:0")])
        #expect(decoded.format == .row)
        #expect(decoded.signatureName == "serving_default")
        let x = try #require(decoded.inputs["x"])
        #expect(x.shape == [2, 4])
        #expect(x.scalars(as: Float.self) == [1, 2, 3, 4, 5.5, -6, 70, 0.8])
    }

    @Test func scalarRowsMakeAVector() throws {
        let decoded = try decodePredict(#"{"instances": [1, 2, 3]}"#,
                                        inputs: ["x": Fixtures.spec(.int64, [-1], tensor: "x:0")])
        let x = try #require(decoded.inputs["x"])
        #expect(x.shape == [3])
        #expect(x.scalars(as: Int64.self) == [1, 2, 3])
    }

    @Test func multiInputRowsAreObjects() throws {
        let inputs = [
            "a": Fixtures.spec(.float32, [-1, 2], tensor: "a:0"),
            "b": Fixtures.spec(.string, [-1], tensor: "b:0"),
            "c": Fixtures.spec(.bool, [-1], tensor: "c:0"),
        ]
        let body = #"""
        {"instances": [{"a": [1, 2], "b": "first", "c": true},
                       {"c": false, "b": {"b64": "c2Vjb25k"}, "a": [3, 4]}]}
        """#
        let decoded = try decodePredict(body, inputs: inputs)
        #expect(decoded.inputs["a"]?.shape == [2, 2])
        #expect(decoded.inputs["a"]?.scalars(as: Float.self) == [1, 2, 3, 4])
        #expect(decoded.inputs["b"]?.strings == [Array("first".utf8), Array("second".utf8)])
        #expect(decoded.inputs["c"]?.scalars(as: Bool.self) == [true, false])
    }

    @Test func singleInputMayAlsoBeNamed() throws {
        let decoded = try decodePredict(#"{"instances": [{"x": [1, 2]}, {"x": [3, 4]}]}"#, inputs: floatX)
        #expect(decoded.inputs["x"]?.shape == [2, 2])
    }

    @Test func b64RowsForSingleStringInput() throws {
        let decoded = try decodePredict(#"{"instances": [{"b64": "AAEC/w=="}, {"b64": ""}, {"b64": "YQ"}]}"#,
                                        inputs: ["s": Fixtures.spec(.string, [-1], tensor: "s:0")])
        #expect(decoded.inputs["s"]?.strings == [[0, 1, 2, 255], [], [97]])
    }

    @Test func rowsMustAgreeInShape() {
        #expect(decodeError(#"{"instances": [[1, 2, 3, 4], [1, 2, 3]]}"#, inputs: floatX)
            == "instances[1] has shape [3] but instances[0] has shape [4]")
        let two = ["a": Fixtures.spec(.float32, nil, tensor: "a:0"), "b": Fixtures.spec(.float32, nil, tensor: "b:0")]
        #expect(decodeError(#"{"instances": [{"a": 1, "b": [1]}, {"a": 2, "b": [1, 2]}]}"#, inputs: two)
            == "instances[1] input 'b' has shape [2] but instances[0] has shape [1]")
    }

    @Test func rowObjectsMustNameEveryInputOnce() {
        let two = ["a": Fixtures.spec(.float32, nil, tensor: "a:0"), "b": Fixtures.spec(.float32, nil, tensor: "b:0")]
        #expect(decodeError(#"{"instances": [{"a": 1, "b": 2}, {"a": 1}]}"#, inputs: two)
            == "instances[1] is missing input 'b'")
        #expect(decodeError(#"{"instances": [{"a": 1, "z": 2}]}"#, inputs: two)
            == "instances[0] has unknown input 'z'; signature 'serving_default' has inputs: a, b")
        #expect(decodeError(#"{"instances": [{"a": 1, "a": 2}]}"#, inputs: two)
            == "instances[0] names input 'a' twice")
        #expect(decodeError(#"{"instances": [[1, 2]]}"#, inputs: two)?
            .hasPrefix("instances[0] must be an object keyed by input name") == true)
    }

    @Test func emptyOrNonListInstancesAreRejected() {
        #expect(decodeError(#"{"instances": []}"#, inputs: floatX) == "'instances' must not be empty")
        #expect(decodeError(#"{"instances": 3}"#, inputs: floatX) == "'instances' must be a list")
    }
}

@Suite struct ColumnarDecodeTests {
    @Test func singleInputTakesTheWholeValue() throws {
        let decoded = try decodePredict(#"{"inputs": [[[1], [2]], [[3], [4]]]}"#, inputs: floatX)
        #expect(decoded.format == .columnar)
        #expect(decoded.inputs["x"]?.shape == [2, 2, 1])
        #expect(decoded.inputs["x"]?.scalars(as: Float.self) == [1, 2, 3, 4])
    }

    @Test func scalarInput() throws {
        let decoded = try decodePredict(#"{"inputs": 7}"#, inputs: ["k": Fixtures.spec(.int32, [], tensor: "k:0")])
        #expect(decoded.inputs["k"]?.shape == .scalar)
        #expect(decoded.inputs["k"]?.scalars(as: Int32.self) == [7])
    }

    @Test func objectOfNamedTensorsWithDifferentDims() throws {
        let inputs = ["a": Fixtures.spec(.float64, nil, tensor: "a:0"), "b": Fixtures.spec(.int32, nil, tensor: "b:0")]
        let decoded = try decodePredict(#"{"signature_name": "", "inputs": {"a": [[1.5, 2.5, 3.5]], "b": [1, 2]}}"#, inputs: inputs)
        #expect(decoded.inputs["a"]?.shape == [1, 3])
        #expect(decoded.inputs["a"]?.scalars(as: Double.self) == [1.5, 2.5, 3.5])
        #expect(decoded.inputs["b"]?.shape == [2])
        #expect(decoded.inputs["b"]?.scalars(as: Int32.self) == [1, 2])
    }

    @Test func b64ColumnarValueForSingleInput() throws {
        let decoded = try decodePredict(#"{"inputs": {"b64": "aGk="}}"#, inputs: ["s": Fixtures.spec(.string, nil, tensor: "s:0")])
        #expect(decoded.inputs["s"]?.shape == .scalar)
        #expect(decoded.inputs["s"]?.strings == [Array("hi".utf8)])
    }

    @Test func missingAndUnknownInputs() {
        let two = ["a": Fixtures.spec(.float32, nil, tensor: "a:0"), "b": Fixtures.spec(.float32, nil, tensor: "b:0")]
        #expect(decodeError(#"{"inputs": {"a": 1}}"#, inputs: two)
            == "Missing input 'b' in 'inputs'; signature 'serving_default' has inputs: a, b")
        #expect(decodeError(#"{"inputs": {"a": 1, "b": 2, "c": 3}}"#, inputs: two)
            == "'inputs' has unknown input 'c'; signature 'serving_default' has inputs: a, b")
        #expect(decodeError(#"{"inputs": [1, 2]}"#, inputs: two)?.hasPrefix("'inputs' must be an object") == true)
    }

    @Test func emptyListsKeepTheirShape() throws {
        let decoded = try decodePredict(#"{"inputs": [[], []]}"#, inputs: floatX)
        #expect(decoded.inputs["x"]?.shape == [2, 0])
        let empty = try decodePredict(#"{"inputs": []}"#, inputs: floatX)
        #expect(empty.inputs["x"]?.shape == [0])
    }
}

@Suite struct ValueDecodeTests {
    /// Float32 lists mixing plain numbers with every other kind of value decode as the general path
    /// would: numbers in any JSON form and bare non-finite values in between, in order.
    @Test func float32ListsMixNumbersWithOtherValues() throws {
        let body = #"{"inputs": [[1, -2.5, 3e2, NaN], [ -0.0 , -Infinity, 1E-3, 7], [0.1, 12345678.9, 1, 2]]}"#
        let decoded = try decodePredict(body, inputs: floatX)
        #expect(decoded.inputs["x"]?.shape == [3, 4])
        let values = try #require(decoded.inputs["x"]?.scalars(as: Float.self))
        #expect(values[0] == 1 && values[1] == -2.5 && values[2] == 300 && values[3].isNaN)
        #expect(values[4] == 0 && values[4].sign == .minus && values[5] == -.infinity && values[6] == Float(0.001) && values[7] == 7)
        #expect(values[8] == Float(0.1) && values[9] == Float(12345678.9) && values[10] == 1 && values[11] == 2)
        #expect(decodeError(#"{"inputs": [1, "a"]}"#, inputs: floatX) == "input 'x' expects DT_FLOAT values, got a string")
        #expect(decodeError(#"{"inputs": [1, true]}"#, inputs: floatX) == "input 'x' expects DT_FLOAT values, got a bool")
        #expect(decodeError(#"{"inputs": [1, -]}"#, inputs: floatX)?.contains("Malformed JSON") == true)
        #expect(decodeError(#"{"inputs": [1, 01]}"#, inputs: floatX)?.contains("leading zeros") == true)
    }

    @Test func nanAndInfinitiesAreBare() throws {
        let decoded = try decodePredict(#"{"inputs": [NaN, Infinity, -Infinity, -0.0]}"#, inputs: floatX)
        let values = try #require(decoded.inputs["x"]?.scalars(as: Float.self))
        #expect(values[0].isNaN)
        #expect(values[1] == .infinity)
        #expect(values[2] == -.infinity)
        #expect(values[3] == 0 && values[3].sign == .minus)
        #expect(decodeError(#"{"inputs": [NaN]}"#, inputs: ["k": Fixtures.spec(.int32, nil, tensor: "k:0")])
            == "input 'k' expects DT_INT32 values, got NaN")
    }

    @Test func stringEscapesIncludingSurrogatePairs() throws {
        let body = #"{"inputs": ["a\"b\\c\/d\b\f\n\r\t", "\u00e9\u20AC", "\ud83d\ude00", "raw é"]}"#
        let decoded = try decodePredict(body, inputs: ["s": Fixtures.spec(.string, nil, tensor: "s:0")])
        let strings = try #require(decoded.inputs["s"]?.strings)
        #expect(strings.map { String(decoding: $0, as: UTF8.self) } == ["a\"b\\c/d\u{8}\u{C}\n\r\t", "é€", "😀", "raw é"])
    }

    @Test func typeMismatchesNameInputAndExpectation() {
        #expect(decodeError(#"{"instances": [[1, "2"]]}"#, inputs: floatX) == "input 'x' expects DT_FLOAT values, got a string")
        #expect(decodeError(#"{"instances": [[1, true]]}"#, inputs: floatX) == "input 'x' expects DT_FLOAT values, got a bool")
        #expect(decodeError(#"{"instances": [[1, null]]}"#, inputs: floatX) == "input 'x' expects DT_FLOAT values, got null")
        #expect(decodeError(#"{"instances": [{"b64": "AA=="}]}"#, inputs: floatX)
            == "input 'x' expects DT_FLOAT values, got an object")
        #expect(decodeError(#"{"inputs": [1]}"#, inputs: ["s": Fixtures.spec(.string, nil, tensor: "s:0")])
            == "input 's' expects DT_STRING values, got a number")
        #expect(decodeError(#"{"inputs": [1]}"#, inputs: ["b": Fixtures.spec(.bool, nil, tensor: "b:0")])
            == "input 'b' expects DT_BOOL values, got a number")
    }

    @Test func integerRangesAndFractions() throws {
        let int32 = ["k": Fixtures.spec(.int32, nil, tensor: "k:0")]
        let decoded = try decodePredict(#"{"inputs": [2147483647, -2147483648, 2.0, 1e3]}"#, inputs: int32)
        #expect(decoded.inputs["k"]?.scalars(as: Int32.self) == [2147483647, -2147483648, 2, 1000])
        #expect(decodeError(#"{"inputs": [2147483648]}"#, inputs: int32)
            == "input 'k' value 2147483648 is out of range for DT_INT32")
        #expect(decodeError(#"{"inputs": [-2147483649]}"#, inputs: int32)
            == "input 'k' value -2147483649 is out of range for DT_INT32")
        #expect(decodeError(#"{"inputs": [1.5]}"#, inputs: int32) == "input 'k' expects DT_INT32 values, got the fractional number 1.5")
        let int64 = ["k": Fixtures.spec(.int64, nil, tensor: "k:0")]
        let big = try decodePredict(#"{"inputs": [9223372036854775807, -9223372036854775808]}"#, inputs: int64)
        #expect(big.inputs["k"]?.scalars(as: Int64.self) == [.max, .min])
        #expect(decodeError(#"{"inputs": [9223372036854775808]}"#, inputs: int64)?.contains("out of range") == true)
        #expect(decodeError(#"{"inputs": [99999999999999999999999]}"#, inputs: int64)?.contains("out of range") == true)
        let uint8 = ["k": Fixtures.spec(.uint8, nil, tensor: "k:0")]
        #expect(try decodePredict(#"{"inputs": [0, 255]}"#, inputs: uint8).inputs["k"]?.scalars(as: UInt8.self) == [0, 255])
        #expect(decodeError(#"{"inputs": [256]}"#, inputs: uint8)?.contains("out of range") == true)
        #expect(decodeError(#"{"inputs": [-1]}"#, inputs: uint8)?.contains("out of range") == true)
    }

    @Test func floatsParseExactly() throws {
        let doubles = ["d": Fixtures.spec(.float64, nil, tensor: "d:0")]
        let texts = ["0.1", "1e-7", "123456789012345678901234567890", "4.9e-324", "1.7976931348623157e308",
                     "0.30000000000000004", "-2.5E+10", "3.14159265358979323846"]
        let decoded = try decodePredict(#"{"inputs": [\#(texts.joined(separator: ","))]}"#, inputs: doubles)
        #expect(decoded.inputs["d"]?.scalars(as: Double.self) == texts.map { Double($0) ?? 0 })
        let floats = try decodePredict(#"{"inputs": [\#(texts.joined(separator: ","))]}"#, inputs: floatX)
        #expect(floats.inputs["x"]?.scalars(as: Float.self) == texts.map { Float($0) ?? 0 })
    }

    @Test func badBase64AndBadB64Objects() {
        let s = ["s": Fixtures.spec(.string, nil, tensor: "s:0")]
        #expect(decodeError(#"{"inputs": [{"b64": "!!"}]}"#, inputs: s) == "input 's' has a 'b64' value that is not valid base64")
        #expect(decodeError(#"{"inputs": [{"b64": "AA==", "x": 1}]}"#, inputs: s)?.contains(#"{"b64": "<base64>"}"#) == true)
        #expect(decodeError(#"{"inputs": [{"b64": 1}]}"#, inputs: s)?.contains(#"{"b64": "<base64>"}"#) == true)
    }

    @Test func raggedNestingIsRejected() {
        #expect(decodeError(#"{"inputs": [[1, 2], [3]]}"#, inputs: floatX)
            == "input 'x' is not a rectangular nested list: a list at depth 2 has 1 elements but an earlier one has 2")
        #expect(decodeError(#"{"inputs": [[1, 2], 3]}"#, inputs: floatX)?.contains("not a rectangular") == true)
        #expect(decodeError(#"{"inputs": [1, [2]]}"#, inputs: floatX)?.contains("not a rectangular") == true)
        #expect(decodeError(#"{"inputs": [[], [1]]}"#, inputs: floatX)?.contains("not a rectangular") == true)
    }

    @Test func signatureShapeIsChecked() {
        #expect(decodeError(#"{"instances": [[1, 2, 3]]}"#, inputs: ["x": Fixtures.spec(.float32, [-1, 4], tensor: "x:0")])
            == "input 'x' has shape [1,3] but signature 'serving_default' expects [-1,4]")
    }

    @Test func topLevelKeys() throws {
        #expect(decodeError(#"{"signature_name": "serving_default"}"#, inputs: floatX) == "Missing 'inputs' or 'instances' key")
        #expect(decodeError(#"{"inputs": [1], "instances": [1]}"#, inputs: floatX)
            == "Only one of 'instances' or 'inputs' may be given, not both")
        #expect(decodeError(#"{"signature_name": 3, "inputs": [1]}"#, inputs: floatX) == "'signature_name' must be a string")
        let other = Fixtures.signature(["q": Fixtures.spec(.int64, nil, tensor: "q:0")], name: "other")
        let decoded = try decodePredict(#"{"inputs": [5], "extra": {"ignored": [1, {}]}, "signature_name": "other"}"#,
                                        ["serving_default": Fixtures.signature(floatX), "other": other])
        #expect(decoded.signatureName == "other")
        #expect(decoded.inputs["q"]?.scalars(as: Int64.self) == [5])
        let onlyOther = try decodePredict(#"{"instances": [7, 8], "signature_name": "other"}"#, ["other": other])
        #expect(onlyOther.format == .row)
        #expect(onlyOther.inputs["q"]?.scalars(as: Int64.self) == [7, 8])
        let first = try decodePredict(#"{"signature_name": "other", "inputs": [9]}"#,
                                      ["serving_default": Fixtures.signature(floatX), "other": other])
        #expect(first.inputs["q"]?.dtype == .int64)
        #expect(throws: ServingError.invalidArgument("no signature missing")) {
            try decodePredict(#"{"inputs": [1], "signature_name": "missing"}"#, ["serving_default": Fixtures.signature(floatX)])
        }
    }
}

@Suite struct FloatDecodeTests {
    /// Decimals as clients write them (float32 values printed as doubles, 17 digits; short forms;
    /// exponents) decode to what reading the decimal as a double and rounding to float32 gives.
    @Test func floatsMatchDoubleThenFloatRounding() throws {
        var generator = SystemRandomNumberGenerator()
        var texts = ["0.1", "-0.0", "1e-30", "3.4028234663852886e38", "1.17549435e-38", "123456789012345678901234",
                     "0.30000000000000004", "-7.006492321624085e-46", "16777217", "2.5e-5"]
        for _ in 0..<2000 {
            let value = Float.random(in: -1000...1000, using: &generator)
            texts.append("\(Double(value))")
            texts.append("\(Double.random(in: -1...1, using: &generator))")
        }
        let body = #"{"instances": ["# + texts.joined(separator: ",") + "]}"
        let decoded = try decodePredict(body, inputs: ["x": Fixtures.spec(.float32, [-1], tensor: "x:0")])
        let got = try #require(decoded.inputs["x"]).scalars(as: Float.self)
        let expected = texts.map { Float(Double($0) ?? .nan) }
        #expect(got.count == expected.count)
        for (index, (a, b)) in zip(got, expected).enumerated() where a.bitPattern != b.bitPattern {
            Issue.record("\(texts[index]) decoded as \(a), expected \(b)")
        }
    }

    /// Runs of digits around the eight-at-a-time reading: leading and trailing zeros, exactly 8, 16 and
    /// 19 significant digits, and more than 19, as float64 (exact) and float32 (double, then rounded).
    @Test func digitRunsDecodeExactly() throws {
        let texts = ["12345678", "123456789", "1234567812345678", "1234567890123456789", "12345678901234567890",
                     "99999999999999999999", "9007199254740993", "0.12345678", "0.1234567", "0.000000001234567890123",
                     "0.00000000000000000001", "1.00000000000000000001", "12345678.12345678", "0.00000000",
                     "100000000.000000001", "123456781234567812345678e-5", "-0.8765432187654321e12", "5e-324",
                     "0.3663366436958313", "1.7976931348623157e308", "80000000", "10000000.00000000"]
        let body = #"{"instances": ["# + texts.joined(separator: ",") + "]}"
        let doubles = try #require(try decodePredict(body, inputs: ["x": Fixtures.spec(.float64, [-1], tensor: "x:0")])
            .inputs["x"]).scalars(as: Double.self)
        let floats = try #require(try decodePredict(body, inputs: ["x": Fixtures.spec(.float32, [-1], tensor: "x:0")])
            .inputs["x"]).scalars(as: Float.self)
        for (index, text) in texts.enumerated() {
            let expected = try #require(Double(text))
            #expect(doubles[index].bitPattern == expected.bitPattern, "\(text) as float64: \(doubles[index])")
            #expect(floats[index].bitPattern == Float(expected).bitPattern, "\(text) as float32: \(floats[index])")
        }
    }
}
