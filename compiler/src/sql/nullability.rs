//! Nullability as Flink infers it. DataFusion marks every scalar function's result nullable;
//! Flink (Calcite) keeps a function's result non-null when its arguments are, and a grouped
//! SUM/AVG/MIN/MAX of a non-null column non-null. kin recomputes each output column's
//! nullability over the logical plan with those rules, falling back to DataFusion's answer.

use datafusion::arrow::datatypes::DataType;
use datafusion::logical_expr::{Expr, ExprSchemable, JoinType, LogicalPlan};

use crate::ir::types::Type;

/// Scalar functions that return null only when an argument is null.
const NULL_IN_NULL_OUT: &[&str] = &[
    "lower",
    "upper",
    "trim",
    "btrim",
    "ltrim",
    "rtrim",
    "abs",
    "round",
    "floor",
    "ceil",
    "trunc",
    "sqrt",
    "power",
    "ln",
    "log",
    "log10",
    "exp",
    "signum",
    "date_bin",
    "date_trunc",
    "date_part",
    "to_char",
    "character_length",
    "char_length",
    "length",
    "substr",
    "substring",
    "replace",
    "split_part",
    "lpad",
    "rpad",
    "left",
    "right",
    "initcap",
    "reverse",
    "strpos",
    "starts_with",
    "ends_with",
    "md5",
    "to_timestamp_millis",
    "make_array",
];
/// Aggregates that are never null over a non-empty group.
const NEVER_NULL_AGGREGATES: &[&str] = &["count", "approx_distinct"];
/// Aggregates whose result is null only when their argument is (over a non-empty group).
const ARGUMENT_NULL_AGGREGATES: &[&str] =
    &["sum", "avg", "min", "max", "first_value", "last_value"];

/// Nullability of each output column of `plan`, in schema order.
pub(super) fn of(plan: &LogicalPlan) -> Vec<bool> {
    let fallback = || {
        plan.schema()
            .fields()
            .iter()
            .map(|f| f.is_nullable())
            .collect::<Vec<_>>()
    };
    match plan {
        LogicalPlan::Projection(p) => {
            let input = of(&p.input);
            p.expr
                .iter()
                .zip(fallback())
                .map(|(e, df)| expr(e, &p.input, &input).unwrap_or(df))
                .collect()
        }
        LogicalPlan::Aggregate(a) => {
            let input = of(&a.input);
            let grouped = !a.group_expr.is_empty();
            let df = fallback();
            let group = a.group_expr.iter().map(|e| expr(e, &a.input, &input));
            let aggregates = a
                .aggr_expr
                .iter()
                .map(|e| aggregate(e, &a.input, &input, grouped));
            group
                .chain(aggregates)
                .zip(df)
                .map(|(ours, df)| ours.unwrap_or(df))
                .collect()
        }
        LogicalPlan::Filter(f) => of(&f.input),
        LogicalPlan::SubqueryAlias(s) => of(&s.input),
        LogicalPlan::Sort(s) => of(&s.input),
        LogicalPlan::Limit(l) => of(&l.input),
        LogicalPlan::Union(u) => {
            let inputs: Vec<Vec<bool>> = u.inputs.iter().map(|i| of(i)).collect();
            fallback()
                .iter()
                .enumerate()
                .map(|(i, df)| inputs.iter().any(|n| n.get(i).copied().unwrap_or(*df)))
                .collect()
        }
        LogicalPlan::Join(j) => {
            let (left_outer, right_outer) = match j.join_type {
                JoinType::Left => (false, true),
                JoinType::Right => (true, false),
                JoinType::Full => (true, true),
                _ => (false, false),
            };
            let left = of(&j.left).into_iter().map(|n| n || left_outer);
            let right = of(&j.right).into_iter().map(|n| n || right_outer);
            let ours: Vec<bool> = left.chain(right).collect();
            if ours.len() == plan.schema().fields().len() {
                ours
            } else {
                fallback()
            }
        }
        _ => fallback(),
    }
}

/// Nullability of a scalar expression over `input`; `None` when kin has no better answer.
fn expr(e: &Expr, input: &LogicalPlan, nullable: &[bool]) -> Option<bool> {
    match e {
        Expr::Alias(a) => expr(&a.expr, input, nullable),
        Expr::Column(c) => input
            .schema()
            .index_of_column(c)
            .ok()
            .and_then(|i| nullable.get(i).copied()),
        Expr::Literal(value, _) => Some(value.is_null()),
        Expr::Cast(c) => expr(&c.expr, input, nullable),
        Expr::BinaryExpr(b) => {
            Some(expr(&b.left, input, nullable)? || expr(&b.right, input, nullable)?)
        }
        Expr::Not(inner) | Expr::Negative(inner) => expr(inner, input, nullable),
        Expr::IsNull(_) | Expr::IsNotNull(_) | Expr::IsTrue(_) | Expr::IsFalse(_) => Some(false),
        Expr::Case(case) => {
            let otherwise = case
                .else_expr
                .as_ref()
                .map_or(Some(true), |e| expr(e, input, nullable))?;
            let mut any = otherwise;
            for (_, then) in &case.when_then_expr {
                any |= expr(then, input, nullable)?;
            }
            Some(any)
        }
        Expr::ScalarFunction(f) => {
            let name = f.func.name().to_ascii_lowercase();
            if name == "coalesce" || name == "nvl" {
                let mut all = true;
                for arg in &f.args {
                    all &= expr(arg, input, nullable)?;
                }
                Some(all)
            } else if NULL_IN_NULL_OUT.contains(&name.as_str()) {
                let mut any = false;
                for arg in &f.args {
                    any |= expr(arg, input, nullable)?;
                }
                Some(any)
            } else {
                None
            }
        }
        _ => None,
    }
}

fn aggregate(e: &Expr, input: &LogicalPlan, nullable: &[bool], grouped: bool) -> Option<bool> {
    match e {
        Expr::Alias(a) => aggregate(&a.expr, input, nullable, grouped),
        Expr::AggregateFunction(f) => {
            let name = f.func.name().to_ascii_lowercase();
            if NEVER_NULL_AGGREGATES.contains(&name.as_str()) {
                Some(false)
            } else if grouped
                && f.params.filter.is_none()
                && ARGUMENT_NULL_AGGREGATES.contains(&name.as_str())
            {
                let arg = f.params.args.first()?;
                expr(arg, input, nullable)
            } else {
                None
            }
        }
        _ => None,
    }
}

/// Output column types where Flink differs from DataFusion (read off the plan *before* type
/// coercion, which casts an AVG's integer argument to DOUBLE): `AVG` of an integer is an integer
/// (truncated), `SUM` of a decimal is `DECIMAL(38, s)` and `AVG` of one `DECIMAL(38, max(6, s))`.
pub(super) fn flink_types(plan: &LogicalPlan) -> Vec<Option<Type>> {
    let none = || vec![None; plan.schema().fields().len()];
    match plan {
        LogicalPlan::Projection(p) => {
            let input = flink_types(&p.input);
            p.expr
                .iter()
                .map(|e| passes_through(e, &p.input, &input))
                .collect()
        }
        LogicalPlan::Aggregate(a) => {
            let input = flink_types(&a.input);
            let group = a
                .group_expr
                .iter()
                .map(|e| passes_through(e, &a.input, &input));
            let aggregates = a.aggr_expr.iter().map(|e| aggregate_type(e, &a.input));
            let out: Vec<Option<Type>> = group.chain(aggregates).collect();
            if out.len() == plan.schema().fields().len() {
                out
            } else {
                none()
            }
        }
        LogicalPlan::Filter(f) => flink_types(&f.input),
        LogicalPlan::SubqueryAlias(s) => flink_types(&s.input),
        LogicalPlan::Sort(s) => flink_types(&s.input),
        LogicalPlan::Limit(l) => flink_types(&l.input),
        _ => none(),
    }
}

/// A column (possibly aliased) that refers to an overridden column of the input.
fn passes_through(e: &Expr, input: &LogicalPlan, types: &[Option<Type>]) -> Option<Type> {
    match e {
        Expr::Alias(a) => passes_through(&a.expr, input, types),
        Expr::Column(c) => input
            .schema()
            .index_of_column(c)
            .ok()
            .and_then(|i| types.get(i).cloned().flatten()),
        _ => None,
    }
}

fn aggregate_type(e: &Expr, input: &LogicalPlan) -> Option<Type> {
    match e {
        Expr::Alias(a) => aggregate_type(&a.expr, input),
        Expr::AggregateFunction(f) => {
            let name = f.func.name().to_ascii_lowercase();
            let arg = f.params.args.first()?.get_type(input.schema()).ok()?;
            match (name.as_str(), arg) {
                ("avg", t) if t.is_integer() => Some(Type::Int),
                ("sum", DataType::Decimal128(_, s)) if s >= 0 => Some(Type::Decimal {
                    precision: 38,
                    scale: s as u8,
                }),
                ("avg", DataType::Decimal128(_, s)) if s >= 0 => Some(Type::Decimal {
                    precision: 38,
                    scale: (s as u8).max(6),
                }),
                _ => None,
            }
        }
        _ => None,
    }
}
