//! [`AnalyticsEngine`]: batches in, final output rows and late rows out. It keeps the
//! watermarks, sorts late rows out, buffers the others and decides when the query runs and
//! over which rows (see the module documentation of [`super`]).

use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, BooleanArray};
use datafusion::arrow::compute::kernels::boolean;
use datafusion::arrow::compute::{self, cast};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::{RecordBatch, RecordBatchOptions};

use super::bounds::TableBounds;
use super::buffer::{before, event_times, TableBuffer};
use super::config::{AnalyticsConfig, InputSpec, WindowKind};
use super::error::AnalyticsError;
use super::query::Query;
use super::session::{session_schema, SessionWindow};
use super::shape::Shape;

/// What one push (or the finish) produced.
#[derive(Debug, Default)]
pub struct Step {
    /// Final output rows, in the configured output schema.
    pub output: Vec<RecordBatch>,
    /// Late rows, by input table: every window they belong to was already emitted (or they
    /// have no event time). They are not in any result.
    pub late: Vec<(String, RecordBatch)>,
}

/// A SESSION window of the query.
struct Session {
    table: String,
    partition: Vec<usize>,
    gap: i64,
    schema: SchemaRef,
}

/// One input and its state.
struct Input {
    spec: InputSpec,
    /// The event-time column, when the input has one.
    time_index: Option<usize>,
    /// Whether the SQL reads this table at all.
    read: bool,
    /// Every window over this table (a row is late once all of them have closed).
    windows: TableBounds,
    /// Its TUMBLE, HOP and CUMULATE windows (rows a run reads directly).
    direct: TableBounds,
    /// Indices into `AnalyticsEngine::sessions`.
    sessions: Vec<usize>,
    buffer: TableBuffer,
    max_ts: Option<i64>,
}

impl Input {
    /// This input's watermark, once it has seen an event time.
    fn watermark(&self) -> Option<i64> {
        self.max_ts
            .map(|max| max.saturating_sub(self.spec.watermark_ms))
    }
}

/// Runs one analytics node's SQL incrementally; see the module documentation of [`super`].
pub struct AnalyticsEngine {
    name: String,
    query: Query,
    inputs: Vec<Input>,
    sessions: Vec<Session>,
    /// Every window with `window_end <= watermark` has been emitted.
    watermark: i64,
    late_rows: u64,
}

impl AnalyticsEngine {
    pub fn new(config: AnalyticsConfig) -> Result<Self, AnalyticsError> {
        let problems = config.check();
        if !problems.is_empty() {
            return Err(AnalyticsError::Config {
                analytics: config.name,
                problems,
            });
        }
        let query = Query::new(&config)?;
        let mut sessions = Vec::new();
        let mut inputs = Vec::new();
        for spec in config.inputs {
            let mine: Vec<_> = config
                .windows
                .iter()
                .filter(|w| w.table == spec.table)
                .collect();
            let mut own_sessions = Vec::new();
            for w in mine.iter().filter(|w| w.kind == WindowKind::Session) {
                let partition = w
                    .partition_by
                    .iter()
                    .filter_map(|c| spec.schema.index_of(c).ok())
                    .collect();
                own_sessions.push(sessions.len());
                sessions.push(Session {
                    table: w.session_table.clone().unwrap_or_default(),
                    partition,
                    gap: w.intervals().first().copied().unwrap_or(1),
                    schema: session_schema(&spec.schema),
                });
            }
            let read = query.scans.iter().any(|s| {
                s.table == spec.table
                    || own_sessions.iter().any(|&i| {
                        sessions
                            .get(i)
                            .is_some_and(|x: &Session| x.table == s.table)
                    })
            });
            inputs.push(Input {
                time_index: spec
                    .event_time
                    .as_ref()
                    .and_then(|c| spec.schema.index_of(c).ok()),
                read,
                windows: TableBounds::new(mine.iter().copied()),
                direct: TableBounds::new(
                    mine.iter()
                        .copied()
                        .filter(|w| w.kind != WindowKind::Session),
                ),
                sessions: own_sessions,
                buffer: TableBuffer::default(),
                max_ts: None,
                spec,
            });
        }
        let engine = AnalyticsEngine {
            name: config.name,
            query,
            inputs,
            sessions,
            watermark: i64::MIN,
            late_rows: 0,
        };
        engine.check_windows()?;
        Ok(engine)
    }

    /// A windowed query must have a window spec for every table it reads through a window.
    fn check_windows(&self) -> Result<(), AnalyticsError> {
        if self.query.shape != Shape::Windowed {
            return Ok(());
        }
        let problems: Vec<String> = self
            .query
            .scans
            .iter()
            .filter(|scan| {
                let session = self.sessions.iter().any(|s| s.table == scan.table);
                let direct = self
                    .inputs
                    .iter()
                    .any(|i| i.spec.table == scan.table && i.direct.is_windowed());
                !session && !direct
            })
            .map(|scan| {
                format!(
                    "the SQL windows table \"{}\", but no window over it is configured",
                    scan.table
                )
            })
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(AnalyticsError::Config {
                analytics: self.name.clone(),
                problems,
            })
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The query's watermark: every window ending by it has been emitted.
    pub fn watermark(&self) -> Option<i64> {
        (self.watermark != i64::MIN).then_some(self.watermark)
    }

    /// How many late rows were returned so far.
    pub fn late_rows(&self) -> u64 {
        self.late_rows
    }

    /// How many input rows wait in buffers.
    pub fn buffered_rows(&self) -> usize {
        self.inputs.iter().map(|i| i.buffer.rows()).sum()
    }

    /// Feeds a batch of input `table`; returns the output rows that became final.
    pub fn push(&mut self, table: &str, batch: RecordBatch) -> Result<Step, AnalyticsError> {
        let Some(index) = self.inputs.iter().position(|i| i.spec.table == table) else {
            return Err(AnalyticsError::UnknownTable {
                analytics: self.name.clone(),
                table: table.to_string(),
            });
        };
        let batch = conform(batch, &self.inputs[index].spec.schema).map_err(|message| {
            AnalyticsError::Schema {
                analytics: self.name.clone(),
                table: table.to_string(),
                message,
            }
        })?;
        let mut step = Step::default();
        if self.query.shape == Shape::Streaming {
            if self.inputs[index].read {
                step.output =
                    self.query
                        .run(vec![(table.to_string(), vec![batch])], i64::MIN, i64::MAX)?;
            }
            return Ok(step);
        }
        let late = self.admit(index, batch).map_err(|e| self.arrow_error(e))?;
        if let Some(late) = late {
            self.late_rows += late.num_rows() as u64;
            step.late.push((table.to_string(), late));
        }
        if self.query.shape == Shape::Windowed {
            let watermark = self.query_watermark();
            if watermark > self.watermark {
                step.output = self.fire(watermark)?;
                self.watermark = watermark;
            }
        }
        Ok(step)
    }

    /// The inputs ended: emits every open window (runs a query that waits for the end).
    pub fn finish(&mut self) -> Result<Step, AnalyticsError> {
        let mut step = Step::default();
        if self.query.shape != Shape::Streaming && self.watermark != i64::MAX {
            step.output = self.fire(i64::MAX)?;
        }
        self.watermark = i64::MAX;
        Ok(step)
    }

    /// Buffers the rows of `batch` that are not late; returns the late ones.
    fn admit(
        &mut self,
        index: usize,
        batch: RecordBatch,
    ) -> Result<Option<RecordBatch>, ArrowError> {
        let watermark = self.watermark;
        let input = &mut self.inputs[index];
        let times = match input.time_index {
            Some(i) => Some(event_times(&batch, i)?),
            None => None,
        };
        if let Some(ts) = &times {
            if let Some(max) = compute::max(ts) {
                input.max_ts = Some(input.max_ts.map_or(max, |m| m.max(max)));
            }
        }
        if !input.read {
            return Ok(None);
        }
        let (Some(ts), true) = (times, input.windows.is_windowed()) else {
            input.buffer.push(batch, None);
            return Ok(None);
        };
        // Late: no event time, or every window of the row ended by the watermark.
        let closed = before(&ts, input.windows.all_closed(watermark))?;
        let late = if ts.null_count() > 0 {
            boolean::or(
                &compute::prep_null_mask_filter(&closed),
                &compute::is_null(&ts)?,
            )?
        } else {
            closed
        };
        if late.true_count() == 0 {
            input.buffer.push(batch, Some(ts));
            return Ok(None);
        }
        let on_time = boolean::not(&late)?;
        let kept = compute::filter_record_batch(&batch, &on_time)?;
        let kept_ts = compute::filter(&ts, &on_time)?.as_primitive().clone();
        input.buffer.push(kept, Some(kept_ts));
        Ok(Some(compute::filter_record_batch(&batch, &late)?))
    }

    /// The smallest watermark of the inputs the query reads that have an event time.
    fn query_watermark(&self) -> i64 {
        let mut timed = self
            .inputs
            .iter()
            .filter(|i| i.read && i.time_index.is_some())
            .peekable();
        if timed.peek().is_none() {
            return i64::MIN;
        }
        timed
            .map(|i| i.watermark().unwrap_or(i64::MIN))
            .min()
            .unwrap_or(i64::MIN)
    }

    /// Emits the windows ending after the previous watermark and by `upto` (everything when
    /// `upto` is the end of time), then evicts the rows no open window needs.
    fn fire(&mut self, upto: i64) -> Result<Vec<RecordBatch>, AnalyticsError> {
        let everything = upto == i64::MAX;
        let mut contents = Vec::new();
        for index in 0..self.inputs.len() {
            let input = &self.inputs[index];
            if !input.read || input.buffer.rows() == 0 {
                continue;
            }
            let closing = everything
                || !input.windows.is_windowed()
                || input
                    .buffer
                    .min_ts()
                    .is_some_and(|min| min < input.windows.some_closed(upto));
            if !closing {
                continue;
            }
            let found = if input.sessions.is_empty() {
                self.split(index, upto, everything)
            } else {
                self.sessionize(index, upto)
            };
            contents.extend(found.map_err(|e| self.arrow_error(e))?);
        }
        if contents
            .iter()
            .all(|(_, batches)| batches.iter().all(|b| b.num_rows() == 0))
        {
            return Ok(Vec::new());
        }
        self.query.run(contents, self.watermark, upto)
    }

    /// The rows of a table without sessions that the windows closing by `upto` need.
    fn split(
        &mut self,
        index: usize,
        upto: i64,
        everything: bool,
    ) -> Result<Vec<(String, Vec<RecordBatch>)>, ArrowError> {
        let input = &mut self.inputs[index];
        let rows = if everything || !input.direct.is_windowed() {
            input.buffer.take_all()
        } else {
            input.buffer.split(
                input.direct.some_closed(upto),
                input.direct.all_closed(upto),
            )?
        };
        Ok(vec![(input.spec.table.clone(), rows)])
    }

    /// The rows of the sessions over a table that close by `upto`, per session table (and the
    /// rows its other windows need); keeps the rows of open sessions.
    fn sessionize(
        &mut self,
        index: usize,
        upto: i64,
    ) -> Result<Vec<(String, Vec<RecordBatch>)>, ArrowError> {
        let input = &self.inputs[index];
        let Some((all, ts)) = input.buffer.concat()? else {
            return Ok(Vec::new());
        };
        let mut contents = Vec::new();
        let mut keep = BooleanArray::from(vec![false; all.num_rows()]);
        for &s in &input.sessions {
            let Some(session) = self.sessions.get(s) else {
                continue;
            };
            let window = SessionWindow {
                partition: &session.partition,
                gap: session.gap,
                schema: &session.schema,
            };
            let sessions = window.sessionize(&all, &ts, upto)?;
            keep = boolean::or(&keep, &sessions.open)?;
            contents.push((session.table.clone(), vec![sessions.closed]));
        }
        if input.direct.is_windowed() {
            let below = |cut: i64| before(&ts, cut);
            let selected =
                compute::filter_record_batch(&all, &below(input.direct.some_closed(upto))?)?;
            contents.push((input.spec.table.clone(), vec![selected]));
            keep = boolean::or(
                &keep,
                &boolean::not(&below(input.direct.all_closed(upto))?)?,
            )?;
        }
        self.inputs[index].buffer.replace(&all, ts, &keep)?;
        Ok(contents)
    }

    fn arrow_error(&self, e: ArrowError) -> AnalyticsError {
        AnalyticsError::Query {
            analytics: self.name.clone(),
            message: e.to_string(),
        }
    }
}

/// `batch` in `schema`: its columns by name, cast where the types differ.
fn conform(batch: RecordBatch, schema: &SchemaRef) -> Result<RecordBatch, String> {
    if batch.schema().fields() == schema.fields() {
        return batch
            .with_schema(Arc::clone(schema))
            .map_err(|e| e.to_string());
    }
    let mut columns = Vec::with_capacity(schema.fields().len());
    for field in schema.fields() {
        let column = batch
            .column_by_name(field.name())
            .ok_or_else(|| format!("it has no column \"{}\"", field.name()))?;
        columns.push(if column.data_type() == field.data_type() {
            Arc::clone(column)
        } else {
            cast(column, field.data_type())
                .map_err(|e| format!("column \"{}\": {e}", field.name()))?
        });
    }
    let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
    RecordBatch::try_new_with_options(Arc::clone(schema), columns, &options)
        .map_err(|e| e.to_string())
}
