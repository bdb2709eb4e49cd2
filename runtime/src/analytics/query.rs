//! The DataFusion side of the engine: the SQL planned once, down to a physical plan over
//! tables whose contents each run swaps ([`super::swap`]); a run fills the tables, sets the
//! window bounds, executes on the engine's current-thread tokio runtime and casts the result to
//! the output schema.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::AtomicI64;
use std::sync::{Arc, Mutex};

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::compute::{can_cast_types, cast_with_options, CastOptions};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::{RecordBatch, RecordBatchOptions};
use datafusion::error::DataFusionError;
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{LogicalPlan, ScalarUDF};
use datafusion::physical_plan::execution_plan::reset_plan_states;
use datafusion::physical_plan::{collect, ExecutionPlan};
use datafusion::prelude::{SessionConfig, SessionContext};

use super::config::AnalyticsConfig;
use super::error::AnalyticsError;
use super::session::session_schema;
use super::shape::{self, Scan, Shape, WindowFilter};
use super::swap::{Bound, Contents, Reads, SwapTable};
use super::WindowKind;

/// One analytics node's query, planned.
pub(super) struct Query {
    analytics: String,
    runtime: tokio::runtime::Runtime,
    plan: Arc<dyn ExecutionPlan>,
    task: Arc<TaskContext>,
    /// The contents of every table the SQL may read, by name.
    tables: HashMap<String, Contents>,
    /// Each table's schema and the columns the plan reads of it.
    reads: HashMap<String, (SchemaRef, Arc<Mutex<Reads>>)>,
    /// The bounds of the windows a run emits: `after < window_end <= upto`.
    after: Arc<AtomicI64>,
    upto: Arc<AtomicI64>,
    /// For each output field, the plan column it comes from.
    columns: Vec<usize>,
    output_schema: SchemaRef,
    pub shape: Shape,
    pub scans: Vec<Scan>,
}

impl Query {
    pub fn new(config: &AnalyticsConfig) -> Result<Self, AnalyticsError> {
        let analytics = config.name.clone();
        let query_error = |e: DataFusionError| AnalyticsError::Query {
            analytics: analytics.clone(),
            message: e.to_string(),
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .map_err(|e| AnalyticsError::Query {
                analytics: analytics.clone(),
                message: format!("cannot start a tokio runtime: {e}"),
            })?;
        let ctx = context();
        let mut tables = HashMap::new();
        let mut reads = HashMap::new();
        let mut add = |name: &str, schema: SchemaRef| -> Result<(), AnalyticsError> {
            let table = SwapTable::new(Arc::clone(&schema));
            tables.insert(name.to_string(), table.contents());
            reads.insert(name.to_string(), (schema, table.reads()));
            ctx.register_table(name, Arc::new(table))
                .map(|_| ())
                .map_err(query_error)
        };
        for input in &config.inputs {
            add(&input.table, Arc::clone(&input.schema))?;
        }
        let mut session_tables = Vec::new();
        for window in &config.windows {
            let (Some(name), Some(input)) = (
                &window.session_table,
                config.inputs.iter().find(|i| i.table == window.table),
            ) else {
                continue;
            };
            add(name, session_schema(&input.schema))?;
            session_tables.push(name.clone());
        }
        let (after, upto) = (
            Arc::new(AtomicI64::new(i64::MIN)),
            Arc::new(AtomicI64::new(i64::MAX)),
        );
        // TUMBLE and SESSION rows belong to one window each: the rows a run reads are exactly
        // those of the windows that close. HOP and CUMULATE rows belong to open windows too.
        let bounded = config
            .windows
            .iter()
            .any(|w| matches!(w.kind, WindowKind::Hop | WindowKind::Cumulate));
        let filter = bounded.then(|| WindowFilter {
            after: ScalarUDF::new_from_impl(Bound::new("kin_window_after", Arc::clone(&after)))
                .call(Vec::new()),
            upto: ScalarUDF::new_from_impl(Bound::new("kin_window_upto", Arc::clone(&upto)))
                .call(Vec::new()),
        });
        let state = ctx.state();
        let sql = config.sql.clone();
        let planning = state.clone();
        let logical = block_on(
            &runtime,
            async move { planning.create_logical_plan(&sql).await },
        )
        .map_err(|message| AnalyticsError::Query {
            analytics: analytics.clone(),
            message,
        })?
        .map_err(query_error)?;
        let prepared =
            shape::prepare(logical, filter.as_ref(), &session_tables).map_err(query_error)?;
        let columns =
            output_columns(&prepared.plan, &config.output_schema).map_err(|problems| {
                AnalyticsError::Config {
                    analytics: analytics.clone(),
                    problems,
                }
            })?;
        let planning = state.clone();
        let logical = prepared.plan;
        let plan = block_on(&runtime, async move {
            planning.create_physical_plan(&logical).await
        })
        .map_err(|message| AnalyticsError::Query {
            analytics: analytics.clone(),
            message,
        })?
        .map_err(query_error)?;
        Ok(Query {
            analytics,
            runtime,
            plan,
            task: state.task_ctx(),
            tables,
            reads,
            after,
            upto,
            columns,
            output_schema: Arc::clone(&config.output_schema),
            shape: prepared.shape,
            scans: prepared.scans,
        })
    }

    /// Runs the query over `contents` (every other table empty), keeping the windows with
    /// `after < window_end <= upto`; the result fits the output schema.
    pub fn run(
        &self,
        contents: Vec<(String, Vec<RecordBatch>)>,
        after: i64,
        upto: i64,
    ) -> Result<Vec<RecordBatch>, AnalyticsError> {
        let mut contents: HashMap<String, Vec<RecordBatch>> = contents.into_iter().collect();
        for (table, slot) in &self.tables {
            let mut slot = slot.lock().map_err(|e| self.error(e.to_string()))?;
            *slot = contents.remove(table).unwrap_or_default();
        }
        Bound::set(&self.after, after);
        Bound::set(&self.upto, upto);
        let plan = reset_plan_states(Arc::clone(&self.plan));
        let task = Arc::clone(&self.task);
        let results = match plan {
            Ok(plan) => block_on(&self.runtime, collect(plan, task)),
            Err(e) => Ok(Err(e)),
        };
        for slot in self.tables.values() {
            if let Ok(mut slot) = slot.lock() {
                slot.clear();
            }
        }
        let batches = results
            .map_err(|e| self.error(e))?
            .map_err(|e| self.error(e.to_string()))?;
        batches
            .iter()
            .filter(|b| b.num_rows() > 0)
            .map(|b| self.conform(b))
            .collect()
    }

    /// The columns of `table` the plan reads, by name, in the table's order; `None` when it
    /// reads every column (or has no such table).
    pub fn columns_read(&self, table: &str) -> Option<Vec<String>> {
        let (schema, reads) = self.reads.get(table)?;
        let reads = reads.lock().ok()?;
        if reads.all {
            return None;
        }
        Some(
            reads
                .columns
                .iter()
                .filter_map(|&i| schema.fields().get(i).map(|f| f.name().clone()))
                .collect(),
        )
    }

    fn error(&self, message: String) -> AnalyticsError {
        AnalyticsError::Query {
            analytics: self.analytics.clone(),
            message,
        }
    }

    /// The output columns of `batch`, cast to the output schema (e.g. a DOUBLE `AVG` of a
    /// BIGINT to BIGINT, truncated as Flink's is).
    fn conform(&self, batch: &RecordBatch) -> Result<RecordBatch, AnalyticsError> {
        let options = CastOptions {
            safe: false,
            ..Default::default()
        };
        let output_error = |message: String| AnalyticsError::Output {
            analytics: self.analytics.clone(),
            message,
        };
        let columns = self
            .columns
            .iter()
            .zip(self.output_schema.fields())
            .map(|(&i, field)| {
                let column = batch.column(i);
                if column.data_type() == field.data_type() {
                    Ok(Arc::clone(column))
                } else {
                    cast_with_options(column, field.data_type(), &options)
                        .map_err(|e| output_error(format!("column \"{}\": {e}", field.name())))
                }
            })
            .collect::<Result<Vec<ArrayRef>, _>>()?;
        let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
        RecordBatch::try_new_with_options(Arc::clone(&self.output_schema), columns, &options)
            .map_err(|e| output_error(e.to_string()))
    }
}

fn context() -> SessionContext {
    // One partition: a run reads a few windows' rows on one thread; repartitioning would only
    // add work. Identifiers keep their case, as in Flink; strings stay Utf8, as kin types them.
    // No dynamic filters: the physical plan is executed again and again.
    let mut config = SessionConfig::new().with_target_partitions(1);
    let options = config.options_mut();
    options.sql_parser.enable_ident_normalization = false;
    options.sql_parser.map_string_types_to_utf8view = false;
    options.optimizer.enable_dynamic_filter_pushdown = false;
    options.optimizer.enable_join_dynamic_filter_pushdown = false;
    options.optimizer.enable_topk_dynamic_filter_pushdown = false;
    options.optimizer.enable_aggregate_dynamic_filter_pushdown = false;
    SessionContext::new_with_config(config)
}

/// For each output field, the index of the plan column of the same name.
fn output_columns(plan: &LogicalPlan, output: &SchemaRef) -> Result<Vec<usize>, Vec<String>> {
    let fields = plan.schema().fields();
    let mut problems = Vec::new();
    let mut columns = Vec::new();
    for field in output.fields() {
        match fields.iter().position(|f| f.name() == field.name()) {
            Some(i) if can_cast_types(fields[i].data_type(), field.data_type()) => columns.push(i),
            Some(i) => problems.push(format!(
                "the query's column \"{}\" is a {}, which cannot become the output's {}",
                field.name(),
                fields[i].data_type(),
                field.data_type()
            )),
            None => problems.push(format!(
                "the output field \"{}\" is not a column of the query",
                field.name()
            )),
        }
    }
    for field in fields {
        if output.field_with_name(field.name()).is_err() {
            problems.push(format!(
                "the query's column \"{}\" is not a field of the output",
                field.name()
            ));
        }
    }
    if problems.is_empty() {
        Ok(columns)
    } else {
        Err(problems)
    }
}

/// Runs `future` on `runtime`; from inside another runtime (where blocking on one panics),
/// on a scoped thread of its own.
fn block_on<F>(runtime: &tokio::runtime::Runtime, future: F) -> Result<F::Output, String>
where
    F: Future + Send,
    F::Output: Send,
{
    if tokio::runtime::Handle::try_current().is_err() {
        return Ok(runtime.block_on(future));
    }
    std::thread::scope(|scope| {
        scope
            .spawn(|| runtime.block_on(future))
            .join()
            .map_err(|_| "the query panicked".to_string())
    })
}
