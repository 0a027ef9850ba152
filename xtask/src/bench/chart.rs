//! docs/benchmarks/ratios.svg: each workload's time relative to native
//! CPython, one bar per runtime, with lines at 1× (native) and 1.5× (the
//! component's target).

use std::fmt::Write as _;

use super::report::{geomean, ratios};
use super::{RUNTIMES, Results};

const COLORS: &[&str] = &["#2f6fdf", "#9bbcf5", "#8a8f98", "#24a06b", "#e0892b"];
const LEFT: f64 = 150.0;
const PLOT_WIDTH: f64 = 560.0;
const BAR: f64 = 9.0;
const GAP: f64 = 10.0;
const TOP: f64 = 70.0;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

pub fn svg(results: &Results) -> String {
    let runtimes: Vec<(&str, &str)> = RUNTIMES.iter().skip(1).copied().collect();
    let per_runtime: Vec<Vec<(String, f64)>> = runtimes.iter().map(|(k, _)| ratios(results, k)).collect();
    let mut names: Vec<String> = per_runtime.iter().flatten().map(|(n, _)| n.clone()).collect();
    names.sort();
    names.dedup();
    names.push("geometric mean".into());
    let value = |runtime: usize, name: &str| {
        if name == "geometric mean" {
            geomean(results, runtimes[runtime].0)
        } else {
            per_runtime[runtime].iter().find(|(n, _)| n == name).map(|(_, r)| *r)
        }
    };
    let max = (0..runtimes.len())
        .flat_map(|i| names.iter().filter_map(move |n| value(i, n)))
        .fold(2.0_f64, f64::max)
        .ceil();
    let x = |ratio: f64| LEFT + ratio / max * PLOT_WIDTH;
    let group = runtimes.len() as f64 * BAR + GAP;
    let height = TOP + names.len() as f64 * group + 40.0;
    let width = LEFT + PLOT_WIDTH + 60.0;

    let mut svg = String::new();
    let s = &mut svg;
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(s, r##"<rect width="100%" height="100%" fill="#ffffff"/>"##);
    let _ = writeln!(
        s,
        r##"<text x="10" y="18" font-size="13" font-weight="bold" fill="#1d2330">Time per workload relative to native CPython 3.11 (lower is better)</text>"##
    );
    for (i, (_, label)) in runtimes.iter().enumerate() {
        let lx = 10.0 + (i % 3) as f64 * 260.0;
        let ly = 28.0 + (i / 3) as f64 * 14.0;
        let _ = writeln!(
            s,
            r#"<rect x="{lx}" y="{ly}" width="10" height="10" fill="{}"/>"#,
            COLORS[i % COLORS.len()]
        );
        let _ = writeln!(
            s,
            r##"<text x="{}" y="{}" fill="#1d2330">{}</text>"##,
            lx + 14.0,
            ly + 9.0,
            escape(label)
        );
    }
    // Grid: a line per whole ratio, labelled.
    let bottom = TOP + names.len() as f64 * group;
    for tick in 0..=(max as u32) {
        let tx = x(tick as f64);
        let _ = writeln!(s, r##"<line x1="{tx}" y1="{TOP}" x2="{tx}" y2="{bottom}" stroke="#e3e6eb"/>"##);
        let _ = writeln!(
            s,
            r##"<text x="{tx}" y="{}" text-anchor="middle" fill="#5a6272">{tick}×</text>"##,
            bottom + 14.0
        );
    }
    for (ratio, label, color) in [(1.0, "native", "#1d2330"), (1.5, "target 1.5×", "#d04040")] {
        let lx = x(ratio);
        let _ = writeln!(
            s,
            r#"<line x1="{lx}" y1="{}" x2="{lx}" y2="{bottom}" stroke="{color}" stroke-dasharray="4 3"/>"#,
            TOP - 4.0
        );
        let _ = writeln!(
            s,
            r#"<text x="{lx}" y="{}" text-anchor="middle" fill="{color}">{label}</text>"#,
            bottom + 28.0
        );
    }
    for (row, name) in names.iter().enumerate() {
        let y0 = TOP + row as f64 * group;
        let weight = if name == "geometric mean" { "bold" } else { "normal" };
        let _ = writeln!(
            s,
            r##"<text x="{}" y="{}" text-anchor="end" font-weight="{weight}" fill="#1d2330">{}</text>"##,
            LEFT - 8.0,
            y0 + runtimes.len() as f64 * BAR / 2.0 + 4.0,
            escape(name)
        );
        for i in 0..runtimes.len() {
            let Some(ratio) = value(i, name) else { continue };
            let y = y0 + i as f64 * BAR;
            let _ = writeln!(
                s,
                r#"<rect x="{LEFT}" y="{y}" width="{:.1}" height="{}" fill="{}"><title>{}: {ratio:.2}×</title></rect>"#,
                x(ratio) - LEFT,
                BAR - 1.0,
                COLORS[i % COLORS.len()],
                escape(runtimes[i].1)
            );
            let _ = writeln!(
                s,
                r##"<text x="{:.1}" y="{}" font-size="9" fill="#5a6272">{ratio:.2}</text>"##,
                x(ratio) + 3.0,
                y + BAR - 1.5
            );
        }
    }
    let _ = writeln!(s, "</svg>");
    svg
}
