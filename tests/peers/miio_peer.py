"""miIO frames built and parsed by python-miio 0.5.12 (miio.protocol), the
third-party peer of phonehome's miIO dissector tests.

    miio_peer.py build SPEC_JSON   -> JSON list of hex frames
    miio_peer.py parse SPEC_JSON   -> JSON list of what python-miio reads

SPEC_JSON for build is a list of messages:
    {"kind": "hello"}                          python-miio's discovery hello
    {"kind": "hello_reply", "device_id": N, "stamp": S, "token": HEX|null}
    {"kind": "message", "device_id": N, "stamp": S, "token": HEX, "payload": {...}}
SPEC_JSON for parse is a list of {"frame": HEX, "token": HEX}.
"""

import datetime
import json
import struct
import sys

from miio.protocol import Message

# The hello python-miio's discovery sends (miio/miioprotocol.py).
HELLO = bytes.fromhex("21310020" + "ff" * 28)


def ts(stamp):
    return datetime.datetime.utcfromtimestamp(stamp)


def build(msg):
    kind = msg["kind"]
    if kind == "hello":
        return HELLO
    if kind == "hello_reply":
        # python-miio parses but never builds a hello reply: the header is
        # laid out here and checked below by python-miio's own parser.
        token = bytes.fromhex(msg["token"]) if msg.get("token") else b"\xff" * 16
        header = struct.pack(">HHIII", 0x2131, 32, 0, msg["device_id"], msg["stamp"])
        frame = header + token
        parsed = Message.parse(frame, token=token if msg.get("token") else b"\0" * 16)
        assert parsed.header.value.length == 32
        assert int(parsed.header.value.device_id.hex(), 16) == msg["device_id"]
        assert parsed.checksum == token
        return frame
    if kind == "message":
        token = bytes.fromhex(msg["token"])
        return Message.build(
            {
                "data": {"value": msg["payload"]},
                "header": {
                    "value": {
                        "length": 0,
                        "unknown": msg.get("unknown", 0),
                        "device_id": struct.pack(">I", msg["device_id"]),
                        "ts": ts(msg["stamp"]),
                    }
                },
                "checksum": 0,
            },
            token=token,
        )
    raise SystemExit(f"unknown kind {kind}")


def parse(item):
    frame = bytes.fromhex(item["frame"])
    m = Message.parse(frame, token=bytes.fromhex(item["token"]))
    h = m.header.value
    value = m.data.value
    return {
        "length": h.length,
        "unknown": h.unknown,
        "device_id": int(h.device_id.hex(), 16),
        "stamp": int((h.ts - datetime.datetime(1970, 1, 1)).total_seconds()),
        "checksum": m.checksum.hex(),
        "payload": value if isinstance(value, dict) else None,
        "plaintext": json.dumps(value) if isinstance(value, dict) else None,
    }


def main():
    cmd, spec = sys.argv[1], json.loads(sys.argv[2])
    if cmd == "build":
        print(json.dumps([build(m).hex() for m in spec]))
    elif cmd == "parse":
        print(json.dumps([parse(i) for i in spec]))
    else:
        raise SystemExit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
