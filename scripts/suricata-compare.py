#!/usr/bin/env python3
"""Comparisons for scripts/check-suricata.sh.

suricata-compare.py PROFILE OUTDIR INPUT
    Suricata's alerts and `filtergen report --eve` against the tshark-based
    `filtergen report`. OUTDIR holds eve.json (Suricata), report.json
    (tshark) and report-eve.json. Exit 1 when a compared set differs;
    periods of traffic inside one flow (which EVE cannot carry) are printed
    as notes, not compared.

suricata-compare.py --signatures WORK
    Each key-free signature fired on the runs of the captures that carry
    its pattern, and in no other run (WORK/out-*/eve.json).
"""
import ipaddress
import json
import pathlib
import sys

# filtergen/src/emit/suricata.rs: profile sids and the catch-alls' offsets.
PROFILE_SID_BASE, SIDS_PER_PROFILE, PROFILE_SLOTS = 1_800_000, 1000, 200
OUTBOUND = {0, 2, 4, 5, 6}  # the device is the packet's source
INBOUND = {1, 3, 7}
RESOLVER = 10
# filtergen/src/emit/suricata/signatures.rs: sids -> captures they must fire on.
SIGNATURES = {
    "miio-token-leak": ({1770000}, {"miio-lan"}),
    "kalay-master": ({1770010, 1770011}, {"iotc-session"}),
    "pppp-server": ({1770020}, {"pppp-session"}),
    "tuya-leaves-lan": ({1770030, 1770031, 1770032, 1770033}, {"tuya-session-wan"}),
}


def is_ip(a):
    try:
        ipaddress.ip_address(a)
        return True
    except ValueError:
        return False


def alerts(eve):
    for line in eve.open():
        e = json.loads(line)
        if e.get("event_type") == "alert":
            yield e


def signatures(work):
    fired = {k: set() for k in SIGNATURES}
    for eve in work.glob("out-*/eve.json"):
        for e in alerts(eve):
            for sig, (sids, _) in SIGNATURES.items():
                if e["alert"]["signature_id"] in sids:
                    fired[sig].add(eve.parent.name)
    bad = False
    for sig, (_, where) in SIGNATURES.items():
        got = fired[sig]
        hit = {w for w in where if any(d.endswith("-" + w) for d in got)}
        extra = sorted(d for d in got if not any(d.endswith("-" + w) for w in where))
        ok = hit == where and not extra
        bad |= not ok
        print(f"{'ok' if ok else 'FAILED'}: signature {sig} fired in {len(got)} runs, on {sorted(hit)}; elsewhere: {extra or 'nowhere'}")
    return 1 if bad else 0


def compare(profile, out, label):
    label = label.split("/phonehome-check/")[-1]
    unexpected, resolvers = set(), set()
    for e in alerts(out / "eve.json"):
        sid = e["alert"]["signature_id"]
        if not PROFILE_SID_BASE <= sid < PROFILE_SID_BASE + PROFILE_SLOTS * SIDS_PER_PROFILE:
            continue
        msg, n = e["alert"]["signature"], sid % SIDS_PER_PROFILE
        assert msg.startswith(f"phonehome {profile}: "), msg
        if n in OUTBOUND:
            unexpected.add(e["dest_ip"])
        elif n in INBOUND:
            unexpected.add(e["src_ip"])
        elif n == RESOLVER:
            resolvers.add(e["dest_ip"])
    report = json.load((out / "report.json").open())
    want_unexpected = {a for ep in report["endpoints"] if ep["status"] == "unexpected" for a in ep["addresses"] if is_ip(a)}
    want_resolvers = {r["address"] for r in report["resolvers"] if not r["local"]}
    failed = False

    def check(what, got, want):
        nonlocal failed
        if got == want:
            return f"{what} {sorted(got) if got else '-'}"
        failed = True
        return f"{what} DIFFER: only Suricata/EVE {sorted(got - want)}, only report {sorted(want - got)}"

    line = [check("unexpected", unexpected, want_unexpected), check("hard-coded resolver", resolvers, want_resolvers)]

    # report --eve against the tshark report: IP endpoints (EVE has no non-IP frames).
    eve = json.load((out / "report-eve.json").open())

    def rows(r):
        return {
            (ep["name"] or ",".join(ep["addresses"]), ep["transport"], ep["port"], ep["direction"]): ep
            for ep in r["endpoints"]
            if all(is_ip(a) for a in ep["addresses"])
        }

    t_rows, e_rows = rows(report), rows(eve)
    t_keys = {k + (v["status"],) for k, v in t_rows.items()}
    e_keys = {k + (v["status"],) for k, v in e_rows.items()}
    line.append(check("eve endpoints", e_keys, t_keys) if e_keys != t_keys else f"eve endpoints and statuses = report ({len(t_keys)})")
    t_res = {(r["address"], r["local"]) for r in report["resolvers"]}
    e_res = {(r["address"], r["local"]) for r in eve["resolvers"]}
    line.append(check("eve resolvers", e_res, t_res) if t_res != e_res else "eve resolvers = report")
    t_dns = {(d["name"], tuple(d["resolvers"]), tuple(d["addresses"]), d["repeats"]) for d in report["dns"]}
    e_dns = {(d["name"], tuple(d["resolvers"]), tuple(d["addresses"]), d["repeats"]) for d in eve["dns"]}
    line.append(check("eve dns", e_dns, t_dns) if t_dns != e_dns else f"eve dns = report ({len(t_dns)})")
    notes = []
    for k in sorted(set(t_rows) & set(e_rows), key=str):
        t, e = t_rows[k], e_rows[k]
        if t["rule"] != e["rule"]:
            # Same status, another rule: the first rule matched on a MAC, which EVE does not log.
            notes.append(f"    note: {k[0]} {k[1]}/{k[2]} rule: report {t['rule']!r}, eve {e['rule']!r}")
        if t["repeats"] != e["repeats"]:
            notes.append(f"    note: {k[0]} {k[1]}/{k[2]} repeats: report {t['repeats']!r}, eve {e['repeats']!r}")
    print(f"{'FAILED' if failed else 'ok'}: {profile} on {label}: " + "; ".join(line))
    for n in notes:
        print(n)
    return 1 if failed else 0


if sys.argv[1] == "--signatures":
    sys.exit(signatures(pathlib.Path(sys.argv[2])))
sys.exit(compare(sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3]))
