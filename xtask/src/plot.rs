//! `cargo xtask scale-plot LOG [OUT]`: the scale bench's curves as an SVG
//! (docs/scale.svg by default), drawn from the bench's own output lines:
//! the cost of `domains()` per domain against N, safe and raw (flat means
//! a linear total), and each operation's safe/raw ratio against N.

use anyhow::{bail, Context as _, Result};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// One measured point: an operation's safe and raw medians at N.
#[derive(Debug, Clone, PartialEq)]
struct Point {
    n: f64,
    safe_ms: f64,
    raw_ms: f64,
}

/// `"3277.4 us"` or `"29.0 ms"` in milliseconds.
fn millis(text: &str) -> Option<f64> {
    let mut it = text.split_whitespace();
    let v: f64 = it.next()?.parse().ok()?;
    match it.next()? {
        "us" => Some(v / 1e3),
        "ms" => Some(v),
        _ => None,
    }
}

/// The points of every `N=<n> <operation>: safe median <t> ... | raw
/// median <t> ...` line, by operation.
fn parse(log: &str) -> BTreeMap<String, Vec<Point>> {
    let mut ops: BTreeMap<String, Vec<Point>> = BTreeMap::new();
    for line in log.lines() {
        let Some(rest) = line.trim().strip_prefix("N=") else {
            continue;
        };
        let Some((n, rest)) = rest.split_once(' ') else {
            continue;
        };
        let Some((op, rest)) = rest.split_once(": safe median ") else {
            continue;
        };
        let Some((_, raw)) = rest.split_once("| raw median ") else {
            continue;
        };
        let time = |s: &str| millis(s.split(" (").next().unwrap_or(""));
        if let (Ok(n), Some(safe_ms), Some(raw_ms)) = (n.parse(), time(rest), time(raw)) {
            ops.entry(op.to_owned())
                .or_default()
                .push(Point { n, safe_ms, raw_ms });
        }
    }
    ops
}

/// A curve: its label, colour, whether dashed, and its (x, y) points.
type Curve<'a> = (String, &'a str, bool, Vec<(f64, f64)>);

const W: f64 = 900.0;
const H: f64 = 360.0;
const COLOURS: [&str; 4] = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"];

/// One panel: lines of (label, colour, dashed, points) on axes from 0 to
/// the largest N and from `y0` to the largest value.
fn panel(svg: &mut String, left: f64, title: &str, y_label: &str, y0: f64, lines: &[Curve]) {
    let (pw, ph, top) = (W / 2.0 - 110.0, H - 110.0, 40.0);
    let x_max = lines
        .iter()
        .flat_map(|l| l.3.iter().map(|p| p.0))
        .fold(1.0, f64::max);
    let y_max = lines
        .iter()
        .flat_map(|l| l.3.iter().map(|p| p.1))
        .fold(y0 + 1e-9, f64::max)
        * 1.1;
    let x = |v: f64| left + v / x_max * pw;
    let y = |v: f64| top + ph - (v - y0) / (y_max - y0) * ph;
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="22" font-size="15" text-anchor="middle">{title}</text>"#,
        left + pw / 2.0
    );
    let _ = writeln!(
        svg,
        r##"<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#888"/>"##
    );
    for i in 0..=4 {
        let v = y0 + (y_max - y0) * f64::from(i) / 4.0;
        let _ = writeln!(
            svg,
            r##"<text x="{}" y="{}" font-size="11" text-anchor="end">{v:.2}</text><line x1="{left}" x2="{}" y1="{}" y2="{}" stroke="#eee"/>"##,
            left - 5.0,
            y(v) + 4.0,
            left + pw,
            y(v),
            y(v)
        );
    }
    let mut ns: Vec<f64> = lines.iter().flat_map(|l| l.3.iter().map(|p| p.0)).collect();
    ns.sort_by(f64::total_cmp);
    ns.dedup();
    for n in ns {
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="{}" font-size="11" text-anchor="middle">{n}</text>"#,
            x(n),
            top + ph + 16.0
        );
    }
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="{}" font-size="12" text-anchor="middle">N (paused guests besides Domain-0)</text>"#,
        left + pw / 2.0,
        top + ph + 34.0
    );
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="{}" font-size="12" text-anchor="middle" transform="rotate(-90 {} {})">{y_label}</text>"#,
        left - 45.0,
        top + ph / 2.0,
        left - 45.0,
        top + ph / 2.0
    );
    for (i, (label, colour, dashed, pts)) in lines.iter().enumerate() {
        let path: Vec<String> = pts
            .iter()
            .map(|p| format!("{:.1},{:.1}", x(p.0), y(p.1)))
            .collect();
        let dash = if *dashed {
            r#" stroke-dasharray="6 4""#
        } else {
            ""
        };
        let _ = writeln!(
            svg,
            r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>"#,
            path.join(" ")
        );
        let ly = top + ph + 52.0 + 14.0 * (i / 2) as f64;
        let lx = left + (i % 2) as f64 * pw / 2.0;
        let _ = writeln!(
            svg,
            r#"<line x1="{lx}" x2="{}" y1="{}" y2="{}" stroke="{colour}" stroke-width="2"{dash}/><text x="{}" y="{ly}" font-size="11">{label}</text>"#,
            lx + 18.0,
            ly - 4.0,
            ly - 4.0,
            lx + 22.0
        );
    }
}

/// The SVG of a scale bench log.
fn svg_of(log: &str) -> Result<String> {
    let ops = parse(log);
    let Some(list) = ops.get("domains()") else {
        bail!("no `N=<n> domains(): safe median ...` lines in the log");
    };
    let per = |f: fn(&Point) -> f64| -> Vec<(f64, f64)> {
        list.iter().map(|p| (p.n, f(p) / (p.n + 1.0))).collect()
    };
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif">
<rect width="{W}" height="{H}" fill="white"/>
"#
    );
    panel(
        &mut svg,
        80.0,
        "domains(): cost per listed domain",
        "ms per domain",
        0.0,
        &[
            ("safe".into(), COLOURS[0], false, per(|p| p.safe_ms)),
            ("raw libxl".into(), COLOURS[1], true, per(|p| p.raw_ms)),
        ],
    );
    let ratios: Vec<_> = ops
        .iter()
        .enumerate()
        .map(|(i, (op, pts))| {
            (
                op.clone(),
                COLOURS[i % COLOURS.len()],
                false,
                pts.iter().map(|p| (p.n, p.safe_ms / p.raw_ms)).collect(),
            )
        })
        .collect();
    panel(
        &mut svg,
        W / 2.0 + 80.0,
        "safe/raw ratio of each operation",
        "safe / raw",
        0.9,
        &ratios,
    );
    svg.push_str("</svg>\n");
    Ok(svg)
}

/// `cargo xtask scale-plot LOG [OUT]`.
pub fn scale_plot(log: &Path, out: &Path) -> Result<()> {
    let text =
        std::fs::read_to_string(log).with_context(|| format!("reading {}", log.display()))?;
    std::fs::write(out, svg_of(&text)?)?;
    println!("wrote {}", out.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bench_lines_become_points_in_milliseconds() {
        let log = "N=10 domains(): safe median 29.0 ms (p10 28.4 ms, p90 29.8 ms) | raw median 22.6 ms (p10 22.1 ms, p90 23.3 ms) | ratio scale-list@10 safe/raw: 1.282\n\
                   N=10 domain_info(domid) of one guest: safe median 3277.4 us (p10 3179.3 us, p90 3336.5 us) | raw median 2241.0 us (p10 1 us, p90 2 us) | ratio x: 1\n\
                   N=10 domains() per domain: 2638.8 us (11 domains)\n";
        let ops = parse(log);
        assert_eq!(
            ops["domains()"],
            vec![Point {
                n: 10.0,
                safe_ms: 29.0,
                raw_ms: 22.6
            }]
        );
        assert_eq!(ops["domain_info(domid) of one guest"][0].safe_ms, 3.2774);
        assert_eq!(ops.len(), 2, "the per-domain line is not a comparison");
        let svg = svg_of(log).unwrap();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
        assert_eq!(svg.matches("<polyline").count(), 4);
    }

    #[test]
    fn a_log_without_listing_lines_is_an_error() {
        assert!(svg_of("nothing here\n").is_err());
    }
}
