//! `filtergen firewall` from the command line: the shipped profiles through
//! `--check` (the real nft and dnsmasq), rules without a firewall
//! equivalent, hostile values, `--resolve-from` seeding, help and
//! completions. tests/firewall_netns.rs loads the output into a network.

mod common;


use common::*;

#[test]
fn shipped_profiles_pass_nft_and_dnsmasq_checks() {
    if !root_or_skip("shipped_profiles_pass_nft_and_dnsmasq_checks") {
        return;
    }
    require_tool("nft", "nftables");
    require_tool("dnsmasq", "dnsmasq-base");
    let dir = tempfile::tempdir().unwrap();
    let mut profiles: Vec<String> = std::fs::read_dir(repo_root().join("profiles"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    profiles.sort();
    assert!(profiles.len() >= 5, "{profiles:?}");
    let actions = ["log", "reject", "drop"];
    for format in ["nft", "openwrt"] {
        // Each profile alone (actions taking turns), then all of them under each action.
        for (i, profile) in profiles.iter().enumerate() {
            let action = actions[i % actions.len()];
            let out = dir.path().join("rules.nft");
            let args = ["firewall", profile, "--format", format, "--action", action, "--dns-pin", "192.0.2.1", "--check", "-o", out.to_str().unwrap()];
            let (code, _, stderr) = run(&args);
            assert_eq!(code, 0, "{profile} {format} {action}: {stderr}");
            assert!(stderr.contains("nft -c accepted"), "{stderr}");
        }
        for action in actions {
            // All of them in one ruleset, as a router with every device would load it.
            let mut args = vec!["firewall", "--format", format, "--action", action, "--check"];
            args.extend(profiles.iter().map(String::as_str));
            let (code, stdout, stderr) = run(&args);
            assert_eq!(code, 0, "all profiles {format} {action}: {stderr}");
            assert!(stdout.contains("roborock_tuya") && stdout.contains("wyze_base"), "{stdout}");
        }
    }
}

#[test]
fn rules_without_a_firewall_equivalent_exit_1_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("rules.nft");
    for (rule, what) in [
        ("protocols: [tuya]", "protocol tuya"),
        ("filter: 'tcp.port == 1'", "display filter"),
        ("mac: [02:00:00:00:00:99]", "`mac`"),
        ("protocols: [arp]", "protocol arp"),
    ] {
        let profile = write(dir.path(), "p.yaml", &format!("name: p\ndevice:\n  ip: [192.0.2.5]\nexpected:\n  - name: odd\n    {rule}\n"));
        let (code, stdout, stderr) = run(&["firewall", &profile, "-o", out.to_str().unwrap()]);
        assert_eq!(code, 1, "{rule}: {stderr}");
        assert!(stderr.contains("rule odd (p expected[0])") && stderr.contains(what) && stderr.contains("no firewall equivalent"), "{stderr}");
        assert!(stdout.is_empty() && !out.exists() && !dir.path().join("rules.dnsmasq.conf").exists());
    }
    // Well-known protocols map to their ports; ports and protocols intersect.
    let profile = write(
        dir.path(),
        "p.yaml",
        "name: p\ndevice:\n  ip: [192.0.2.5]\nexpected:\n  - {name: time, protocols: [ntp, icmp]}\n  - {name: dns-udp, protocols: [dns], udp: [1-100]}\n",
    );
    let (code, stdout, stderr) = run(&["firewall", &profile]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("udp dport 123 counter accept comment \"expected[0] time\""), "{stdout}");
    assert!(stdout.contains("meta nfproto ipv4 meta l4proto icmp counter accept comment \"expected[0] time\""), "{stdout}");
    assert!(stdout.contains("udp dport 53 counter accept comment \"expected[1] dns-udp\""), "{stdout}");
    assert!(!stdout.contains("tcp dport 53 counter accept comment \"expected[1]"), "{stdout}");
}

#[test]
fn hostile_values_never_reach_the_output() {
    let dir = tempfile::tempdir().unwrap();
    for (field, value) in [
        ("host", "'a.com\"; flush ruleset; \"'"),
        ("host", "'a.com/1.2.3.4#inet#x'"),
        ("host", "'a.com,b.com'"),
        ("name", "'x\" accept comment \"'"),
        ("tcp", "'1; drop'"),
    ] {
        let rule = match field {
            "name" => format!("  - name: {value}\n    tcp: [1]\n"),
            _ => format!("  - name: r\n    {field}: [{value}]\n"),
        };
        let profile = write(dir.path(), "h.yaml", &format!("name: h\ndevice:\n  ip: [192.0.2.5]\nexpected:\n{rule}"));
        let (code, stdout, stderr) = run(&["firewall", &profile]);
        assert_eq!(code, 2, "{field} {value}: {stdout}{stderr}");
        assert!(stderr.contains("h.yaml:"), "{stderr}");
        assert!(stdout.is_empty());
    }
    let profile = profile_path("wyze-base.yaml");
    for pin in ["192.0.2.1;flush", "0.0.0.0", "ff02::1"] {
        let (code, _, stderr) = run(&["firewall", &profile, "--dns-pin", pin]);
        assert_eq!(code, 2, "{pin}: {stderr}");
    }
    let (code, _, stderr) = run(&["firewall", &profile, "--dns-pin", "192.0.2.1", "--dns-pin", "192.0.2.2"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("at most one IPv4"), "{stderr}");
    // Names that are valid but unusual become plain identifiers.
    let profile = write(dir.path(), "0.yaml", "name: 0-Odd.Name_\ndevice:\n  mac: [64:90:c1]\nexpected:\n  - {name: 9.rule-X, host: [x-1.example.test], tcp: [1-2]}\n");
    let (code, stdout, stderr) = run(&["firewall", &profile, "--format", "openwrt"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("set phonehome_d_0_odd_name__0_d_9_rule_x_dns4 {"), "{stdout}");
    assert!(stdout.contains("ether saddr & ff:ff:ff:00:00:00 == 64:90:c1:00:00:00 goto phonehome_dev_d_0_odd_name_"), "{stdout}");
}

#[test]
fn resolve_from_seeds_the_host_name_sets_and_dnsmasq_lines_go_beside_the_ruleset() {
    require_tool("tshark", "tshark");
    let dir = tempfile::tempdir().unwrap();
    let profile = write(dir.path(), "p.yaml", "name: p\ndevice:\n  ip: [192.0.2.5]\nexpected:\n  - {name: control, host: [a.tuyaeu.com, '*.io.mi.com'], tcp: [443]}\n");
    let answer = dir.path().join("dns.pcap");
    let mut response = dns_query("a.tuyaeu.com");
    response[2] = 0x81;
    response[3] = 0x80;
    response[7] = 1; // one answer: 3.125.199.146
    response.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 3, 125, 199, 146]);
    let router = (mac("02:00:00:00:00:01"), "192.0.2.1");
    let dev = (mac("02:00:00:00:00:05"), "192.0.2.5");
    write_capture(&answer, &[Packet::ip(router, dev, L4::Udp { sport: 53, dport: 40000, payload: response })]);
    let out = dir.path().join("fw.nft");
    let (code, _, stderr) = run(&["firewall", &profile, "--resolve-from", answer.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let rules = std::fs::read_to_string(&out).unwrap();
    assert!(rules.contains("set p_0_control_dns4 {\n\t\ttype ipv4_addr\n\t\telements = { 3.125.199.146 }"), "{rules}");
    let lines = std::fs::read_to_string(dir.path().join("fw.dnsmasq.conf")).unwrap();
    assert!(lines.contains("nftset=/a.tuyaeu.com/4#inet#phonehome#p_0_control_dns4,6#inet#phonehome#p_0_control_dns6\n"), "{lines}");
    assert!(lines.contains("nftset=/*.io.mi.com/4#inet#phonehome#p_0_control_dns4,6#inet#phonehome#p_0_control_dns6\n"), "{lines}");
    // Without a place for the dnsmasq lines, the user is told.
    let (code, stdout, stderr) = run(&["firewall", &profile]);
    assert_eq!(code, 0);
    assert!(stdout.starts_with("# phonehome firewall for p") && stderr.contains("--dnsmasq FILE"), "{stderr}");
}

#[test]
fn firewall_is_in_help_and_completions() {
    let (code, out, _) = run(&["--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("firewall"), "{out}");
    let (code, out, _) = run(&["firewall", "--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("Examples:") && out.contains("--dns-pin") && out.contains("openwrt"), "{out}");
    for shell in ["bash", "zsh", "fish"] {
        let (code, out, _) = run(&["completions", shell]);
        assert_eq!(code, 0);
        assert!(out.contains("firewall") && out.contains("dns-pin") && out.contains("resolve-from"), "{shell}");
    }
}
