//! Countries out of the box: the report names the registration country of
//! every public endpoint, resolver and NTP server with no option, a profile
//! rule may say `country: [..]` (report and run evaluate it, display filters
//! and BPF refuse it naming the rule), and `firewall --block-country` sets
//! load into the real nft. The addresses are the seeds' public ones;
//! they are only written into capture files and sets, never sent to.

mod common;

use std::path::Path;
use std::process::Command;

use common::netns::Netns;
use common::*;
use phonehome_samples::roborock_hours;
use serde_json::Value;

/// The first two hours of the Roborock-like set (NTP, the hard-coded resolver, the Tuya EU cloud).
fn roborock_set(dir: &Path) -> String {
    for (h, cap) in roborock_hours::captures().iter().enumerate().take(2) {
        cap.write(&dir.join(format!("hour{h}.pcap"))).unwrap();
    }
    dir.to_string_lossy().into_owned()
}

fn endpoint_with<'a>(r: &'a Value, address: &str) -> &'a Value {
    r["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["addresses"].as_array().unwrap().iter().any(|a| a == address))
        .unwrap_or_else(|| panic!("no endpoint {address}"))
}

fn resolver<'a>(r: &'a Value, address: &str) -> &'a Value {
    r["resolvers"].as_array().unwrap().iter().find(|x| x["address"] == address).unwrap_or_else(|| panic!("no resolver {address}"))
}

#[test]
fn report_names_countries_with_no_option_in_every_format() {
    require_tool("tshark", "tshark");
    let dir = tempfile::tempdir().unwrap();
    let set = roborock_set(dir.path());
    let profile = profile_path("roborock-tuya.yaml");
    let (code, out, err) = run(&["report", &profile, &set, "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(endpoint_with(&r, "61.164.36.105")["country"], "CN", "the NTP server");
    assert_eq!(resolver(&r, "114.114.114.114")["country"], "CN", "the hard-coded resolver");
    // AWS Frankfurt is registered to the US: the registries say where a block is registered.
    assert_eq!(endpoint_with(&r, "3.67.242.33")["country"], "US");
    let lan = resolver(&r, "10.10.10.1");
    assert_eq!((lan["country"].clone(), lan["scope"].clone()), (Value::Null, Value::from("private")));
    // The countries summary: most bytes first, with the endpoints behind each.
    let countries = r["countries"].as_array().unwrap();
    let bytes = |c: &Value| c["bytes_out"].as_u64().unwrap() + c["bytes_in"].as_u64().unwrap();
    let public = |c: &Value| c["public"].as_bool().unwrap();
    assert!(countries.windows(2).all(|w| public(&w[0]) > public(&w[1]) || public(&w[0]) == public(&w[1]) && bytes(&w[0]) >= bytes(&w[1])), "countries first, by bytes: {countries:?}");
    assert!(public(&countries[0]), "a country reads first, not the broadcasts: {countries:?}");
    let cn = countries.iter().find(|c| c["country"] == "CN").expect("a CN row");
    let behind: Vec<&str> = cn["endpoints"].as_array().unwrap().iter().map(|e| e.as_str().unwrap()).collect();
    assert!(behind.contains(&"61.164.36.105") && behind.contains(&"114.114.114.114"), "{behind:?}");
    assert!(countries.iter().any(|c| c["country"] == "private"), "the LAN is labelled, not blank");
    assert!(countries.iter().any(|c| c["country"] == "multicast" || c["country"] == "broadcast"), "{countries:?}");
    assert!(r["country_source"].as_str().unwrap().contains("95%"));

    for format in ["table", "markdown", "html", "csv"] {
        let (code, out, err) = run(&["report", &profile, &set, "--format", format]);
        assert_eq!(code, 0, "{format}: {err}");
        assert!(out.contains("CN"), "{format}: no CN");
        assert!(out.contains("private"), "{format}: private addresses unlabelled");
        if format != "csv" {
            let lower = out.to_lowercase();
            let first_section = lower.find("countries\n").or_else(|| lower.find("countries<")).expect("a countries section");
            let endpoints = lower.find("endpoints\n").or_else(|| lower.find("endpoints<")).expect("an endpoints section");
            assert!(first_section < endpoints, "{format}: countries read before the endpoints");
            assert!(out.contains("internet traffic by country: US "), "{format}: the summary line");
            assert!(out.contains("about 95% of IPv4"), "{format}: the footer");
        } else {
            let header = out.lines().next().unwrap();
            assert!(header.ends_with(",country,scope,owner"), "{header}");
            let ntp = out.lines().find(|l| l.starts_with("61.164.36.105,")).expect("NTP row");
            assert!(ntp.contains(",CN,"), "{ntp}");
        }
    }
    // The NTP section has a country column.
    let (_, table, _) = run(&["report", &profile, &set]);
    let ntp_section = &table[table.find("NTP SERVERS").unwrap()..];
    let row = ntp_section.lines().find(|l| l.contains("61.164.36.105")).unwrap();
    assert!(row.trim_end().ends_with("CN"), "{row}");
}

const DEVICE: &str = "02:00:00:00:00:05";
const ROUTER: &str = "02:00:00:00:00:01";

/// A device on 192.0.2.5 talking to hosts in several countries (the IOTC
/// master servers a Supra plug uses and Google's resolver), each with its own
/// port so the kept packets can be told apart.
fn several_countries() -> Vec<(Packet, &'static str)> {
    let d = (mac(DEVICE), "192.0.2.5");
    let gw = mac(ROUTER);
    let hosts = [
        ("114.114.114.114", 53, "CN"),
        ("120.24.59.150", 32100, "CN"),
        ("50.19.254.134", 32100, "US"),
        ("8.8.8.8", 53, "US"),
        ("46.137.188.54", 32100, "IE"),
        ("175.41.238.100", 32100, "JP"),
    ];
    let mut out = Vec::new();
    for (i, (addr, port, cc)) in hosts.iter().enumerate() {
        out.push((Packet::udp(d, (gw, addr), 40000 + i as u16, *port), *cc));
        out.push((Packet::udp((gw, addr), d, *port, 40000 + i as u16), *cc));
    }
    out
}

#[test]
fn a_country_rule_is_evaluated_by_report_and_run_and_refused_by_filters() {
    require_tool("tshark", "tshark");
    let dir = tempfile::tempdir().unwrap();
    let packets = several_countries();
    let capture = dir.path().join("world.pcap");
    write_capture(&capture, &packets.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>());
    let profile = dir.path().join("world.yaml");
    std::fs::write(
        &profile,
        format!("name: world\ndevice:\n  mac: [{DEVICE}]\nexpected:\n  - name: us-and-japan\n    country: [US, jp]\n"),
    )
    .unwrap();
    let profile = profile.to_str().unwrap();

    // report: endpoints in US and JP are expected, the others UNEXPECTED.
    let (code, out, err) = run(&["report", profile, capture.to_str().unwrap(), "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let r: Value = serde_json::from_str(&out).unwrap();
    for (addr, want) in [("8.8.8.8", "expected"), ("50.19.254.134", "expected"), ("175.41.238.100", "expected"), ("114.114.114.114", "unexpected"), ("46.137.188.54", "unexpected")] {
        assert_eq!(endpoint_with(&r, addr)["status"], want, "{addr}");
    }
    let countries: Vec<&str> = r["countries"].as_array().unwrap().iter().map(|c| c["country"].as_str().unwrap()).collect();
    for cc in ["CN", "US", "IE", "JP"] {
        assert!(countries.contains(&cc), "{cc} in {countries:?}");
    }

    // run: the unexpected mode keeps exactly the packets outside US and JP.
    let out_dir = dir.path().join("out");
    let (code, stdout, stderr) = run(&["run", profile, capture.to_str().unwrap(), "--mode", "unexpected", "--out", out_dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("(native,"), "countries are decided from the headers: {stdout}");
    let kept = Command::new("tshark").arg("-n").arg("-r").arg(out_dir.join("world.unexpected.pcapng")).args(["-T", "fields", "-e", "udp.srcport", "-e", "udp.dstport"]).output().unwrap();
    let kept = String::from_utf8(kept.stdout).unwrap();
    let want: Vec<String> = packets
        .iter()
        .filter(|(_, cc)| !["US", "JP"].contains(cc))
        .map(|(p, _)| {
            let ports = p.udp_ports();
            format!("{}\t{}", ports[0], ports[1])
        })
        .collect();
    assert_eq!(kept.lines().collect::<Vec<_>>(), want, "kept packets");

    // Display filters and BPF have no country: exit 1 naming the rule.
    for args in [vec!["filter", profile, "--mode", "unexpected"], vec!["bpf", profile, "--mode", "unexpected"]] {
        let (code, out, err) = run(&args);
        assert_eq!(code, 1, "{args:?}: {out}{err}");
        assert!(err.contains("us-and-japan") && err.contains("country"), "{args:?}: {err}");
        assert!(out.is_empty(), "nothing half-written: {out}");
    }
    // The device mode needs no rule, so it still compiles.
    let (code, _, err) = run(&["filter", profile, "--mode", "device"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn a_bad_country_names_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("bad.yaml");
    std::fs::write(&profile, "name: bad\ndevice:\n  mac: [02:00:00:00:00:05]\nexpected:\n  - country: [DE, XQ]\n").unwrap();
    let (code, _, err) = run(&["filter", profile.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(err.contains("bad.yaml:5:") && err.contains("expected[0].country") && err.contains("XQ"), "{err}");
}

#[test]
fn block_country_sets_load_into_nft_for_the_device_alone() {
    require_tool("nft", "nftables");
    let dir = tempfile::tempdir().unwrap();
    let profile = write(dir.path(), "wyze.yaml", "name: wyze-base\ndevice:\n  ip: [192.0.2.10]\nexpected:\n  - {name: ntp, protocols: [ntp]}\n");
    let rules = dir.path().join("geo.nft");
    let (code, _, err) = run(&["firewall", &profile, "--block-country", "cn,RU", "--block-country", "CN", "--action", "drop", "-o", rules.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&rules).unwrap();
    let ns = Netns::new();
    let load = ns.command("nft").args(["-f", rules.to_str().unwrap()]).output().expect("nft");
    assert!(load.status.success(), "nft -f: {}", String::from_utf8_lossy(&load.stderr));
    let has = |set: &str, addr: &str| ns.command("nft").args(["get", "element", "inet", "phonehome", set, &format!("{{ {addr} }}")]).output().expect("nft").status.success();
    let (cn, ru) = ("wyze_base_block_country_cn_4", "wyze_base_block_country_ru_4");
    assert!(has(cn, "114.114.114.114"), "the Wyze base station's resolver is in the CN set");
    assert!(has(cn, "61.164.36.105"));
    assert!(!has(cn, "8.8.8.8"), "8.8.8.8 is not");
    assert!(!has(cn, "77.88.8.8"), "a RU address is not in the CN set");
    assert!(has(ru, "77.88.8.8"), "but in the RU set");
    assert!(!has(cn, "192.0.2.1"));
    // No IPv6 blocks in the embedded data: no empty v6 set, no rule naming one.
    assert!(!text.contains("block_country_cn_6"), "{text}");
    // CN given twice: one set. The rules are the device's alone, before its expected rules.
    assert_eq!(text.matches("set wyze_base_block_country_cn_4 {").count(), 1);
    let listing = String::from_utf8(ns.command("nft").args(["list", "chain", "inet", "phonehome", "dev_wyze_base"]).output().expect("nft").stdout).unwrap();
    let block = listing.find("ip daddr @wyze_base_block_country_cn_4 counter packets 0 bytes 0 drop comment \"block country-cn\"").expect(&listing);
    assert!(block < listing.find("expected[0] ntp").unwrap(), "{listing}");
    // The set as loaded holds every block written (they are collapsed already).
    let listed = ns.command("nft").args(["-j", "list", "set", "inet", "phonehome", cn]).output().expect("nft");
    let json: Value = serde_json::from_slice(&listed.stdout).unwrap();
    let loaded = json["nftables"].as_array().unwrap().iter().find_map(|o| o["set"]["elem"].as_array()).unwrap().len();
    let start = text.find("set wyze_base_block_country_cn_4 {").unwrap();
    let written = text[start..text[start..].find("\n\t}").unwrap() + start].matches('/').count();
    assert!(written > 1000, "CN has thousands of registered IPv4 blocks, got {written}");
    assert_eq!(loaded, written);
}

#[test]
fn a_bad_block_country_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let profile = write(dir.path(), "p.yaml", "name: p\ndevice:\n  ip: [192.0.2.10]\n");
    let out = dir.path().join("out.nft");
    let (code, _, err) = run(&["firewall", &profile, "--block-country", "CN,XQ", "-o", out.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--block-country") && err.contains("XQ"), "{err}");
    assert!(!out.exists());
}
