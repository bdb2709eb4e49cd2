//! SESSION windows, computed by the engine (the SQL reads them from a session table).
//!
//! Per partition key, each row opens the window `[ts, ts + gap)`, and windows that touch merge
//! (Flink's `TimeWindow::intersects`: a row at `ts <= end` joins the session): a session runs
//! from its first event to its last event plus the gap, `window_time` being `window_end - 1ms`.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, BooleanArray, TimestampMillisecondArray, UInt32Array,
};
use datafusion::arrow::compute;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::row::{RowConverter, Rows, SortField};

/// The schema of a session table: the input's columns, then the three window columns.
pub(super) fn session_schema(input: &Schema) -> SchemaRef {
    let timestamp = DataType::Timestamp(TimeUnit::Millisecond, None);
    let mut fields: Vec<Arc<Field>> = input.fields().iter().cloned().collect();
    for name in ["window_start", "window_end", "window_time"] {
        fields.push(Arc::new(Field::new(name, timestamp.clone(), false)));
    }
    Arc::new(Schema::new(fields))
}

/// The sessions of some rows at a watermark.
pub(super) struct Sessions {
    /// The rows of the sessions that closed (`window_end <= watermark`), with the window
    /// columns, in the session table's schema; ordered by key, then event time.
    pub closed: RecordBatch,
    /// The rows of the sessions still open.
    pub open: BooleanArray,
}

/// One session window over `batch` (whose event times are `ts`, none null).
pub(super) struct SessionWindow<'a> {
    /// Indices of the `PARTITION BY` columns in `batch`.
    pub partition: &'a [usize],
    pub gap: i64,
    /// The session table's schema.
    pub schema: &'a SchemaRef,
}

impl SessionWindow<'_> {
    /// Splits the rows of `batch` into sessions, and those into closed and open ones.
    pub fn sessionize(
        &self,
        batch: &RecordBatch,
        ts: &TimestampMillisecondArray,
        watermark: i64,
    ) -> Result<Sessions, ArrowError> {
        let keys = self.keys(batch)?;
        let same_key = |a: usize, b: usize| keys.as_ref().is_none_or(|k| k.row(a) == k.row(b));
        let times = ts.values();
        let mut order: Vec<usize> = (0..batch.num_rows()).collect();
        order.sort_unstable_by(|&a, &b| {
            let by_key = match &keys {
                Some(k) => k.row(a).cmp(&k.row(b)),
                None => std::cmp::Ordering::Equal,
            };
            by_key.then(times[a].cmp(&times[b]))
        });
        let mut open = vec![false; order.len()];
        let (mut take, mut starts, mut ends) = (Vec::new(), Vec::new(), Vec::new());
        let mut i = 0;
        while let Some(&first) = order.get(i) {
            let start = times[first];
            let mut end = start.saturating_add(self.gap);
            let mut next = i + 1;
            while let Some(&row) = order.get(next) {
                if !same_key(row, first) || times[row] > end {
                    break;
                }
                end = end.max(times[row].saturating_add(self.gap));
                next += 1;
            }
            for &row in &order[i..next] {
                if end <= watermark {
                    take.push(u32::try_from(row).map_err(|_| too_many())?);
                    starts.push(start);
                    ends.push(end);
                } else {
                    open[row] = true;
                }
            }
            i = next;
        }
        let closed = self.with_windows(batch, &take, starts, ends)?;
        Ok(Sessions {
            closed,
            open: BooleanArray::from(open),
        })
    }

    fn keys(&self, batch: &RecordBatch) -> Result<Option<Rows>, ArrowError> {
        if self.partition.is_empty() {
            return Ok(None);
        }
        let columns: Vec<ArrayRef> = self
            .partition
            .iter()
            .map(|&i| Arc::clone(batch.column(i)))
            .collect();
        let fields = columns
            .iter()
            .map(|c| SortField::new(c.data_type().clone()))
            .collect();
        Ok(Some(RowConverter::new(fields)?.convert_columns(&columns)?))
    }

    fn with_windows(
        &self,
        batch: &RecordBatch,
        take: &[u32],
        starts: Vec<i64>,
        ends: Vec<i64>,
    ) -> Result<RecordBatch, ArrowError> {
        let indices = UInt32Array::from(take.to_vec());
        let rows = compute::take_record_batch(batch, &indices)?;
        let times: Vec<i64> = ends.iter().map(|&e| e.saturating_sub(1)).collect();
        let mut columns = rows.columns().to_vec();
        for values in [starts, ends, times] {
            columns.push(Arc::new(TimestampMillisecondArray::from(values)));
        }
        RecordBatch::try_new(Arc::clone(self.schema), columns)
    }
}

fn too_many() -> ArrowError {
    ArrowError::InvalidArgumentError("more than 2^32 rows buffered for one session table".into())
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{AsArray, StringArray};
    use datafusion::arrow::datatypes::TimestampMillisecondType;

    use super::*;

    fn input() -> (RecordBatch, TimestampMillisecondArray) {
        let schema = Arc::new(Schema::new(vec![
            Field::new("user", DataType::Utf8, false),
            Field::new(
                "ts",
                DataType::Timestamp(TimeUnit::Millisecond, None),
                false,
            ),
        ]));
        let users = StringArray::from(vec!["a", "b", "a", "a", "b", "a"]);
        let ts = TimestampMillisecondArray::from(vec![0, 5, 25, 10, 100, 200]);
        let columns: Vec<ArrayRef> = vec![Arc::new(users), Arc::new(ts.clone())];
        match RecordBatch::try_new(schema, columns) {
            Ok(b) => (b, ts),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn rows_within_a_gap_of_each_other_form_one_session_per_key() -> Result<(), ArrowError> {
        let (batch, ts) = input();
        let schema = session_schema(&batch.schema());
        let window = SessionWindow {
            partition: &[0],
            gap: 20,
            schema: &schema,
        };
        // a: 0, 10, 25 → [0, 45); 200 → [200, 220). b: 5 → [5, 25); 100 → [100, 120).
        let sessions = window.sessionize(&batch, &ts, 120)?;
        let closed = &sessions.closed;
        let users: Vec<&str> = closed
            .column(0)
            .as_string::<i32>()
            .iter()
            .flatten()
            .collect();
        assert_eq!(users, ["a", "a", "a", "b", "b"]);
        let column = |i: usize| {
            closed
                .column(i)
                .as_primitive::<TimestampMillisecondType>()
                .values()
                .to_vec()
        };
        assert_eq!(column(1), [0, 10, 25, 5, 100]);
        assert_eq!(column(2), [0, 0, 0, 5, 100]);
        assert_eq!(column(3), [45, 45, 45, 25, 120]);
        assert_eq!(column(4), [44, 44, 44, 24, 119]);
        let open: Vec<bool> = sessions.open.iter().flatten().collect();
        assert_eq!(open, [false, false, false, false, false, true]);
        // Without a key, b's 5 joins a's session; 100 is alone.
        let global = SessionWindow {
            partition: &[],
            gap: 20,
            schema: &schema,
        };
        let sessions = global.sessionize(&batch, &ts, 119)?;
        assert_eq!(sessions.closed.num_rows(), 4);
        Ok(())
    }
}
