//! `filtergen report --geoip` with a country database written by a
//! third-party MaxMind DB writer (mmdb-writer, from PyPI), on the Roborock-like
//! capture set: the database overrides the embedded registry countries; and
//! `filtergen firewall --block-country --geoip` adds the database's blocks
//! (IPv6 included) to the embedded ones.

use std::process::Command;

use phonehome_e2e::*;
use phonehome_samples::roborock_hours;

#[test]
fn report_names_the_country_of_each_endpoint_and_resolver() {
    let dir = scratch().join("geoip");
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("country.mmdb");
    run_peer(
        "make_mmdb.py",
        &[db.to_str().unwrap(), "61.164.36.0/24=CN", "114.114.114.0/24=CN", "3.64.0.0/12=DE", "35.156.0.0/14=DE"],
    );
    let mut captures = Vec::new();
    for (hour, cap) in roborock_hours::captures().into_iter().enumerate() {
        captures.push(write_capture(&format!("geoip-hour{hour}.pcap"), &cap));
    }
    let profile = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../profiles/roborock-tuya.yaml");
    let report = |extra: &[&std::ffi::OsStr]| -> serde_json::Value {
        let out = Command::new(filtergen_bin()).arg("report").arg(&profile).args(&captures).args(["--format", "json"]).args(extra).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).expect("JSON report")
    };
    let embedded = report(&[]);
    let report = report(&["--geoip".as_ref(), db.as_os_str()]);
    // Endpoints carry their addresses (and name), resolvers their address.
    let endpoint_country = |address: &str| -> Option<String> {
        let e = report["endpoints"].as_array()?.iter().find(|e| {
            e["addresses"].as_array().is_some_and(|a| a.iter().any(|x| x.as_str() == Some(address)))
        })?;
        e["country"].as_str().map(str::to_string)
    };
    let resolver_country = |address: &str| -> Option<String> {
        let r = report["resolvers"].as_array()?.iter().find(|r| r["address"].as_str() == Some(address))?;
        r["country"].as_str().map(str::to_string)
    };
    assert_eq!(endpoint_country("61.164.36.105").as_deref(), Some("CN"), "the NTP server");
    assert_eq!(endpoint_country("3.67.242.33").as_deref(), Some("DE"), "the MQTT broker m2.tuyaeu.com");
    assert_eq!(resolver_country("114.114.114.114").as_deref(), Some("CN"), "the hard-coded resolver");
    assert_eq!(resolver_country("10.10.10.1"), None, "the LAN's resolver is in no database");
    assert!(report["country_source"].as_str().unwrap().contains("country.mmdb"));
    // Without the database, the embedded registry data: AWS Frankfurt's block is registered to the US.
    let find = |r: &serde_json::Value| -> Option<String> {
        let e = r["endpoints"].as_array()?.iter().find(|e| e["addresses"].as_array().is_some_and(|a| a.iter().any(|x| x == "3.67.242.33")))?;
        e["country"].as_str().map(str::to_string)
    };
    assert_eq!(find(&embedded).as_deref(), Some("US"));
    assert_eq!(find(&report).as_deref(), Some("DE"), "the database wins");
    assert!(report["endpoints"].as_array().unwrap().len() >= 5);
}

#[test]
fn block_country_adds_the_databases_blocks_of_both_families() {
    let dir = scratch().join("geoip-block");
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("country.mmdb");
    // 198.51.100.0/24 is documentation space (no registry country): only the database puts it in CN.
    run_peer("make_mmdb.py", &[db.to_str().unwrap(), "198.51.100.0/24=CN", "2001:db8:cafe::/48=CN", "2001:db8:beef::/48=DE"]);
    let profile = dir.join("plug.yaml");
    std::fs::write(&profile, "name: plug\ndevice:\n  ip: [192.0.2.10]\n").unwrap();
    let rules = dir.join("plug.nft");
    let out = Command::new(filtergen_bin())
        .arg("firewall")
        .arg(&profile)
        .args(["--block-country", "CN", "--geoip"])
        .arg(&db)
        .arg("-o")
        .arg(&rules)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&rules).unwrap();
    let set = |name: &str| -> String {
        let start = text.find(&format!("set {name} {{")).unwrap_or_else(|| panic!("no set {name}:\n{text}"));
        text[start..start + text[start..].find("\n\t}").unwrap()].to_string()
    };
    let v6 = set("plug_block_country_cn_6");
    assert!(v6.contains("2001:db8:cafe::/48") && !v6.contains("beef"), "{v6}");
    let v4 = set("plug_block_country_cn_4");
    assert!(v4.contains("198.51.100.0/24"), "the database's IPv4 block joins the embedded ones");
    assert!(v4.matches('/').count() > 1000, "the embedded CN blocks are still there");
    assert!(text.contains("ip6 daddr @plug_block_country_cn_6"), "{text}");
    // The real nft accepts it (check mode needs root, as CI is).
    if running_as_root() {
        let check = Command::new("nft").args(["-c", "-f"]).arg(&rules).output().expect("nft");
        assert!(check.status.success(), "nft -c: {}", String::from_utf8_lossy(&check.stderr));
    }
}

fn running_as_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}
