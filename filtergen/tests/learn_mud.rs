//! `learn` drafts a profile that explains everything the device did (a
//! report with it finds nothing UNEXPECTED), and `mud` writes a MUD file
//! whose every node is one RFC 8520 / RFC 8519 (YANG-derived JSON) allows.

mod common;

use std::collections::BTreeSet;

use common::*;
use phonehome_samples::roborock_hours;
use serde_json::Value;

#[test]
fn a_learned_profile_explains_the_device_and_collapses_names() {
    require_tool("tshark", "tshark");
    let dir = tempfile::tempdir().unwrap();
    for (h, cap) in roborock_hours::captures().iter().enumerate().take(4) {
        cap.write(&dir.path().join(format!("h{h}.pcap"))).unwrap();
    }
    let profile = dir.path().join("learned.yaml");
    let caps = dir.path().to_str().unwrap();
    let (code, _, err) = run(&["learn", caps, "--device", "64:90:c1:1d:24:c4", "--name", "vacuum", "-o", profile.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&profile).unwrap();
    assert!(text.contains("name: \"vacuum\"") && text.contains("ip: [\"10.10.10.8\"]"), "{text}");
    // m2.tuyaeu.com: its name, its addresses (few), its port.
    assert!(text.contains("host: [\"3.67.242.33\", \"35.156.44.172\", \"m2.tuyaeu.com\"]\n    tcp: [8883]"), "{text}");

    // Every endpoint of the same captures is explained by the draft.
    let (code, out, err) = run(&["report", profile.to_str().unwrap(), caps, "--format", "json", "--fail-on-unexpected"]);
    assert_eq!(code, 0, "{err}\n{text}");
    let r: Value = serde_json::from_str(&out).unwrap();
    let statuses: BTreeSet<&str> = r["endpoints"].as_array().unwrap().iter().map(|e| e["status"].as_str().unwrap()).collect();
    assert!(!statuses.contains("unexpected"), "{statuses:?}");

    // The draft compiles to a display filter, and is never overwritten.
    let (code, _, err) = run(&["filter", profile.to_str().unwrap(), "--mode", "unexpected"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(&["learn", caps, "--device", "64:90:c1:1d:24:c4", "-o", profile.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("exists"), "{err}");
    assert_eq!(std::fs::read_to_string(&profile).unwrap(), text);
    let (code, _, err) = run(&["learn", caps, "--device", "02:00:00:00:00:99"]);
    assert_eq!(code, 2);
    assert!(err.contains("no packet of 02:00:00:00:00:99"), "{err}");
}

#[test]
fn many_names_of_one_domain_become_a_wildcard() {
    require_tool("tshark", "tshark");
    use phonehome_samples::{Capture, Host};
    let dev = Host::new(roborock_hours::DEVICE_MAC, [10, 10, 10, 8]);
    let resolver = Host::new(roborock_hours::ROUTER_MAC, [10, 10, 10, 1]);
    let mut cap = Capture::new();
    for (i, name) in ["de.ot.io.mi.com", "de.ott.io.mi.com", "dns.io.mi.com", "a2.tuyaeu.com"].iter().enumerate() {
        let addr = [110, 43, 0, 80 + i as u8];
        cap.udp(dev, 40000, resolver, 53, &roborock_hours::dns_message(i as u16, name, None));
        cap.udp(resolver, 53, dev, 40000, &roborock_hours::dns_message(i as u16, name, Some((None, &[addr]))));
        cap.udp(dev, 40001, Host::new(roborock_hours::ROUTER_MAC, addr), 8053, b"x");
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mi.pcap");
    cap.write(&path).unwrap();
    let (code, text, err) = run(&["learn", path.to_str().unwrap(), "--device", "64:90:c1"]);
    assert_eq!(code, 0, "{err}");
    assert!(text.contains("host: [\"*.io.mi.com\""), "{text}");
    assert!(text.contains("host: [\"110.43.0.83\", \"a2.tuyaeu.com\"]"), "{text}");
}

/// Checks `v` against the RFC 8520 tree (ietf-mud, ietf-acldns) and the
/// RFC 8519 ACL model as encoded in JSON by RFC 7951; returns the problems.
fn rfc8520_problems(v: &Value) -> Vec<String> {
    let mut p = Vec::new();
    let keys = |v: &Value, allowed: &[&str], at: &str, p: &mut Vec<String>| match v.as_object() {
        Some(o) => o.keys().filter(|k| !allowed.contains(&k.as_str())).for_each(|k| p.push(format!("{at}: unexpected {k}"))),
        None => p.push(format!("{at}: not an object")),
    };
    keys(v, &["ietf-mud:mud", "ietf-access-control-list:acls"], "/", &mut p);
    let mud = &v["ietf-mud:mud"];
    keys(
        mud,
        &["mud-version", "mud-url", "last-update", "mud-signature", "cache-validity", "is-supported", "systeminfo", "mfg-name", "model-name", "firmware-rev", "software-rev", "documentation", "extensions", "from-device-policy", "to-device-policy"],
        "mud",
        &mut p,
    );
    if mud["mud-version"] != 1 {
        p.push("mud-version must be 1".into());
    }
    if !mud["mud-url"].as_str().is_some_and(|u| u.starts_with("https://")) {
        p.push("mud-url must be an https URI".into());
    }
    let date = mud["last-update"].as_str().unwrap_or("");
    let date_ok = date.len() >= 20 && date.as_bytes()[4] == b'-' && date.as_bytes()[10] == b'T' && (date.ends_with('Z') || date[19..].contains(['+', '-']));
    if !date_ok {
        p.push(format!("last-update {date:?} is not a date-and-time"));
    }
    if !mud["is-supported"].is_boolean() {
        p.push("is-supported is mandatory boolean".into());
    }
    if !mud["cache-validity"].as_u64().is_some_and(|c| (1..=168).contains(&c)) {
        p.push("cache-validity must be 1..168".into());
    }
    if !mud["systeminfo"].as_str().is_some_and(|s| !s.is_empty() && s.chars().count() <= 64) {
        p.push("systeminfo must be 1..64 characters".into());
    }
    let acls = v["ietf-access-control-list:acls"]["acl"].as_array().cloned().unwrap_or_default();
    let names: BTreeSet<&str> = acls.iter().filter_map(|a| a["name"].as_str()).collect();
    let mut direction_of = std::collections::BTreeMap::new();
    for policy in ["from-device-policy", "to-device-policy"] {
        keys(&mud[policy], &["access-lists"], policy, &mut p);
        keys(&mud[policy]["access-lists"], &["access-list"], policy, &mut p);
        for a in mud[policy]["access-lists"]["access-list"].as_array().unwrap() {
            keys(a, &["name"], policy, &mut p);
            let n = a["name"].as_str().unwrap();
            if !names.contains(n) {
                p.push(format!("{policy} names a missing acl {n}"));
            }
            direction_of.insert(n.to_string(), policy);
        }
    }
    for acl in &acls {
        keys(acl, &["name", "type", "aces"], "acl", &mut p);
        let name = acl["name"].as_str().unwrap_or("");
        if name.is_empty() || name.len() > 64 {
            p.push(format!("acl name {name:?} must be 1..64"));
        }
        let l3 = match acl["type"].as_str() {
            Some("ipv4-acl-type") => "ipv4",
            Some("ipv6-acl-type") => "ipv6",
            t => {
                p.push(format!("acl type {t:?}"));
                continue;
            }
        };
        let from_device = direction_of.get(name) == Some(&"from-device-policy");
        keys(&acl["aces"], &["ace"], "aces", &mut p);
        for ace in acl["aces"]["ace"].as_array().unwrap() {
            let at = format!("ace {}", ace["name"]);
            keys(ace, &["name", "matches", "actions"], &at, &mut p);
            if !ace["name"].as_str().is_some_and(|n| !n.is_empty() && n.len() <= 64) {
                p.push(format!("{at}: name must be 1..64"));
            }
            keys(&ace["actions"], &["forwarding", "logging"], &at, &mut p);
            if !["accept", "drop", "reject"].contains(&ace["actions"]["forwarding"].as_str().unwrap_or("")) {
                p.push(format!("{at}: forwarding"));
            }
            let m = &ace["matches"];
            keys(m, &[l3, "tcp", "udp", "icmp", "eth", "ietf-mud:mud"], &at, &mut p);
            let net = if l3 == "ipv4" { ["destination-ipv4-network", "source-ipv4-network"] } else { ["destination-ipv6-network", "source-ipv6-network"] };
            let mut l3_keys = vec!["protocol", "dscp", "ecn", "length", "ttl", "ihl", "flags", "offset", "identification", "ietf-acldns:src-dnsname", "ietf-acldns:dst-dnsname"];
            l3_keys.extend(net);
            keys(&m[l3], &l3_keys, &at, &mut p);
            // From the device the remote is the destination; to it, the source.
            let wrong = if from_device { ["ietf-acldns:src-dnsname", net[1]] } else { ["ietf-acldns:dst-dnsname", net[0]] };
            for w in wrong {
                if m[l3].get(w).is_some() {
                    p.push(format!("{at}: {w} in the wrong direction"));
                }
            }
            for k in ["ietf-acldns:src-dnsname", "ietf-acldns:dst-dnsname"] {
                if let Some(n) = m[l3].get(k) {
                    let n = n.as_str().unwrap_or("*");
                    if n.contains('*') || n.is_empty() || n.len() > 253 {
                        p.push(format!("{at}: {k} {n:?} is not a domain name"));
                    }
                }
            }
            for (l4, proto) in [("tcp", 6), ("udp", 17)] {
                let Some(t) = m.get(l4) else { continue };
                if m[l3]["protocol"] != proto {
                    p.push(format!("{at}: {l4} without protocol {proto}"));
                }
                let allowed: &[&str] = if l4 == "tcp" { &["source-port", "destination-port", "flags", "ietf-mud:direction-initiated"] } else { &["source-port", "destination-port", "length"] };
                keys(t, allowed, &at, &mut p);
                let port_key = if from_device { "destination-port" } else { "source-port" };
                for (k, port) in t.as_object().unwrap().iter().filter(|(k, _)| k.ends_with("-port")) {
                    if k != port_key {
                        p.push(format!("{at}: {k} in the wrong direction"));
                    }
                    let eq = port["operator"].as_str().is_some_and(|o| ["eq", "lte", "gte", "neq"].contains(&o)) && port["port"].as_u64().is_some_and(|x| (1..=65535).contains(&x));
                    let range = port["lower-port"].as_u64().zip(port["upper-port"].as_u64()).is_some_and(|(a, b)| a <= b);
                    if !(eq || range) {
                        p.push(format!("{at}: bad port {port}"));
                    }
                }
                if let Some(d) = t.get("ietf-mud:direction-initiated") {
                    if d != "from-device" && d != "to-device" {
                        p.push(format!("{at}: direction-initiated {d}"));
                    }
                }
            }
        }
    }
    p
}

#[test]
fn mud_files_have_the_rfc_8520_shape() {
    let dir = tempfile::tempdir().unwrap();
    for profile in ["roborock-tuya.yaml", "milight-bridge.yaml", "wyze-base.yaml", "supra-plug.yaml", "roborock-s50.yaml"] {
        let out = dir.path().join(format!("{profile}.json"));
        let (code, _, err) = run(&["mud", &profile_path(profile), "-o", out.to_str().unwrap(), "--last-update", "2024-01-01T00:00:00+00:00"]);
        assert!(code == 0 || code == 1, "{profile}: {err}");
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        let problems = rfc8520_problems(&v);
        assert!(problems.is_empty(), "{profile}: {problems:#?}");
    }
    // The checker itself rejects what the RFC does not allow.
    let mut bad: Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("roborock-tuya.yaml.json")).unwrap()).unwrap();
    bad["ietf-mud:mud"]["cache-validity"] = 500.into();
    bad["ietf-access-control-list:acls"]["acl"][0]["aces"]["ace"][1]["matches"]["ipv4"]["ietf-acldns:dst-dnsname"] = "*.tuyaeu.com".into();
    assert_eq!(rfc8520_problems(&bad).len(), 2);

    // The roborock-tuya profile: MQTT to m2.tuyaeu.com, TCP 8883, from the device;
    // the wildcard rule is named as left out, with exit 1.
    let (code, out, err) = run(&["mud", &profile_path("roborock-tuya.yaml"), "--mud-url", "https://example.org/r.json"]);
    assert_eq!(code, 1);
    assert!(err.contains("*.io.mi.com"), "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let acls = v["ietf-access-control-list:acls"]["acl"].as_array().unwrap();
    let from = acls.iter().find(|a| a["name"] == "mud-roborock-tuya-v4fr").unwrap();
    let mqtt = from["aces"]["ace"].as_array().unwrap().iter().find(|a| a["matches"]["ipv4"]["ietf-acldns:dst-dnsname"] == "m2.tuyaeu.com").unwrap();
    assert_eq!(mqtt["matches"]["tcp"]["destination-port"], serde_json::json!({"operator": "eq", "port": 8883}));
    assert_eq!(mqtt["matches"]["tcp"]["ietf-mud:direction-initiated"], "from-device");
    assert_eq!(v["ietf-mud:mud"]["mud-url"], "https://example.org/r.json");
    let (code, _, err) = run(&["mud", &profile_path("roborock-tuya.yaml"), "--mud-url", "http://plain"]);
    assert_eq!(code, 2, "{err}");
}
