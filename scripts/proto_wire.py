"""Protobuf wire encoding by hand (only what the helper scripts need), so they need no protobuf package."""


def varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def field(number, wire_type, payload):
    """One field: its key, then the payload (length-prefixed for wire type 2)."""
    key = varint((number << 3) | wire_type)
    if wire_type == 2:
        return key + varint(len(payload)) + payload
    return key + payload


def bytes_field(number, payload):
    """A length-delimited field (message, string or packed values)."""
    return field(number, 2, payload)


def varint_field(number, value):
    return field(number, 0, varint(value))
