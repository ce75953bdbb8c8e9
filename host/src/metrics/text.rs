//! The Prometheus text exposition format (version 0.0.4).

use super::family::{Family, Kind, Snapshot};
use std::fmt::Write;

/// The `Content-Type` of [`encode`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Appends `family` (help, type and every series) to `out`.
pub fn encode(out: &mut String, family: &Family) {
    let _ = writeln!(out, "# HELP {} {}", family.name, escape_help(family.help));
    let _ = writeln!(out, "# TYPE {} {}", family.name, family.kind.as_str());
    for (values, snap) in family.snapshot() {
        let labels = labels(family.labels, &values);
        match snap {
            Snapshot::Counter(v) => {
                let _ = writeln!(out, "{}{} {v}", family.name, braces(&labels));
            }
            Snapshot::Gauge(v) => {
                let _ = writeln!(out, "{}{} {v}", family.name, braces(&labels));
            }
            Snapshot::Histogram {
                buckets,
                count,
                sum,
            } => {
                for (bound, n) in buckets {
                    let le = with(&labels, &format!("le=\"{bound}\""));
                    let _ = writeln!(out, "{}_bucket{{{le}}} {n}", family.name);
                }
                let le = with(&labels, "le=\"+Inf\"");
                let _ = writeln!(out, "{}_bucket{{{le}}} {count}", family.name);
                let _ = writeln!(out, "{}_sum{} {sum}", family.name, braces(&labels));
                let _ = writeln!(out, "{}_count{} {count}", family.name, braces(&labels));
            }
        }
    }
}

/// Appends one unlabelled series of `kind` (a counter or a gauge) read at scrape time.
pub fn scraped_value(
    out: &mut String,
    kind: Kind,
    name: &str,
    help: &str,
    value: impl std::fmt::Display,
) {
    let _ = writeln!(out, "# HELP {name} {}", escape_help(help));
    let _ = writeln!(out, "# TYPE {name} {}", kind.as_str());
    let _ = writeln!(out, "{name} {value}");
}

/// Appends a family of `kind` (a counter or a gauge) whose series are read at scrape time.
pub fn scraped_family(
    out: &mut String,
    kind: Kind,
    name: &str,
    help: &str,
    names: &[&str],
    series: &[(Vec<String>, i64)],
) {
    let _ = writeln!(out, "# HELP {name} {}", escape_help(help));
    let _ = writeln!(out, "# TYPE {name} {}", kind.as_str());
    for (values, v) in series {
        let _ = writeln!(out, "{name}{} {v}", braces(&labels(names, values)));
    }
}

fn labels(names: &[&str], values: &[String]) -> String {
    names
        .iter()
        .zip(values)
        .map(|(n, v)| format!("{n}=\"{}\"", escape_value(v)))
        .collect::<Vec<_>>()
        .join(",")
}

fn braces(labels: &str) -> String {
    if labels.is_empty() {
        String::new()
    } else {
        format!("{{{labels}}}")
    }
}

fn with(labels: &str, extra: &str) -> String {
    if labels.is_empty() {
        extra.to_owned()
    } else {
        format!("{labels},{extra}")
    }
}

/// Label values escape `\`, `"` and newlines.
fn escape_value(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Help text escapes `\` and newlines.
fn escape_help(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::family::Kind;

    #[test]
    fn counters_and_histograms_in_text_format() {
        let c = Family::new("t_total", "Things.", Kind::Counter, &["device", "key"]);
        c.inc(&["a@1.0", "say \"hi\"\n"]);
        let mut out = String::new();
        encode(&mut out, &c);
        assert_eq!(
            out,
            "# HELP t_total Things.\n# TYPE t_total counter\n\
             t_total{device=\"a@1.0\",key=\"say \\\"hi\\\"\\n\"} 1\n"
        );
        let h = Family::new("d_seconds", "Time.", Kind::Histogram, &[]);
        h.observe(&[], 0.002);
        let mut out = String::new();
        encode(&mut out, &h);
        assert!(out.contains("d_seconds_bucket{le=\"0.0025\"} 1\n"), "{out}");
        assert!(out.contains("d_seconds_bucket{le=\"0.001\"} 0\n"), "{out}");
        assert!(out.contains("d_seconds_bucket{le=\"+Inf\"} 1\n"), "{out}");
        assert!(out.contains("d_seconds_count 1\n"), "{out}");
        assert!(out.contains("d_seconds_sum 0.002\n"), "{out}");
    }
}
