//! Which windows of a row have closed, as a comparison of its event time.
//!
//! The windows a row at `ts` belongs to end, at the earliest and at the latest, at
//! `floor(ts, period) + offset` (windows are aligned to the epoch, as `date_bin` aligns them):
//!
//! | kind | first end | last end |
//! |---|---|---|
//! | TUMBLE(size) | `floor(ts, size) + size` | the same |
//! | HOP(slide, size) | `floor(ts, slide) + slide` | `floor(ts, slide) + size` |
//! | CUMULATE(step, size) | `floor(ts, step) + step` | `floor(ts, size) + size` |
//! | SESSION(gap) | `ts + gap` (a session ends at least a gap after each of its rows) | the same |
//!
//! Both grow with `ts`, so "some window of the row ends by the watermark" is `ts < cut` for
//! one cut per watermark, and so is "every window of the row ends by the watermark".

use super::config::{WindowKind, WindowSpec};

/// `end(ts) = floor(ts, period) + offset`.
#[derive(Clone, Copy, Debug, PartialEq)]
struct EndOf {
    period: i64,
    offset: i64,
}

impl EndOf {
    /// The smallest event time whose end is after `watermark`: rows before it end by then.
    fn cut(self, watermark: i64) -> i64 {
        // floor(ts, p) + q <= w  ⇔  floor(ts, p) <= w - q  ⇔  ts < floor(w - q, p) + p
        let (p, q) = (i128::from(self.period), i128::from(self.offset));
        let w = i128::from(watermark) - q;
        let cut = w - w.rem_euclid(p) + p;
        cut.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
    }
}

/// The first and the last window end of a row, for one window.
fn ends_of(window: &WindowSpec) -> (EndOf, EndOf) {
    let intervals = window.intervals();
    let at = |i: usize| intervals.get(i).copied().unwrap_or(1).max(1);
    let end = |period, offset| EndOf { period, offset };
    match window.kind {
        WindowKind::Tumble => (end(at(0), at(0)), end(at(0), at(0))),
        WindowKind::Hop => (end(at(0), at(0)), end(at(0), at(1))),
        WindowKind::Cumulate => (end(at(0), at(0)), end(at(1), at(1))),
        WindowKind::Session => (end(1, at(0)), end(1, at(0))),
    }
}

/// The windows over one input table.
#[derive(Clone, Debug, Default)]
pub(super) struct TableBounds {
    first: Vec<EndOf>,
    last: Vec<EndOf>,
}

impl TableBounds {
    pub fn new<'a>(windows: impl IntoIterator<Item = &'a WindowSpec>) -> Self {
        let (first, last) = windows.into_iter().map(ends_of).unzip();
        TableBounds { first, last }
    }

    pub fn is_windowed(&self) -> bool {
        !self.first.is_empty()
    }

    /// Rows with `ts` before this belong to some window that ends by `watermark`.
    pub fn some_closed(&self, watermark: i64) -> i64 {
        self.first
            .iter()
            .map(|e| e.cut(watermark))
            .max()
            .unwrap_or(i64::MIN)
    }

    /// Rows with `ts` before this belong only to windows that end by `watermark`.
    pub fn all_closed(&self, watermark: i64) -> i64 {
        self.last
            .iter()
            .map(|e| e.cut(watermark))
            .min()
            .unwrap_or(i64::MIN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(kind: WindowKind, intervals_ms: &[u64]) -> WindowSpec {
        WindowSpec {
            kind,
            table: "t".into(),
            time_column: "ts".into(),
            intervals_ms: intervals_ms.to_vec(),
            partition_by: Vec::new(),
            session_table: None,
        }
    }

    /// The windows of a row as the compiler's rewrite assigns them: (start, end) pairs.
    fn windows_of(kind: WindowKind, iv: &[i64], ts: i64) -> Vec<(i64, i64)> {
        let floor = |t: i64, p: i64| t - t.rem_euclid(p);
        match kind {
            WindowKind::Tumble => vec![(floor(ts, iv[0]), floor(ts, iv[0]) + iv[0])],
            WindowKind::Hop => (0..iv[1] / iv[0])
                .map(|k| floor(ts, iv[0]) - k * iv[0])
                .map(|s| (s, s + iv[1]))
                .collect(),
            WindowKind::Cumulate => (1..=iv[1] / iv[0])
                .map(|k| (floor(ts, iv[1]), floor(ts, iv[1]) + k * iv[0]))
                .filter(|&(_, e)| e > ts)
                .collect(),
            WindowKind::Session => vec![(ts, ts + iv[0])],
        }
    }

    #[test]
    fn cuts_agree_with_the_windows_of_every_row() {
        let cases: [(WindowKind, &[u64]); 4] = [
            (WindowKind::Tumble, &[60]),
            (WindowKind::Hop, &[20, 60]),
            (WindowKind::Cumulate, &[20, 60]),
            (WindowKind::Session, &[30]),
        ];
        for (kind, iv) in cases {
            let bounds = TableBounds::new([&spec(kind, iv)]);
            let ivs: Vec<i64> = iv.iter().map(|&v| v as i64).collect();
            for watermark in -130..130 {
                for ts in -200..200 {
                    let ends: Vec<i64> = windows_of(kind, &ivs, ts).iter().map(|w| w.1).collect();
                    let some = ends.iter().any(|&e| e <= watermark);
                    let all = ends.iter().all(|&e| e <= watermark);
                    assert_eq!(
                        ts < bounds.some_closed(watermark),
                        some,
                        "{kind:?} {ts} {watermark}"
                    );
                    assert_eq!(
                        ts < bounds.all_closed(watermark),
                        all,
                        "{kind:?} {ts} {watermark}"
                    );
                }
            }
        }
    }

    #[test]
    fn cuts_saturate_at_the_ends_of_time() {
        let bounds = TableBounds::new([&spec(WindowKind::Tumble, &[60_000])]);
        // The window holding the last millisecond of time ends after it.
        assert!(bounds.all_closed(i64::MAX) > i64::MAX - 60_000);
        assert!(bounds.all_closed(i64::MIN) < -1_000_000_000_000);
        assert_eq!(TableBounds::default().some_closed(0), i64::MIN);
    }
}
