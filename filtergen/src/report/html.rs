//! The report as one self-contained HTML page: the same sections as the
//! text formats, a timeline (one row per endpoint, a mark where a burst
//! started) and the hour-of-day histogram, both inline SVG. No scripts, no
//! external resources.

use std::fmt::Write;

use crate::report::model::Report;
use crate::report::text::{sections, summary};

/// Width of the timeline's time axis, in pixels (marks are binned to it).
const AXIS: f64 = 900.0;
const LABEL: f64 = 300.0;
const ROW: f64 = 16.0;

pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push_str(&c.escape_default().to_string()),
            c => out.push(c),
        }
    }
    out
}

fn color(status: &str) -> &'static str {
    match status {
        "unexpected" => "#c62828",
        "ignored" => "#9e9e9e",
        _ => "#2e7d32",
    }
}

/// One row per endpoint, marks binned to pixel columns.
pub fn timeline(r: &Report) -> String {
    let (start, end) = r.span;
    let span = (end - start).max(1.0);
    let height = ROW * r.endpoints.len() as f64 + 30.0;
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="{w}" height="{height}" viewBox="0 0 {w} {height}" role="img" aria-label="timeline">"#,
        w = LABEL + AXIS + 10.0
    );
    for (i, e) in r.endpoints.iter().enumerate() {
        let y = ROW * i as f64;
        let label = format!("{} {}", e.label(), e.port_text());
        let short: String = if label.chars().count() > 44 { label.chars().take(43).collect::<String>() + "…" } else { label.clone() };
        let _ = write!(
            svg,
            r#"<g><title>{title}</title><text x="0" y="{ty}" class="lbl">{text}</text><line x1="{LABEL}" x2="{x2}" y1="{ly}" y2="{ly}" class="axis"/>"#,
            title = escape(&format!("{label}: {} ({})", e.repeats, e.rule)),
            ty = y + 12.0,
            text = escape(&short),
            x2 = LABEL + AXIS,
            ly = y + 8.0
        );
        let mut last_col = -1i64;
        for t in &e.times {
            let col = ((t - start) / span * (AXIS - 1.0)).floor() as i64;
            if col != last_col {
                let _ = write!(svg, r#"<rect x="{}" y="{}" width="1.5" height="12" fill="{}"/>"#, LABEL + col as f64, y + 2.0, color(&e.status));
                last_col = col;
            }
        }
        svg.push_str("</g>");
    }
    let y = ROW * r.endpoints.len() as f64 + 14.0;
    let _ = write!(
        svg,
        r#"<text x="{LABEL}" y="{y}" class="lbl">{}</text><text x="{}" y="{y}" class="lbl" text-anchor="end">{}</text></svg>"#,
        escape(r.first_seen.as_deref().unwrap_or("")),
        LABEL + AXIS,
        escape(r.last_seen.as_deref().unwrap_or(""))
    );
    svg
}

/// Bars of mean packets per hour of day; the peak hour in red.
pub fn histogram(r: &Report) -> String {
    let h = &r.hours;
    let max = h.mean_packets.iter().copied().fold(0.0, f64::max).max(1.0);
    let mut svg = String::from(r#"<svg xmlns="http://www.w3.org/2000/svg" class="hours" width="500" height="140" viewBox="0 0 500 140" role="img" aria-label="activity by hour">"#);
    for i in 0..24 {
        let bar = h.mean_packets[i] / max * 110.0;
        let x = 10.0 + i as f64 * 20.0;
        let fill = if h.peak.as_ref().is_some_and(|p| p.hour == i) { "#c62828" } else { "#1565c0" };
        let _ = write!(
            svg,
            r#"<rect x="{x}" y="{}" width="16" height="{bar}" fill="{fill}"><title>{i:02}:00 {:.0} packets/hour</title></rect><text x="{}" y="135" class="lbl" text-anchor="middle">{i}</text>"#,
            115.0 - bar,
            h.mean_packets[i],
            x + 8.0
        );
    }
    svg.push_str("</svg>");
    svg
}

pub fn html(r: &Report) -> String {
    let mut page = String::new();
    let _ = write!(
        page,
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>phonehome report: {title}</title>
<style>
body {{ font: 14px system-ui, sans-serif; margin: 1.5em; color: #222; }}
table {{ border-collapse: collapse; margin: .5em 0 1.5em; }}
th, td {{ border: 1px solid #ccc; padding: 2px 6px; text-align: left; vertical-align: top; }}
th {{ background: #f0f0f0; }}
tr.unexpected td {{ background: #fdecea; }}
tr.ignored td {{ color: #888; }}
.lbl {{ font: 11px monospace; fill: #333; }}
.axis {{ stroke: #eee; }}
.note {{ color: #555; }}
</style></head><body>
<h1>phonehome report: {title}</h1>
"#,
        title = escape(&r.profile)
    );
    for line in summary(r) {
        let _ = writeln!(page, "<p>{}</p>", escape(&line));
    }
    let _ = writeln!(page, "<h2>Timeline</h2><p class=\"note\">One row per endpoint, a mark where traffic started after a pause; green expected, red UNEXPECTED, grey ignored.</p>{}", timeline(r));
    let _ = writeln!(page, "<h2>Activity by hour of day ({})</h2>{}", escape(&r.timezone), histogram(r));
    for s in sections(r) {
        let _ = writeln!(page, "<h2>{}</h2>", escape(&s.title));
        if s.rows.is_empty() {
            page.push_str("<p class=\"note\">(none)</p>\n");
        } else {
            page.push_str("<table><thead><tr>");
            for h in &s.headers {
                let _ = write!(page, "<th>{}</th>", escape(h));
            }
            page.push_str("</tr></thead><tbody>\n");
            for (i, row) in s.rows.iter().enumerate() {
                let class = s.statuses.get(i).map_or("", String::as_str);
                let _ = write!(page, "<tr class=\"{}\">", escape(class));
                for c in row {
                    let _ = write!(page, "<td>{}</td>", escape(c));
                }
                page.push_str("</tr>\n");
            }
            page.push_str("</tbody></table>\n");
        }
        for note in &s.notes {
            let _ = writeln!(page, "<p class=\"note\">{}</p>", escape(note));
        }
    }
    page.push_str("</body></html>\n");
    page
}
