//! One input of an analytics node: its watermark, its windows and its buffered rows, which it
//! admits (sorting the late ones out) and hands over when windows close.

use datafusion::arrow::array::{Array, AsArray, BooleanArray};
use datafusion::arrow::compute;
use datafusion::arrow::compute::kernels::boolean;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::RecordBatch;

use super::bounds::TableBounds;
use super::buffer::{before, event_times, TableBuffer};
use super::config::{InputSpec, WindowKind, WindowSpec};
use super::session::{session_schema, SessionWindow};
use super::shape::Scan;

/// Rows for the tables of one run, by table name.
pub(super) type Contents = Vec<(String, Vec<RecordBatch>)>;

/// A SESSION window over an input, and the table the SQL reads its sessions from.
struct Session {
    table: String,
    partition: Vec<usize>,
    gap: i64,
    schema: SchemaRef,
}

/// One input and its state.
pub(super) struct Input {
    pub spec: InputSpec,
    /// The event-time column, when the input has one.
    time_index: Option<usize>,
    /// Whether the SQL reads this table (directly or through a session table).
    pub read: bool,
    /// Every window over this table (a row is late once all of them have closed).
    windows: TableBounds,
    /// Its TUMBLE, HOP and CUMULATE windows, whose rows a run reads directly.
    direct: TableBounds,
    sessions: Vec<Session>,
    buffer: TableBuffer,
    /// The greatest event time seen, per split (a shard of the input stream): the input's
    /// watermark follows the slowest split that has delivered rows, as Flink's Kinesis source
    /// does, so rows read from one shard ahead of another are not late.
    max_ts: std::collections::BTreeMap<usize, i64>,
    /// How many splits the input has; the watermark waits until each has delivered rows or
    /// is declared idle.
    splits: usize,
    idle: std::collections::BTreeSet<usize>,
}

impl Input {
    /// `spec` with `windows` (those over it are picked), read as the plan's `scans` say.
    pub fn new(spec: InputSpec, windows: &[WindowSpec], scans: &[Scan]) -> Self {
        let mine: Vec<&WindowSpec> = windows.iter().filter(|w| w.table == spec.table).collect();
        let sessions: Vec<Session> = mine
            .iter()
            .filter(|w| w.kind == WindowKind::Session)
            .map(|w| Session {
                table: w.session_table.clone().unwrap_or_default(),
                partition: w
                    .partition_by
                    .iter()
                    .filter_map(|c| spec.schema.index_of(c).ok())
                    .collect(),
                gap: w.intervals().first().copied().unwrap_or(1),
                schema: session_schema(&spec.schema),
            })
            .collect();
        let read = scans
            .iter()
            .any(|s| s.table == spec.table || sessions.iter().any(|x| x.table == s.table));
        let direct = mine
            .iter()
            .copied()
            .filter(|w| w.kind != WindowKind::Session);
        Input {
            time_index: spec
                .event_time
                .as_ref()
                .and_then(|c| spec.schema.index_of(c).ok()),
            read,
            windows: TableBounds::new(mine.iter().copied()),
            direct: TableBounds::new(direct),
            sessions,
            buffer: TableBuffer::default(),
            max_ts: std::collections::BTreeMap::new(),
            splits: 1,
            idle: std::collections::BTreeSet::new(),
            spec,
        }
    }

    /// Whether a run can read `table` from this input's rows: the input, or one of its
    /// session tables.
    pub fn feeds(&self, table: &str) -> bool {
        (self.spec.table == table && self.direct.is_windowed())
            || self.sessions.iter().any(|s| s.table == table)
    }

    pub fn has_event_time(&self) -> bool {
        self.time_index.is_some()
    }

    /// This input's watermark, once it has seen an event time.
    pub fn watermark(&self) -> Option<i64> {
        let heard_from_all =
            (0..self.splits).all(|s| self.max_ts.contains_key(&s) || self.idle.contains(&s));
        if !heard_from_all {
            return None;
        }
        self.max_ts
            .values()
            .min()
            .map(|max| max.saturating_sub(self.spec.watermark_ms))
    }

    /// The input has `splits` splits (shards), numbered from 0.
    pub fn set_splits(&mut self, splits: usize) {
        self.splits = splits.max(1);
    }

    /// A split that delivered nothing for a while: the watermark no longer waits for it
    /// (Flink's source idleness). Rows it delivers later count again.
    pub fn mark_idle(&mut self, split: usize) {
        if !self.max_ts.contains_key(&split) {
            self.idle.insert(split);
        }
    }

    pub fn buffered_rows(&self) -> usize {
        self.buffer.rows()
    }

    /// Buffers the rows of `batch` (read from `split`) that are not late at `watermark`;
    /// returns the late ones, with their positions in `batch`: rows without an event time, or
    /// whose every window ended by the watermark.
    pub fn admit(
        &mut self,
        batch: RecordBatch,
        split: usize,
        watermark: i64,
    ) -> Result<Option<(RecordBatch, Vec<usize>)>, ArrowError> {
        let times = match self.time_index {
            Some(i) => Some(event_times(&batch, i)?),
            None => None,
        };
        if let Some(max) = times.as_ref().and_then(compute::max) {
            let seen = self.max_ts.entry(split).or_insert(max);
            *seen = (*seen).max(max);
        }
        if !self.read {
            return Ok(None);
        }
        let (Some(ts), true) = (times, self.windows.is_windowed()) else {
            self.buffer.push(batch, None);
            return Ok(None);
        };
        let closed = before(&ts, self.windows.all_closed(watermark))?;
        let late = match ts.null_count() {
            0 => closed,
            _ => boolean::or(
                &compute::prep_null_mask_filter(&closed),
                &compute::is_null(&ts)?,
            )?,
        };
        if late.true_count() == 0 {
            self.buffer.push(batch, Some(ts));
            return Ok(None);
        }
        let on_time = boolean::not(&late)?;
        let kept = compute::filter_record_batch(&batch, &on_time)?;
        let kept_ts = compute::filter(&ts, &on_time)?.as_primitive().clone();
        self.buffer.push(kept, Some(kept_ts));
        let positions = late
            .iter()
            .enumerate()
            .filter_map(|(i, late)| (late == Some(true)).then_some(i))
            .collect();
        Ok(Some((
            compute::filter_record_batch(&batch, &late)?,
            positions,
        )))
    }

    /// Whether some buffered row belongs to a window that ends by `upto`.
    pub fn closes(&self, upto: i64) -> bool {
        self.read
            && self.buffer.rows() > 0
            && (upto == i64::MAX
                || !self.windows.is_windowed()
                || self
                    .buffer
                    .min_ts()
                    .is_some_and(|min| min < self.windows.some_closed(upto)))
    }

    /// The rows the windows ending by `upto` need (every row when `upto` is the end of time),
    /// by the table the SQL reads them from; evicts the rows no open window needs.
    pub fn take_closed(&mut self, upto: i64) -> Result<Contents, ArrowError> {
        if !self.sessions.is_empty() {
            return self.sessionize(upto);
        }
        let rows = if upto == i64::MAX || !self.direct.is_windowed() {
            self.buffer.take_all()
        } else {
            self.buffer
                .split(self.direct.some_closed(upto), self.direct.all_closed(upto))?
        };
        Ok(vec![(self.spec.table.clone(), rows)])
    }

    /// The rows of the sessions that close by `upto`, per session table (and the rows the
    /// input's other windows need); keeps the rows of open sessions.
    fn sessionize(&mut self, upto: i64) -> Result<Contents, ArrowError> {
        let Some((all, ts)) = self.buffer.concat()? else {
            return Ok(Vec::new());
        };
        let mut contents = Vec::new();
        let mut keep = BooleanArray::from(vec![false; all.num_rows()]);
        for session in &self.sessions {
            let window = SessionWindow {
                partition: &session.partition,
                gap: session.gap,
                schema: &session.schema,
            };
            let sessions = window.sessionize(&all, &ts, upto)?;
            keep = boolean::or(&keep, &sessions.open)?;
            contents.push((session.table.clone(), vec![sessions.closed]));
        }
        if self.direct.is_windowed() {
            let selected = before(&ts, self.direct.some_closed(upto))?;
            contents.push((
                self.spec.table.clone(),
                vec![compute::filter_record_batch(&all, &selected)?],
            ));
            let open = boolean::not(&before(&ts, self.direct.all_closed(upto))?)?;
            keep = boolean::or(&keep, &open)?;
        }
        self.buffer.replace(&all, ts, &keep)?;
        Ok(contents)
    }
}
