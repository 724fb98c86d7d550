#!/usr/bin/env bash
# Benchmark of `filtergen run`, everything measured side by side in
# this one run on captures generated into target/bench-run/ (not committed):
#  1. native engine vs `tshark -r IN -Y FILTER -w OUT` vs `tcpdump -r IN -w OUT BPF`
#     on a >= 1 GB set (4 pcap files) with a MAC/IP/port profile, same packets out;
#  2. `--jobs 2` vs `--jobs 1` on 4 smaller files where tshark is needed
#     (an expected rule by host name: its MQTT conversation needs dissection);
#  3. peak memory (max RSS) of the native engine on 1/4 of the set vs all of it;
#  4. small packets: a generated 1,000,000-frame capture of IoT chatter
#     (about 110 bytes a frame), a profile of one MAC and one IP in mode
#     device: native run vs tcpdump vs tshark, same packets out.
# Usage: scripts/bench-run.sh [SIZE_MB_PER_FILE (default 260)]
#        BENCH_PARTS="2 3" scripts/bench-run.sh   (only some parts; default "1 2 3")
# The machine is shared: run it when it is quiet, and read ratios, not seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
MB=${1:-260}
PARTS=${BENCH_PARTS:-1 2 3 4}
part() { [[ " $PARTS " == *" $1 "* ]]; }
DIR=target/bench-run
BIN=target/release/filtergen
mkdir -p "$DIR"
cargo build --release -q -p filtergen
for tool in tshark tcpdump capinfos python3 /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "bench-run: needs $tool" >&2; exit 2; }
done

# Frame builders both generators use (Python; `rnd` is each one's generator).
FRAMES_PY=$(cat <<'PY'
import random, struct, sys
def mac(s): return bytes(int(x, 16) for x in s.split(':'))
def ip(s): return bytes(int(x) for x in s.split('.'))
def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff
def ipv4(src, dst, proto, payload):
    h = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(payload), rnd.randrange(65536), 0x4000, 64, proto, 0, ip(src), ip(dst))
    return h[:10] + struct.pack('!H', csum(h)) + h[12:] + payload
def eth(s, d, et, p): return mac(d) + mac(s) + struct.pack('!H', et) + p
def tcp(sm, s, sp, dm, d, dp, payload, flags=0x18):
    # payload: bytes, or a count of random bytes
    seg = struct.pack('!HHIIBBHHH', sp, dp, rnd.randrange(1 << 32), 1, 0x50, flags, 64240, 0, 0)
    seg += bytes(rnd.randrange(256) for _ in range(payload)) if isinstance(payload, int) else payload
    return eth(sm, dm, 0x0800, ipv4(s, d, 6, seg))
def udp(sm, s, sp, dm, d, dp, payload):
    return eth(sm, dm, 0x0800, ipv4(s, d, 17, struct.pack('!HHHH', sp, dp, 8 + len(payload), 0) + payload))
PY
)

# Capture generator: one ~4 MB block of mixed traffic (device MQTT/HTTPS/Tuya
# broadcast/DNS, the analysis laptop, ZeroTier, ARP, other LAN hosts), repeated
# with shifted timestamps until the file has the requested size.
gen() { # OUT MB
    python3 -c "$FRAMES_PY
$(cat <<'PY'
out, mb = sys.argv[1], int(sys.argv[2])
rnd = random.Random(7)
DEV, DIP = '64:90:c1:1d:24:c4', '10.10.10.8'
RT = '00:0c:42:cf:36:20'
LAP, LIP = '18:c0:4d:3b:66:d2', '10.10.10.9'
frames = []
while sum(len(f) + 16 for f in frames) < 4 << 20:
    r = rnd.random()
    if r < 0.30: frames.append(tcp(DEV, DIP, 50000, RT, '3.67.242.33', 8883, rnd.choice([60, 200, 1200, 1400])))
    elif r < 0.45: frames.append(tcp(RT, '3.67.242.33', 8883, DEV, DIP, 50000, rnd.choice([0, 90, 1400])))
    elif r < 0.55: frames.append(tcp(DEV, DIP, 50100, RT, '52.58.249.45', 443, rnd.choice([0, 517, 1400])))
    elif r < 0.58: frames.append(udp(DEV, DIP, 6667, 'ff:ff:ff:ff:ff:ff', '255.255.255.255', 6667, b'\x00\x00\x55\xaa' + bytes(180)))
    elif r < 0.60: frames.append(udp(DEV, DIP, 40000 + rnd.randrange(999), RT, '10.10.10.1', 53, b'\x7a\x31\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x02m2\x07tuyaeu\x03com\x00\x00\x01\x00\x01'))
    elif r < 0.65: frames.append(tcp(LAP, LIP, 40022, DEV, DIP, 22, rnd.choice([0, 300])))
    elif r < 0.68: frames.append(udp(DEV, DIP, 9993, RT, '195.181.173.159', 9993, bytes(100)))
    elif r < 0.70: frames.append(eth(DEV, 'ff:ff:ff:ff:ff:ff', 0x0806, bytes.fromhex('0001080006040001') + mac(DEV) + ip(DIP) + bytes(6) + ip('10.10.10.1') + bytes(18)))
    else: frames.append(tcp('aa:bb:cc:00:00:01', '10.10.10.50', 51000, 'aa:bb:cc:00:00:02', '10.10.10.51', 445, rnd.choice([0, 1400])))
with open(out, 'wb') as f:
    f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 262144, 1))
    written, t = 24, 1704067200.0
    while written < mb << 20:
        block = bytearray()
        for fr in frames:
            t += 0.0005
            block += struct.pack('<IIII', int(t), int((t % 1) * 1e6), len(fr), len(fr)) + fr
        f.write(block)
        written += len(block)
PY
)" "$1" "$2"
}

# Small-packet generator: IoT chatter (DNS questions and answers, TCP
# keep-alives, Tuya and SSDP broadcasts, mDNS, ARP, ICMP echo, NTP) of about
# 110 bytes a frame on average, FRAMES frames.
gen_small() { # OUT FRAMES
    python3 -c "$FRAMES_PY
$(cat <<'PY'
out, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(11)
def dns(qid, name, answer):
    q = b''.join(bytes([len(l)]) + l.encode() for l in name.split('.')) + b'\0' + b'\0\1\0\1'
    if answer is None: return struct.pack('!HHHHHH', qid, 0x0100, 1, 0, 0, 0) + q
    return struct.pack('!HHHHHH', qid, 0x8180, 1, 1, 0, 0) + q + b'\xc0\x0c\0\1\0\1\0\0\0\x3c\0\4' + ip(answer)
DEV, DIP = '64:90:c1:1d:24:c4', '10.10.10.8'
RT, RIP = '00:0c:42:cf:36:20', '10.10.10.1'
HOSTS = [('aa:bb:cc:00:00:%02x' % i, '10.10.10.%d' % (50 + i)) for i in range(20)]
BC = 'ff:ff:ff:ff:ff:ff'
frames = []
for i in range(1000):
    hm, hip = rnd.choice(HOSTS + [(DEV, DIP)])
    r = rnd.random()
    qid = rnd.randrange(65536)
    name = rnd.choice(['m2.tuyaeu.com', 'a2.tuyaeu.com', 'ot.io.mi.com', 'time.google.com', 'api.example.net'])
    if r < 0.25:
        sp = 40000 + rnd.randrange(20000)
        frames.append(udp(hm, hip, sp, RT, RIP, 53, dns(qid, name, None)))
        frames.append(udp(RT, RIP, 53, hm, hip, sp, dns(qid, name, '3.67.242.%d' % rnd.randrange(256))))
    elif r < 0.55: frames.append(tcp(hm, hip, 50000 + rnd.randrange(999), RT, '3.67.242.33', 8883, rnd.choice([b'', b'\0']), flags=0x10))
    elif r < 0.65: frames.append(udp(hm, hip, 49154, BC, '255.255.255.255', 6667, b'\x00\x00\x55\xaa' + bytes(rnd.randrange(40, 90))))
    elif r < 0.72: frames.append(udp(hm, hip, 50000, '01:00:5e:7f:ff:fa', '239.255.255.250', 1900, b'M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nST: ssdp:all\r\n\r\n'))
    elif r < 0.80: frames.append(udp(hm, hip, 5353, '01:00:5e:00:00:fb', '224.0.0.251', 5353, dns(0, '_hap._tcp.local', None)))
    elif r < 0.88: frames.append(eth(hm, BC, 0x0806, bytes.fromhex('0001080006040001') + mac(hm) + ip(hip) + bytes(6) + ip(RIP) + bytes(18)))
    elif r < 0.94: frames.append(eth(hm, RT, 0x0800, ipv4(hip, '8.8.8.8', 1, b'\x08\0\0\0' + struct.pack('!HH', 1, i) + bytes(32))))
    else: frames.append(udp(hm, hip, 123, RT, '61.164.36.105', 123, b'\x23' + bytes(47)))
with open(out, 'wb') as f:
    f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 262144, 1))
    t, written = 1704067200.0, 0
    while written < n:
        block = bytearray()
        for fr in frames[:n - written]:
            t += 0.001
            block += struct.pack('<IIII', int(t), int((t % 1) * 1e6), len(fr), len(fr)) + fr
        written += min(len(frames), n - written)
        f.write(block)
PY
)" "$1" "$2"
}

PROFILE=$DIR/bench-headers.yaml
cat > "$PROFILE" <<'YAML'
name: bench-headers
description: MAC/IP/port profile for the native-engine benchmark
device:
  mac: [64:90:c1:1d:24:c4]
  ip: [10.10.10.8]
ignore:
  - name: laptop
    mac: [18:c0:4d:3b:66:d2]
  - name: zerotier
    host: [195.181.173.159]
    udp: [9993]
  - protocols: [arp]
expected:
  - name: mqtt
    host: [3.64.0.0/14]
    tcp: [8883]
YAML

BIG=() SMALL=()
if part 1 || part 2 || part 3; then
for i in 1 2 3 4; do
    f=$DIR/big$i.pcap
    [ -s "$f" ] && [ "$(stat -c %s "$f")" -ge $((MB << 20)) ] || gen "$f" "$MB"
    BIG+=("$f")
done
for i in 1 2 3 4; do
    f=$DIR/small/s$i.pcap
    mkdir -p "$DIR/small"
    [ -s "$f" ] || gen "$f" 40
    SMALL+=("$f")
done
TOTAL=$(du -cb "${BIG[@]}" | tail -1 | cut -f1)
echo "capture set: ${#BIG[@]} files, $((TOTAL >> 20)) MiB; small set: ${#SMALL[@]} files x 40 MiB"
fi

secs() { /usr/bin/time -f %e -o "$DIR/.t" "$@" >/dev/null 2>"$DIR/.err" || { cat "$DIR/.err" >&2; exit 1; }; cat "$DIR/.t"; }
count() { capinfos -c -M "$1" | awk '/Number of packets/ {print $NF}'; }
ratio() { python3 -c "print(f'{$1 / $2:.1f}')"; }

MODE=unexpected
FILTER=$($BIN filter "$PROFILE" --mode $MODE)
BPF=$($BIN bpf "$PROFILE" --mode $MODE)
if part 1; then
rm -rf "$DIR/native" "$DIR/tshark" "$DIR/tcpdump"; mkdir -p "$DIR/native" "$DIR/tshark" "$DIR/tcpdump"

t_native=$(secs $BIN run "$PROFILE" "${BIG[@]}" --mode $MODE --out "$DIR/native" --jobs 1)
t_tcpdump=$(secs sh -c 'for f; do tcpdump -r "$f" -w "'"$DIR"'/tcpdump/$(basename "$f")" "'"$BPF"'" 2>/dev/null; done' sh "${BIG[@]}")
t_tshark=$(secs sh -c 'for f; do tshark -n -r "$f" -Y "'"$FILTER"'" -F pcapng -w "'"$DIR"'/tshark/$(basename "$f").pcapng"; done' sh "${BIG[@]}")
n_native=0; n_tshark=0; n_tcpdump=0
for f in "${BIG[@]}"; do
    b=$(basename "$f" .pcap)
    n_native=$((n_native + $(count "$DIR/native/$b.$MODE.pcapng")))
    n_tshark=$((n_tshark + $(count "$DIR/tshark/$b.pcap.pcapng")))
    n_tcpdump=$((n_tcpdump + $(count "$DIR/tcpdump/$b.pcap")))
done
echo
echo "1. MAC/IP/port profile, mode $MODE, $((TOTAL >> 20)) MiB, one core each:"
echo "   native run --jobs 1: ${t_native} s ($n_native packets kept)"
echo "   tcpdump -r -w BPF:   ${t_tcpdump} s ($n_tcpdump packets kept)"
echo "   tshark -r -Y -w:     ${t_tshark} s ($n_tshark packets kept)"
echo "   native vs tshark: $(ratio "$t_tshark" "$t_native")x faster; native / tcpdump time: $(ratio "$t_native" "$t_tcpdump")"
[ "$n_native" = "$n_tshark" ] && [ "$n_native" = "$n_tcpdump" ] || { echo "   PACKET COUNTS DIFFER" >&2; exit 1; }
fi

NAMES=$DIR/bench-names.yaml
cat > "$NAMES" <<'YAML'
name: bench-names
description: the MQTT endpoint by name only, so its conversation needs tshark
device:
  mac: [64:90:c1:1d:24:c4]
  ip: [10.10.10.8]
ignore:
  - mac: [18:c0:4d:3b:66:d2]
  - protocols: [arp, dhcp]
expected:
  - name: tuya-mqtt
    host: [m2.tuyaeu.com]
    tcp: [8883]
YAML
if part 2; then
rm -rf "$DIR/j1" "$DIR/j2"
t_j1=$(secs $BIN run "$NAMES" "${SMALL[@]}" --mode unexpected --out "$DIR/j1" --jobs 1)
t_j2=$(secs $BIN run "$NAMES" "${SMALL[@]}" --mode unexpected --out "$DIR/j2" --jobs 2)
given=$($BIN run "$NAMES" "${SMALL[0]}" --mode unexpected --out "$DIR/j0" --jobs 1 2>&1 | grep -o 'tshark on [0-9]* packets' || true)
echo
echo "2. tshark needed (expected rule by host name, mode unexpected), 4 x 40 MiB ($given per file):"
echo "   --jobs 1: ${t_j1} s; --jobs 2: ${t_j2} s; speedup $(ratio "$t_j1" "$t_j2")x"
fi

# Peak memory of filtergen itself (VmHWM; /usr/bin/time would report its
# largest child, the `tshark -G protocols` it runs at start).
rss() {
    rm -rf "$DIR/mem"
    $BIN run "$PROFILE" "$1" --mode $MODE --out "$DIR/mem" --jobs 1 >/dev/null 2>&1 &
    local pid=$! hwm=0 v
    while kill -0 $pid 2>/dev/null; do
        v=$(awk '/VmHWM/ {print $2}' /proc/$pid/status 2>/dev/null || true)
        [ -n "$v" ] && hwm=$v
        sleep 0.02
    done
    wait $pid
    echo "$hwm"
}
if part 3; then
m_small=$(rss "${SMALL[0]}")
m_big=$(rss "${BIG[0]}")
echo
echo "3. peak memory (VmHWM) of the native engine: $(( $(stat -c %s "${SMALL[0]}") >> 20 )) MiB input: ${m_small} KiB; $(( $(stat -c %s "${BIG[0]}") >> 20 )) MiB input: ${m_big} KiB"
fi

SMALLPKT=$DIR/smallpkt.pcap
DEVICE=$DIR/bench-device.yaml
cat > "$DEVICE" <<'YAML'
name: bench-device
description: one MAC and one IP (the small-packet benchmark)
device:
  mac: [64:90:c1:1d:24:c4]
  ip: [10.10.10.8]
YAML
if part 4; then
[ -s "$SMALLPKT" ] || gen_small "$SMALLPKT" 1000000
rm -rf "$DIR/s-native" "$DIR/s-tshark" "$DIR/s-tcpdump"; mkdir -p "$DIR/s-native" "$DIR/s-tshark" "$DIR/s-tcpdump"
D_FILTER=$($BIN filter "$DEVICE" --mode device)
D_BPF=$($BIN bpf "$DEVICE" --mode device)
t_native=$(secs $BIN run "$DEVICE" "$SMALLPKT" --mode device --out "$DIR/s-native" --jobs 1)
t_tcpdump=$(secs tcpdump -r "$SMALLPKT" -w "$DIR/s-tcpdump/out.pcap" "$D_BPF")
t_tshark=$(secs tshark -n -r "$SMALLPKT" -Y "$D_FILTER" -F pcapng -w "$DIR/s-tshark/out.pcapng")
n_native=$(count "$DIR/s-native/smallpkt.device.pcapng")
n_tcpdump=$(count "$DIR/s-tcpdump/out.pcap")
n_tshark=$(count "$DIR/s-tshark/out.pcapng")
echo
echo "4. small packets: $(count "$SMALLPKT") frames, $(( $(stat -c %s "$SMALLPKT") >> 20 )) MiB, one MAC + one IP, mode device:"
echo "   native run --jobs 1: ${t_native} s ($n_native packets kept)"
echo "   tcpdump -r -w BPF:   ${t_tcpdump} s ($n_tcpdump packets kept)"
echo "   tshark -r -Y -w:     ${t_tshark} s ($n_tshark packets kept)"
echo "   native / tcpdump time: $(ratio "$t_native" "$t_tcpdump"); tshark / native: $(ratio "$t_tshark" "$t_native")x"
[ "$n_native" = "$n_tshark" ] && [ "$n_native" = "$n_tcpdump" ] || { echo "   PACKET COUNTS DIFFER" >&2; exit 1; }
fi
