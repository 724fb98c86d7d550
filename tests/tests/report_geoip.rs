//! `filtergen report --geoip` with a country database written by a
//! third-party MaxMind DB writer (mmdb-writer, from PyPI), on the seed-004
//! capture set: the database overrides the embedded registry countries.

use std::process::Command;

use phonehome_e2e::*;
use phonehome_samples::seed004;

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
    for (hour, cap) in seed004::captures().into_iter().enumerate() {
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
