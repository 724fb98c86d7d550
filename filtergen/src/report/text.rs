//! The report as tables (one list of sections shared by every format) and
//! its text renderings: aligned terminal table, CSV, Markdown, JSON.

use crate::report::model::{Endpoint, Report};

/// One titled table.
pub struct Section {
    pub title: String,
    pub headers: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
    /// Lines printed under the table.
    pub notes: Vec<String>,
    /// Per row, the endpoint's status (`expected`, …) where rows are endpoints.
    pub statuses: Vec<String>,
}

fn bytes(n: u64) -> String {
    match n {
        0..=9_999 => format!("{n} B"),
        10_000..=9_999_999 => format!("{:.1} kB", n as f64 / 1e3),
        _ => format!("{:.1} MB", n as f64 / 1e6),
    }
}

fn regularity(e: &Endpoint) -> String {
    e.period.as_ref().map_or_else(String::new, |p| p.detail())
}

fn endpoint_row(e: &Endpoint) -> Vec<String> {
    vec![
        e.label(),
        if e.name.is_some() { e.addresses.join(" ") } else { String::new() },
        e.port_text(),
        e.service.clone().unwrap_or_default(),
        e.protocol.clone().unwrap_or_default(),
        e.direction.clone(),
        format!("{} / {}", e.packets_out, bytes(e.bytes_out)),
        format!("{} / {}", e.packets_in, bytes(e.bytes_in)),
        e.first_seen.clone(),
        e.last_seen.clone(),
        e.repeats.clone(),
        regularity(e),
        e.rule.clone(),
        e.country.clone().unwrap_or_default(),
    ]
}

const ENDPOINT_HEADERS: [&str; 14] =
    ["endpoint", "addresses", "port", "service", "protocol", "direction", "out pkts/bytes", "in pkts/bytes", "first seen", "last seen", "repeats", "regularity", "rule", "country"];

/// Every section of the report, in reading order.
pub fn sections(r: &Report) -> Vec<Section> {
    let mut out = Vec::new();
    let own = |e: &&Endpoint| !e.broadcast;
    out.push(Section {
        title: "Endpoints".into(),
        headers: ENDPOINT_HEADERS.to_vec(),
        rows: r.endpoints.iter().filter(own).map(endpoint_row).collect(),
        notes: vec![],
        statuses: r.endpoints.iter().filter(own).map(|e| e.status.clone()).collect(),
    });
    let unexpected = r.endpoints.iter().filter(|e| e.status == "unexpected").count();
    if unexpected > 0 {
        out[0].notes.push(format!("{unexpected} endpoint(s) match no ignore or expected rule: UNEXPECTED"));
    }
    out.push(Section {
        title: "Broadcast and multicast".into(),
        headers: ENDPOINT_HEADERS.to_vec(),
        rows: r.endpoints.iter().filter(|e| e.broadcast).map(endpoint_row).collect(),
        notes: vec![],
        statuses: r.endpoints.iter().filter(|e| e.broadcast).map(|e| e.status.clone()).collect(),
    });
    out.push(Section {
        title: "NTP servers".into(),
        headers: vec!["server", "addresses", "packets out", "packets in", "repeats", "regularity", "rule"],
        rows: r
            .endpoints
            .iter()
            .filter(|e| e.ntp)
            .map(|e| vec![e.label(), e.addresses.join(" "), e.packets_out.to_string(), e.packets_in.to_string(), e.repeats.clone(), regularity(e), e.rule.clone()])
            .collect(),
        notes: vec![],
        statuses: vec![],
    });
    out.push(Section {
        title: "DNS questions".into(),
        headers: vec!["name", "questions", "resolvers", "answers", "cnames", "repeats", "regularity"],
        rows: r
            .dns
            .iter()
            .map(|d| {
                let regular = d.period.as_ref().map_or_else(String::new, |p| p.detail());
                vec![d.name.clone(), d.questions.to_string(), d.resolvers.join(" "), d.addresses.join(" "), d.cnames.join(" "), d.repeats.clone(), regular]
            })
            .collect(),
        notes: vec![],
        statuses: vec![],
    });
    let foreign: Vec<&str> = r.resolvers.iter().filter(|x| !x.local).map(|x| x.address.as_str()).collect();
    out.push(Section {
        title: "Resolvers".into(),
        headers: vec!["resolver", "questions", "local network", "country"],
        rows: r
            .resolvers
            .iter()
            .map(|x| {
                let local = if x.local { "yes" } else { "NO: hard-coded or public" };
                vec![x.address.clone(), x.questions.to_string(), local.into(), x.country.clone().unwrap_or_default()]
            })
            .collect(),
        notes: if foreign.is_empty() { vec![] } else { vec![format!("the device asks resolvers that are not the local network's: {}", foreign.join(", "))] },
        statuses: vec![],
    });
    let h = &r.hours;
    let max = h.mean_packets.iter().copied().fold(0.0, f64::max);
    out.push(Section {
        title: format!("Activity by hour of day ({})", r.timezone),
        headers: vec!["hour", "mean packets per hour", "captured hours", ""],
        rows: (0..24)
            .filter(|&i| h.captured[i] > 0)
            .map(|i| {
                let bar = if max > 0.0 { "#".repeat((h.mean_packets[i] / max * 40.0).round() as usize) } else { String::new() };
                vec![format!("{i:02}:00"), format!("{:.0}", h.mean_packets[i]), h.captured[i].to_string(), bar]
            })
            .collect(),
        notes: h
            .peak
            .iter()
            .map(|p| format!("peak at {:02}:00-{:02}:00: {:.1}x the median hour", p.hour, (p.hour + 1) % 24, p.ratio))
            .collect(),
        statuses: vec![],
    });
    let mut iot_notes = Vec::new();
    if !r.plugin {
        iot_notes.push("the phonehome plugin is not installed: Tuya, miIO, Kalay and PPPP were not decoded (make install)".into());
    }
    out.push(Section {
        title: "IoT protocols".into(),
        headers: vec!["field", "value", "packets"],
        rows: r.iot.iter().map(|i| vec![i.field.clone(), i.value.clone(), i.packets.to_string()]).collect(),
        notes: iot_notes,
        statuses: vec![],
    });
    out.push(Section {
        title: "IoT peers and relay servers".into(),
        headers: vec!["protocol", "remote", "packets"],
        rows: r.iot_remotes.iter().map(|i| vec![i.protocol.clone(), i.remote.clone(), i.packets.to_string()]).collect(),
        notes: vec![],
        statuses: vec![],
    });
    out
}

/// The first lines: what was read.
pub fn summary(r: &Report) -> Vec<String> {
    let mut lines = vec![format!(
        "{}: {} capture(s), {} packets, {} of them the device's, {} to {} ({})",
        r.profile,
        r.captures.len(),
        r.packets,
        r.device_packets,
        r.first_seen.as_deref().unwrap_or("-"),
        r.last_seen.as_deref().unwrap_or("-"),
        r.timezone
    )];
    if let Some(d) = &r.description {
        lines.push(d.clone());
    }
    lines.extend(r.notes.iter().map(|n| format!("note: {n}")));
    lines
}

/// A plain-text value: control characters (from names in the capture) shown escaped.
fn plain(s: &str) -> String {
    s.chars().flat_map(|c| if c.is_control() { c.escape_default().collect::<Vec<_>>() } else { vec![c] }).collect()
}

/// Aligned columns for a terminal.
pub fn table(r: &Report) -> String {
    let mut out = summary(r).join("\n") + "\n";
    for s in sections(r) {
        out.push_str(&format!("\n{}\n", s.title.to_uppercase()));
        if s.rows.is_empty() {
            out.push_str("  (none)\n");
        } else {
            let rows: Vec<Vec<String>> = std::iter::once(s.headers.iter().map(|h| h.to_string()).collect()).chain(s.rows.iter().map(|r| r.iter().map(|c| plain(c)).collect())).collect();
            let widths: Vec<usize> = (0..s.headers.len()).map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0)).collect();
            for row in rows {
                let cells: Vec<String> = row.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
                out.push_str(&format!("  {}\n", cells.join("  ").trim_end()));
            }
        }
        for n in &s.notes {
            out.push_str(&format!("  {n}\n"));
        }
    }
    out
}

/// The endpoints (all of them, broadcast included) as CSV, one row each,
/// numbers in their own columns.
pub fn csv(r: &Report) -> String {
    let headers = [
        "endpoint", "name_source", "addresses", "transport", "port", "service", "protocol", "direction", "packets_out", "bytes_out", "packets_in", "bytes_in",
        "first_seen", "last_seen", "bursts", "repeats", "period_seconds", "jitter_seconds", "regular_share", "status", "rule", "broadcast", "ntp", "country",
    ];
    let mut out = headers.join(",") + "\n";
    for e in &r.endpoints {
        let num = |x: Option<f64>| x.map_or_else(String::new, |v| format!("{v:.3}"));
        let cells = [
            e.label(),
            e.name_source.clone().unwrap_or_default(),
            e.addresses.join(" "),
            e.transport.clone(),
            e.port.map_or_else(String::new, |p| p.to_string()),
            e.service.clone().unwrap_or_default(),
            e.protocol.clone().unwrap_or_default(),
            e.direction.clone(),
            e.packets_out.to_string(),
            e.bytes_out.to_string(),
            e.packets_in.to_string(),
            e.bytes_in.to_string(),
            e.first_seen.clone(),
            e.last_seen.clone(),
            e.bursts.to_string(),
            e.repeats.clone(),
            num(e.period.as_ref().map(|p| p.seconds)),
            num(e.period.as_ref().map(|p| p.jitter)),
            num(e.period.as_ref().map(|p| p.regular)),
            e.status.clone(),
            e.rule.clone(),
            e.broadcast.to_string(),
            e.ntp.to_string(),
            e.country.clone().unwrap_or_default(),
        ];
        out.push_str(&cells.iter().map(|c| csv_cell(c)).collect::<Vec<_>>().join(","));
        out.push('\n');
    }
    out
}

/// Quotes when needed; a cell a spreadsheet would run as a formula (names
/// come from the capture, i.e. from the device) gets a leading `'`.
fn csv_cell(c: &str) -> String {
    let c = if c.starts_with(['=', '+', '@', '\t', '\r']) { format!("'{c}") } else { c.to_string() };
    if c.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", c.replace('"', "\"\""))
    } else {
        c
    }
}

fn md_cell(c: &str) -> String {
    plain(c).replace('\\', "\\\\").replace('|', "\\|").replace('<', "&lt;").replace('>', "&gt;")
}

pub fn markdown(r: &Report) -> String {
    let mut out = format!("# phonehome report: {}\n\n", md_cell(&r.profile));
    for l in summary(r) {
        out.push_str(&format!("{}\n\n", md_cell(&l)));
    }
    for s in sections(r) {
        out.push_str(&format!("## {}\n\n", md_cell(&s.title)));
        if s.rows.is_empty() {
            out.push_str("(none)\n\n");
        } else {
            out.push_str(&format!("| {} |\n", s.headers.iter().map(|h| if h.is_empty() { "." } else { h }).collect::<Vec<_>>().join(" | ")));
            out.push_str(&format!("|{}\n", " --- |".repeat(s.headers.len())));
            for row in &s.rows {
                out.push_str(&format!("| {} |\n", row.iter().map(|c| md_cell(c)).collect::<Vec<_>>().join(" | ")));
            }
            out.push('\n');
        }
        for n in &s.notes {
            out.push_str(&format!("{}\n\n", md_cell(n)));
        }
    }
    out
}

pub fn json(r: &Report) -> String {
    serde_json::to_string_pretty(r).expect("the report serializes") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_escaped() {
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(md_cell("a|b<script>"), "a\\|b&lt;script&gt;");
        assert_eq!(plain("a\nb"), "a\\nb");
    }
}
