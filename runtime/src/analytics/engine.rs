//! [`AnalyticsEngine`]: batches in, final output rows and late rows out. It keeps the
//! watermarks, sorts late rows out, buffers the others and decides when the query runs and
//! over which rows (see the module documentation of [`super`]).

use std::sync::Arc;

use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{FieldRef, Schema, SchemaRef};
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
    pub late: Vec<Late>,
}

/// The late rows of one pushed batch.
#[derive(Debug)]
pub struct Late {
    pub table: String,
    /// The rows, in the columns the engine reads of the input ([`AnalyticsEngine::input_schema`]).
    pub rows: RecordBatch,
    /// Their positions in the batch pushed, ascending: the caller can name the records.
    pub positions: Vec<usize>,
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
        // Decode and buffer only what the query reads: plan again over the narrowed inputs.
        let (config, query) = match narrowed(&config, &query) {
            Some(narrow) => {
                let query = Query::new(&narrow)?;
                (narrow, query)
            }
            None => (config, query),
        };
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

    /// The columns of input `table` the engine reads: those the query reads, its event time and
    /// its SESSION keys, in the configured schema's order. Batches pushed need only these (other
    /// columns are dropped), so a caller decoding records can skip the rest.
    pub fn input_schema(&self, table: &str) -> Option<SchemaRef> {
        self.inputs
            .iter()
            .find(|i| i.spec.table == table)
            .map(|i| Arc::clone(&i.spec.schema))
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
        if let Some((rows, positions)) = late {
            self.late_rows += rows.num_rows() as u64;
            step.late.push(Late {
                table: table.to_string(),
                rows,
                positions,
            });
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

/// `config` with each input narrowed to the columns `query` (planned over `config`) reads, plus
/// those the engine needs (event times, SESSION keys); `None` when no input narrows. An input
/// whose every column is read, or none, keeps its schema.
fn narrowed(config: &AnalyticsConfig, query: &Query) -> Option<AnalyticsConfig> {
    let mut narrowed = config.clone();
    let mut changed = false;
    for input in &mut narrowed.inputs {
        let Some(mut names) = query.columns_read(&input.table) else {
            continue;
        };
        let mut all = false;
        for window in config.windows.iter().filter(|w| w.table == input.table) {
            if let Some(session) = &window.session_table {
                match query.columns_read(session) {
                    Some(read) => names.extend(read),
                    None => all = true,
                }
            }
            names.extend(window.partition_by.iter().cloned());
            names.push(window.time_column.clone());
        }
        names.extend(input.event_time.iter().cloned());
        let fields: Vec<FieldRef> = input
            .schema
            .fields()
            .iter()
            .filter(|f| names.contains(f.name()))
            .cloned()
            .collect();
        if all || fields.is_empty() || fields.len() == input.schema.fields().len() {
            continue;
        }
        let metadata = input.schema.metadata().clone();
        input.schema = Arc::new(Schema::new_with_metadata(fields, metadata));
        changed = true;
    }
    changed.then_some(narrowed)
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
