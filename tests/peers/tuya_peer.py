#!/usr/bin/env python3
"""Third-party Tuya peer for phonehome's end-to-end tests.

Emits one whole local session between a client and a device, built offline
by tinytuya (PyPI, pinned in requirements.txt):

* client frames come from tinytuya's own client (`Device.generate_payload`,
  `_encode_message`, the `_negotiate_session_key_*` steps for 3.4/3.5);
* device frames are packed with tinytuya's `pack_message` / `TuyaMessage` /
  `AESCipher`, and every one is checked by tinytuya's own client parser
  (`unpack_message`, checksum/HMAC/tag verification, `_decode_payload`)
  before it is printed, so a frame tinytuya would reject never reaches a test.

usage: tuya_peer.py VERSION LOCAL_KEY DEV_ID DEVICE_IP
prints JSON: {"version", "session_key",
              "frames": [{"from": "client"|"device", "cmd", "hex", "json"}],
              "discovery": hex, "announce": its JSON,
              "req_devinfo": hex (UDP 7000 request), "request": its JSON}
"""

import json
import os
import sys
import hmac
from hashlib import sha256

import tinytuya
from tinytuya.core import header as H
from tinytuya.core.message_helper import TuyaMessage, pack_message, unpack_message
from tinytuya.core.crypto_helper import AESCipher
from tinytuya.core.udp_helper import udpkey, decrypt_udp

version, local_key, dev_id, device_ip = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
v = float(version)

# address given: tinytuya does not look for the device on the network.
client = tinytuya.Device(dev_id, address=device_ip, local_key=local_key, version=v)
frames = []


def emit(side, cmd, data, text=None):
    frames.append({"from": side, "cmd": cmd, "hex": data.hex(), "json": text})


def client_sends(cmd, data=None):
    msg = client.generate_payload(cmd, data)
    emit("client", msg.cmd, client._encode_message(msg), msg.payload.decode())


def device_sends(seq, cmd, body, with_header):
    """A device frame: retcode 0, optional version header, body."""
    key = client.local_key  # the session key once negotiated
    header = client.version_header if with_header else b""
    rc = b"\0\0\0\0"
    if v >= 3.5:
        data = pack_message(TuyaMessage(seq, cmd, 0, header + body, 0, True, H.PREFIX_6699_VALUE, True), hmac_key=key)
    elif v >= 3.4:
        ct = AESCipher(key).encrypt(header + body, use_base64=False)
        data = pack_message(TuyaMessage(seq, cmd, 0, rc + ct, 0, True, H.PREFIX_55AA_VALUE, None), hmac_key=key)
    elif v >= 3.2:
        ct = AESCipher(key).encrypt(body, use_base64=False)
        data = pack_message(TuyaMessage(seq, cmd, 0, rc + header + ct, 0, True, H.PREFIX_55AA_VALUE, None))
    else:
        data = pack_message(TuyaMessage(seq, cmd, 0, rc + body, 0, True, H.PREFIX_55AA_VALUE, None))
    # tinytuya's client must accept it.
    msg = unpack_message(data, hmac_key=key if v >= 3.4 else None)
    assert msg.crc_good and msg.cmd == cmd and msg.retcode == 0, msg
    return data, msg


def device_json(seq, cmd, obj, with_header):
    body = json.dumps(obj, separators=(",", ":")).encode()
    data, msg = device_sends(seq, cmd, body, with_header)
    decoded = client._decode_payload(msg.payload)
    assert {k: v for k, v in decoded.items() if k != "dps" or "data" not in obj} == obj, (decoded, obj)
    emit("device", cmd, data, body.decode())


# The device's discovery broadcast, as tinytuya's scanner decodes it.
announce = json.dumps({"ip": device_ip, "gwId": dev_id, "active": 2, "ability": 0, "mode": 0,
                       "encrypt": True, "productKey": "keyphonehome0001", "version": version},
                      separators=(",", ":")).encode()
if v >= 3.5:
    discovery = pack_message(TuyaMessage(0, tinytuya.UDP_NEW, 0, announce, 0, True, H.PREFIX_6699_VALUE, True),
                             hmac_key=udpkey)
else:
    cmd = tinytuya.BOARDCAST_LPV34 if v >= 3.4 else tinytuya.UDP_NEW
    discovery = pack_message(TuyaMessage(0, cmd, 0, b"\0\0\0\0" + AESCipher(udpkey).encrypt(announce, use_base64=False),
                                         0, True, H.PREFIX_55AA_VALUE, None))
assert json.loads(decrypt_udp(discovery)) == json.loads(announce)

# What tinytuya's scanner broadcasts to UDP 7000 to wake 3.5 devices.
request = json.dumps({"from": "app", "ip": "192.168.1.2"}).encode()
req_devinfo = pack_message(TuyaMessage(0, tinytuya.REQ_DEVINFO, None, request, 0, True, H.PREFIX_6699_VALUE, True),
                           hmac_key=udpkey)
assert json.loads(decrypt_udp(req_devinfo)) == json.loads(request)

if v >= 3.4:
    start = client._negotiate_session_key_generate_step_1()
    emit("client", start.cmd, client._encode_message(start))
    device_nonce = os.urandom(16)
    proof = hmac.new(local_key.encode(), client.local_nonce, sha256).digest()
    resp, msg = device_sends(1, tinytuya.SESS_KEY_NEG_RESP, device_nonce + proof, False)
    emit("device", tinytuya.SESS_KEY_NEG_RESP, resp)
    finish = client._negotiate_session_key_generate_step_3(msg)
    assert finish, "tinytuya refused the device's nonce"
    emit("client", finish.cmd, client._encode_message(finish))
    assert client._negotiate_session_key_generate_finalize()

client_sends(tinytuya.DP_QUERY)
status = {"dps": {"1": True, "2": "white", "20": 0}}
device_json(2, frames[-1]["cmd"], status, False)
client_sends(tinytuya.CONTROL, {"1": False})
ack_cmd = frames[-1]["cmd"]
if v >= 3.4:
    device_json(3, ack_cmd, {"protocol": 5, "t": 1700000000, "data": {"dps": {"1": False}}}, True)
device_json(0, tinytuya.STATUS, {"devId": dev_id, "dps": {"1": False}, "t": 1700000001}, True)
client_sends(tinytuya.HEART_BEAT)

session_key = client.local_key.hex() if v >= 3.4 else None
print(json.dumps({"version": version, "session_key": session_key, "frames": frames,
                  "discovery": discovery.hex(), "announce": announce.decode(),
                  "req_devinfo": req_devinfo.hex(), "request": request.decode()}))
