//! Labelled series of one metric: counters, gauges and histograms, hand-rolled over atomics.
//!
//! A family holds at most [`MAX_SERIES`] label sets; further ones are counted under the label
//! values `overflow`, so a client choosing label values (keys, device names) can never grow the
//! node's memory without bound.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

/// Most label sets one family keeps.
pub const MAX_SERIES: usize = 2000;

/// Label values standing for every set past [`MAX_SERIES`].
pub const OVERFLOW: &str = "overflow";

/// Latency buckets, in seconds (upper bounds; `+Inf` is implied).
pub const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Series by the hash of their label values; each bucket holds the label sets of that hash.
/// The keys are already hashes: the map hashes them with a pass-through hasher.
type SeriesMap = HashMap<u64, Vec<(Vec<String>, Arc<Series>)>, BuildHasherDefault<PassThrough>>;

/// Hashes a `u64` key as itself.
#[derive(Debug, Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// What a family measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Only ever goes up.
    Counter,
    /// Goes up and down.
    Gauge,
    /// Observations counted into buckets.
    Histogram,
}

impl Kind {
    /// The Prometheus `# TYPE` word.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// One series: a value, or a histogram's buckets, sum and count.
#[derive(Debug)]
pub struct Series {
    /// Counter or gauge value (gauges store `i64` bits); a histogram's count.
    value: AtomicU64,
    /// Histogram: one counter per bucket (not cumulative).
    buckets: Box<[AtomicU64]>,
    /// Histogram: sum of observations in nanoseconds (or units × 1e9).
    sum_nanos: AtomicU64,
}

impl Series {
    fn new(buckets: usize) -> Series {
        Series {
            value: AtomicU64::new(0),
            buckets: (0..buckets).map(|_| AtomicU64::new(0)).collect(),
            sum_nanos: AtomicU64::new(0),
        }
    }

    /// Adds `n` to a counter.
    pub fn add(&self, n: u64) {
        self.value.fetch_add(n, Ordering::Relaxed);
    }

    /// Sets a gauge.
    pub fn set(&self, v: i64) {
        self.value.store(v as u64, Ordering::Relaxed);
    }

    /// Adds `d` (may be negative) to a gauge.
    pub fn shift(&self, d: i64) {
        self.value.fetch_add(d as u64, Ordering::Relaxed);
    }

    /// The counter or gauge value, or a histogram's count.
    pub fn get(&self) -> u64 {
        self.value.load(Ordering::Relaxed)
    }
}

/// A metric and its series by label values.
#[derive(Debug)]
pub struct Family {
    /// Metric name (`ferrobeam_…`).
    pub name: &'static str,
    /// One line of help.
    pub help: &'static str,
    /// What it measures.
    pub kind: Kind,
    /// Label names.
    pub labels: &'static [&'static str],
    bounds: &'static [f64],
    /// Series by the hash of their label values (a lookup allocates nothing), each bucket
    /// holding the label sets of that hash.
    series: RwLock<SeriesMap>,
    len: AtomicU64,
}

impl Family {
    /// A family of `kind` with `labels`.
    pub fn new(
        name: &'static str,
        help: &'static str,
        kind: Kind,
        labels: &'static [&'static str],
    ) -> Family {
        Family {
            name,
            help,
            kind,
            labels,
            bounds: if kind == Kind::Histogram {
                LATENCY_BUCKETS
            } else {
                &[]
            },
            series: RwLock::default(),
            len: AtomicU64::new(0),
        }
    }

    /// Runs `f` on the series for `values`; on the common path (the series exists) this takes
    /// a read lock and allocates nothing.
    fn apply(&self, values: &[&str], f: impl FnOnce(&Series)) {
        let hash = hash_of(values);
        {
            let map = self.series.read().unwrap_or_else(PoisonError::into_inner);
            if let Some((_, s)) = find_entry(&map, hash, values) {
                f(s);
                return;
            }
        }
        f(&self.with(values));
    }

    /// The series for `values` (one per label, in order), created on first use.
    pub fn with(&self, values: &[&str]) -> Arc<Series> {
        let hash = hash_of(values);
        {
            let map = self.series.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(s) = find(&map, hash, values) {
                return s;
            }
        }
        let mut map = self.series.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(s) = find(&map, hash, values) {
            return s;
        }
        if self.len.load(Ordering::Relaxed) >= MAX_SERIES as u64 {
            let overflow: Vec<&str> = values.iter().map(|_| OVERFLOW).collect();
            let hash = hash_of(&overflow);
            if let Some(s) = find(&map, hash, &overflow) {
                return s;
            }
            return self.insert(&mut map, hash, &overflow);
        }
        self.insert(&mut map, hash, values)
    }

    fn insert(&self, map: &mut SeriesMap, hash: u64, values: &[&str]) -> Arc<Series> {
        let series = Arc::new(Series::new(self.bounds.len()));
        let key = values.iter().map(|v| (*v).to_owned()).collect();
        map.entry(hash).or_default().push((key, series.clone()));
        self.len.fetch_add(1, Ordering::Relaxed);
        series
    }

    /// Counts one event (counter).
    pub fn inc(&self, values: &[&str]) {
        self.apply(values, |s| s.add(1));
    }

    /// Records one observation of `seconds` (histogram).
    pub fn observe(&self, values: &[&str], seconds: f64) {
        let slot = self
            .bounds
            .iter()
            .position(|b| seconds <= *b)
            .unwrap_or(self.bounds.len());
        let nanos = (seconds.max(0.0) * 1e9) as u64;
        self.apply(values, |series| {
            if let Some(bucket) = series.buckets.get(slot) {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
            series.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
            series.value.fetch_add(1, Ordering::Relaxed);
        });
    }

    /// Every series, sorted by label values.
    pub fn snapshot(&self) -> Vec<(Vec<String>, Snapshot)> {
        let map = self.series.read().unwrap_or_else(PoisonError::into_inner);
        let mut out: Vec<(Vec<String>, Snapshot)> = map
            .values()
            .flatten()
            .map(|(k, s)| {
                let snap = match self.kind {
                    Kind::Counter => Snapshot::Counter(s.get()),
                    Kind::Gauge => Snapshot::Gauge(s.get() as i64),
                    Kind::Histogram => {
                        let mut cumulative = 0;
                        let buckets = self
                            .bounds
                            .iter()
                            .zip(s.buckets.iter())
                            .map(|(b, n)| {
                                cumulative += n.load(Ordering::Relaxed);
                                (*b, cumulative)
                            })
                            .collect();
                        Snapshot::Histogram {
                            buckets,
                            count: s.get(),
                            sum: s.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9,
                        }
                    }
                };
                (k.clone(), snap)
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// The sum of every series' value (counters), e.g. all requests whatever their labels.
    pub fn total(&self) -> u64 {
        let map = self.series.read().unwrap_or_else(PoisonError::into_inner);
        map.values().flatten().map(|(_, s)| s.get()).sum()
    }
}

/// foldhash: several times faster than SipHash on short label values. Collisions only cost a
/// longer bucket (label sets are compared in full).
fn hash_of(values: &[&str]) -> u64 {
    foldhash::fast::FixedState::with_seed(0x6665_7272_6f62).hash_one(values)
}

fn find_entry<'m>(
    map: &'m SeriesMap,
    hash: u64,
    values: &[&str],
) -> Option<&'m (Vec<String>, Arc<Series>)> {
    map.get(&hash)?
        .iter()
        .find(|(k, _)| k.len() == values.len() && k.iter().zip(values).all(|(a, b)| a == b))
}

fn find(map: &SeriesMap, hash: u64, values: &[&str]) -> Option<Arc<Series>> {
    find_entry(map, hash, values).map(|(_, s)| s.clone())
}

/// A series' value at one moment.
#[derive(Debug, Clone, PartialEq)]
pub enum Snapshot {
    /// A counter.
    Counter(u64),
    /// A gauge.
    Gauge(i64),
    /// A histogram: cumulative `(upper bound, count)`, then total count and sum.
    Histogram {
        /// Cumulative counts per upper bound.
        buckets: Vec<(f64, u64)>,
        /// Observations.
        count: u64,
        /// Sum of observations.
        sum: f64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_kept_per_label_set() {
        let f = Family::new("c", "h", Kind::Counter, &["a"]);
        f.inc(&["x"]);
        f.inc(&["x"]);
        f.inc(&["y"]);
        let snap = f.snapshot();
        assert_eq!(snap[0], (vec!["x".to_owned()], Snapshot::Counter(2)));
        assert_eq!(snap[1], (vec!["y".to_owned()], Snapshot::Counter(1)));
        assert_eq!(f.total(), 3);
    }

    #[test]
    fn histograms_are_cumulative() {
        let f = Family::new("h", "h", Kind::Histogram, &[]);
        f.observe(&[], 0.0001);
        f.observe(&[], 0.003);
        f.observe(&[], 100.0);
        let Snapshot::Histogram {
            buckets,
            count,
            sum,
        } = &f.snapshot()[0].1
        else {
            panic!("not a histogram");
        };
        assert_eq!(*count, 3);
        assert_eq!(buckets[0], (0.0005, 1));
        assert_eq!(buckets[3], (0.005, 2));
        assert_eq!(
            buckets.last().map(|b| b.1),
            Some(2),
            "100 s is only in +Inf"
        );
        assert!((sum - 100.0031).abs() < 1e-6);
    }

    #[test]
    fn label_sets_past_the_limit_share_the_overflow_series() {
        let f = Family::new("c", "h", Kind::Counter, &["k"]);
        for i in 0..MAX_SERIES + 10 {
            f.inc(&[&i.to_string()]);
        }
        let snap = f.snapshot();
        assert_eq!(snap.len(), MAX_SERIES + 1);
        let overflow = snap.iter().find(|(k, _)| k[0] == OVERFLOW);
        assert_eq!(overflow.map(|o| o.1.clone()), Some(Snapshot::Counter(10)));
    }

    #[test]
    fn gauges_go_both_ways() {
        let f = Family::new("g", "h", Kind::Gauge, &[]);
        f.with(&[]).shift(3);
        f.with(&[]).shift(-5);
        assert_eq!(f.snapshot()[0].1, Snapshot::Gauge(-2));
    }
}
