//! How the engine runs a query, read off its logical plan: where the window columns are added
//! (the compiler's window subqueries, and the session tables), the filter that keeps only the
//! windows closing in a run, and whether the query streams, closes windows or waits for the end.

use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{Column, Result};
use datafusion::logical_expr::{Expr, LogicalPlan, LogicalPlanBuilder};

const WINDOW_COLUMNS: [&str; 3] = ["window_start", "window_end", "window_time"];

/// The bounds of the windows a run emits, `after < window_end <= upto`: expressions the plan
/// evaluates at each execution.
pub(super) struct WindowFilter {
    pub after: Expr,
    pub upto: Expr,
}

/// How a query is run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Shape {
    /// No windows, one input, only projections and filters: each batch's result at once.
    Streaming,
    /// Every table read is windowed: windows are emitted as the watermark closes them.
    Windowed,
    /// Anything else (joins of streams, OVER aggregations…): buffered, run once at the end.
    AtFinish,
}

/// One table scan: the table and whether it is read through a window.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Scan {
    pub table: String,
    pub windowed: bool,
}

/// What [`prepare`] learns.
pub(super) struct Prepared {
    pub plan: LogicalPlan,
    pub shape: Shape,
    pub scans: Vec<Scan>,
}

fn has_window_columns(plan: &LogicalPlan) -> bool {
    let fields = plan.schema().fields();
    WINDOW_COLUMNS
        .iter()
        .all(|c| fields.iter().any(|f| f.name() == c))
}

/// The node of a window subquery that adds the window columns to its table's rows.
fn adds_windows(plan: &LogicalPlan) -> bool {
    !matches!(plan, LogicalPlan::TableScan(_))
        && has_window_columns(plan)
        && plan.inputs().iter().all(|input| !has_window_columns(input))
}

/// Adds `after < window_end <= upto` above every window subquery.
fn filter_windows(plan: LogicalPlan, filter: &WindowFilter) -> Result<LogicalPlan> {
    plan.transform_up(|node| {
        if !adds_windows(&node) {
            return Ok(Transformed::no(node));
        }
        let end = || Expr::Column(Column::new_unqualified("window_end"));
        let predicate = end()
            .gt(filter.after.clone())
            .and(end().lt_eq(filter.upto.clone()));
        let filtered = LogicalPlanBuilder::from(node).filter(predicate)?.build()?;
        Ok(Transformed::yes(filtered))
    })
    .map(|t| t.data)
}

fn scans(plan: &LogicalPlan, windowed: bool, session_tables: &[String], out: &mut Vec<Scan>) {
    let windowed = windowed || adds_windows(plan);
    if let LogicalPlan::TableScan(scan) = plan {
        let table = scan.table_name.table().to_string();
        let windowed = windowed || session_tables.contains(&table);
        out.push(Scan { table, windowed });
    }
    for input in plan.inputs() {
        scans(input, windowed, session_tables, out);
    }
}

/// Whether the plan only projects and filters rows, one at a time, with no subquery.
fn row_by_row(plan: &LogicalPlan) -> bool {
    let mut simple = true;
    let visited = plan.apply_with_subqueries(|node| {
        simple &= matches!(
            node,
            LogicalPlan::Projection(_)
                | LogicalPlan::Filter(_)
                | LogicalPlan::SubqueryAlias(_)
                | LogicalPlan::TableScan(_)
                | LogicalPlan::Unnest(_)
        );
        Ok(if simple {
            TreeNodeRecursion::Continue
        } else {
            TreeNodeRecursion::Stop
        })
    });
    simple && visited.is_ok()
}

fn count_scans(plan: &LogicalPlan) -> usize {
    let mut count = 0;
    let _ = plan.apply_with_subqueries(|node| {
        count += usize::from(matches!(node, LogicalPlan::TableScan(_)));
        Ok(TreeNodeRecursion::Continue)
    });
    count
}

/// Reads the shape of `plan` (as planned from the SQL, not optimized yet) and adds the window
/// filter, if any.
pub(super) fn prepare(
    plan: LogicalPlan,
    filter: Option<&WindowFilter>,
    session_tables: &[String],
) -> Result<Prepared> {
    let mut found = Vec::new();
    scans(&plan, false, session_tables, &mut found);
    let windowed = found.iter().filter(|s| s.windowed).count();
    let every_scan_seen = count_scans(&plan) == found.len();
    let shape = if windowed > 0 && windowed == found.len() && every_scan_seen {
        Shape::Windowed
    } else if windowed == 0 && found.len() == 1 && row_by_row(&plan) {
        Shape::Streaming
    } else {
        Shape::AtFinish
    };
    let plan = match filter {
        Some(filter) => filter_windows(plan, filter)?,
        None => plan,
    };
    Ok(Prepared {
        plan,
        shape,
        scans: found,
    })
}
