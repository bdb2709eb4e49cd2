//! In-memory tables whose contents change between executions of one physical plan: the engine
//! plans its query once and, before each run, puts the rows of that run into these tables.
//! Also the two functions the window filter reads the run's bounds from.

use std::collections::BTreeSet;
use std::fmt;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use datafusion::arrow::datatypes::{DataType, SchemaRef, TimeUnit};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{project_schema, Result, ScalarValue};
use datafusion::error::DataFusionError;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{
    ColumnarValue, Expr, ScalarFunctionArgs, ScalarUDFImpl, Signature, TableType, Volatility,
};
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::memory::MemoryStream;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
};

/// The rows of one table for the current run.
pub(super) type Contents = Arc<Mutex<Vec<RecordBatch>>>;

/// The columns the scans of a table were planned to read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Reads {
    /// A scan reads every column.
    pub all: bool,
    /// The columns (schema indices) the other scans read.
    pub columns: BTreeSet<usize>,
}

/// A table whose scans read its contents when they execute, not when they are planned.
#[derive(Debug)]
pub(super) struct SwapTable {
    schema: SchemaRef,
    contents: Contents,
    reads: Arc<Mutex<Reads>>,
}

impl SwapTable {
    pub fn new(schema: SchemaRef) -> Self {
        SwapTable {
            schema,
            contents: Contents::default(),
            reads: Arc::default(),
        }
    }

    pub fn contents(&self) -> Contents {
        Arc::clone(&self.contents)
    }

    /// What the scans planned so far read, kept up to date by later plans.
    pub fn reads(&self) -> Arc<Mutex<Reads>> {
        Arc::clone(&self.reads)
    }
}

type PlanFuture<'a> = Pin<Box<dyn Future<Output = Result<Arc<dyn ExecutionPlan>>> + Send + 'a>>;

// `TableProvider` is an `async_trait`; this is the signature that macro gives `scan`.
impl TableProvider for SwapTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn scan<'life0, 'life1, 'life2, 'life3, 'async_trait>(
        &'life0 self,
        _state: &'life1 dyn Session,
        projection: Option<&'life2 Vec<usize>>,
        _filters: &'life3 [Expr],
        _limit: Option<usize>,
    ) -> PlanFuture<'async_trait>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        'life3: 'async_trait,
        Self: 'async_trait,
    {
        if let Ok(mut reads) = self.reads.lock() {
            match projection {
                Some(columns) => reads.columns.extend(columns.iter().copied()),
                None => reads.all = true,
            }
        }
        let scan = SwapExec::new(
            Arc::clone(&self.contents),
            &self.schema,
            projection.cloned(),
        );
        Box::pin(std::future::ready(
            scan.map(|s| Arc::new(s) as Arc<dyn ExecutionPlan>),
        ))
    }
}

/// The scan of a [`SwapTable`]: one partition, the table's contents at execution.
#[derive(Debug)]
struct SwapExec {
    contents: Contents,
    projection: Option<Vec<usize>>,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
}

impl SwapExec {
    fn new(contents: Contents, table: &SchemaRef, projection: Option<Vec<usize>>) -> Result<Self> {
        let schema = project_schema(table, projection.as_ref())?;
        let properties = PlanProperties::new(
            EquivalenceProperties::new(Arc::clone(&schema)),
            Partitioning::UnknownPartitioning(1),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        Ok(SwapExec {
            contents,
            projection,
            schema,
            properties: Arc::new(properties),
        })
    }
}

impl DisplayAs for SwapExec {
    fn fmt_as(&self, _: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SwapExec: projection={:?}", self.projection)
    }
}

impl ExecutionPlan for SwapExec {
    fn name(&self) -> &str {
        "SwapExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        Vec::new()
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        _children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn execute(
        &self,
        _partition: usize,
        _context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let batches = self
            .contents
            .lock()
            .map_err(|_| DataFusionError::Internal("a table's contents are poisoned".into()))?
            .clone();
        let stream =
            MemoryStream::try_new(batches, Arc::clone(&self.schema), self.projection.clone())?;
        Ok(Box::pin(stream))
    }
}

/// A function of no arguments returning one of the run's window bounds (epoch ms): volatile,
/// so the plan reads it at each execution.
#[derive(Debug)]
pub(super) struct Bound {
    name: &'static str,
    value: Arc<AtomicI64>,
    signature: Signature,
}

impl Bound {
    pub fn new(name: &'static str, value: Arc<AtomicI64>) -> Self {
        Bound {
            name,
            value,
            signature: Signature::nullary(Volatility::Volatile),
        }
    }

    pub fn set(value: &AtomicI64, ms: i64) {
        value.store(ms, Ordering::Relaxed);
    }
}

impl PartialEq for Bound {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && Arc::ptr_eq(&self.value, &other.value)
    }
}

impl Eq for Bound {}

impl Hash for Bound {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl ScalarUDFImpl for Bound {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Timestamp(TimeUnit::Millisecond, None))
    }

    fn invoke_with_args(&self, _args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let ms = self.value.load(Ordering::Relaxed);
        Ok(ColumnarValue::Scalar(ScalarValue::TimestampMillisecond(
            Some(ms),
            None,
        )))
    }
}
