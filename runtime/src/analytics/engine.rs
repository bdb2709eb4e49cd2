//! [`AnalyticsEngine`]: batches in, final output rows and late rows out. It keeps the
//! watermarks, sorts late rows out, buffers the others and decides when the query runs and
//! over which rows (see the module documentation of [`super`]).

use std::sync::Arc;

use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::{RecordBatch, RecordBatchOptions};

use super::config::AnalyticsConfig;
use super::error::AnalyticsError;
use super::input::Input;
use super::query::Query;
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

/// Runs one analytics node's SQL incrementally; see the module documentation of [`super`].
pub struct AnalyticsEngine {
    name: String,
    query: Query,
    inputs: Vec<Input>,
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
        let inputs = config
            .inputs
            .into_iter()
            .map(|spec| Input::new(spec, &config.windows, &query.scans))
            .collect();
        let engine = AnalyticsEngine {
            name: config.name,
            query,
            inputs,
            watermark: i64::MIN,
            late_rows: 0,
        };
        engine.check_windows()?;
        Ok(engine)
    }

    /// A windowed query must have a window configured for every table it reads.
    fn check_windows(&self) -> Result<(), AnalyticsError> {
        if self.query.shape != Shape::Windowed {
            return Ok(());
        }
        let problems: Vec<String> = self
            .query
            .scans
            .iter()
            .filter(|scan| !self.inputs.iter().any(|i| i.feeds(&scan.table)))
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
        self.inputs.iter().map(Input::buffered_rows).sum()
    }

    /// Declares that input `table` is read from `splits` splits (the shards of its stream):
    /// its watermark then waits until every split has delivered rows or is marked idle.
    pub fn set_splits(&mut self, table: &str, splits: usize) {
        if let Some(input) = self.inputs.iter_mut().find(|i| i.spec.table == table) {
            input.set_splits(splits);
        }
    }

    /// Stops waiting for `split` of `table`, which has delivered nothing so far.
    pub fn mark_idle(&mut self, table: &str, split: usize) {
        if let Some(input) = self.inputs.iter_mut().find(|i| i.spec.table == table) {
            input.mark_idle(split);
        }
    }

    /// Feeds a batch of input `table`; returns the output rows that became final.
    pub fn push(&mut self, table: &str, batch: RecordBatch) -> Result<Step, AnalyticsError> {
        self.push_split(table, 0, batch)
    }

    /// Feeds a batch of input `table` read from one of its splits (a shard of the stream); the
    /// input's watermark is the smallest of its splits' (among those that delivered rows).
    pub fn push_split(
        &mut self,
        table: &str,
        split: usize,
        batch: RecordBatch,
    ) -> Result<Step, AnalyticsError> {
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
                let contents = vec![(table.to_string(), vec![batch])];
                step.output = self.query.run(contents, i64::MIN, i64::MAX)?;
            }
            return Ok(step);
        }
        let late = self.inputs[index]
            .admit(batch, split, self.watermark)
            .map_err(|e| self.arrow_error(e))?;
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

    /// The smallest watermark of the inputs the query reads that have an event time.
    fn query_watermark(&self) -> i64 {
        self.inputs
            .iter()
            .filter(|i| i.read && i.has_event_time())
            .map(|i| i.watermark().unwrap_or(i64::MIN))
            .min()
            .unwrap_or(i64::MIN)
    }

    /// Emits the windows ending after the previous watermark and by `upto` (everything when
    /// `upto` is the end of time), then evicts the rows no open window needs.
    fn fire(&mut self, upto: i64) -> Result<Vec<RecordBatch>, AnalyticsError> {
        let mut contents = Vec::new();
        for input in &mut self.inputs {
            if input.closes(upto) {
                match input.take_closed(upto) {
                    Ok(found) => contents.extend(found),
                    Err(e) => return Err(arrow_error(&self.name, e)),
                }
            }
        }
        let rows: usize = contents
            .iter()
            .flat_map(|(_, batches)| batches.iter().map(RecordBatch::num_rows))
            .sum();
        if rows == 0 {
            return Ok(Vec::new());
        }
        self.query.run(contents, self.watermark, upto)
    }

    fn arrow_error(&self, e: ArrowError) -> AnalyticsError {
        arrow_error(&self.name, e)
    }
}

fn arrow_error(analytics: &str, e: ArrowError) -> AnalyticsError {
    AnalyticsError::Query {
        analytics: analytics.to_string(),
        message: e.to_string(),
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
