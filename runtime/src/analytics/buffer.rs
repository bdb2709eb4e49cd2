//! The buffered rows of one input table: Arrow batches as pushed (minus late rows), each with
//! its event times and their range, so that whole batches are taken or kept without a copy and
//! only the batches a cut falls into are filtered.

use datafusion::arrow::array::{Array, AsArray, BooleanArray, Scalar, TimestampMillisecondArray};
use datafusion::arrow::compute::kernels::cmp;
use datafusion::arrow::compute::{self, FilterBuilder};
use datafusion::arrow::datatypes::{DataType, TimeUnit, TimestampMillisecondType};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::RecordBatch;

/// The event times of `batch`'s column `index`, as UTC epoch milliseconds.
pub(super) fn event_times(
    batch: &RecordBatch,
    index: usize,
) -> Result<TimestampMillisecondArray, ArrowError> {
    let column = batch.column(index);
    let tz = match column.data_type() {
        DataType::Timestamp(_, tz) => tz.clone(),
        other => {
            return Err(ArrowError::CastError(format!(
                "the event time is a {other}, not a timestamp"
            )))
        }
    };
    let ms = compute::cast(column, &DataType::Timestamp(TimeUnit::Millisecond, tz))?;
    Ok(ms
        .as_primitive::<TimestampMillisecondType>()
        .clone()
        .with_timezone_opt(None::<String>))
}

/// Which of the event times `ts` are before `cut` (null where `ts` is null).
pub(super) fn before(ts: &TimestampMillisecondArray, cut: i64) -> Result<BooleanArray, ArrowError> {
    cmp::lt(ts, &Scalar::new(TimestampMillisecondArray::from(vec![cut])))
}

/// One buffered batch; `ts` holds its event times (none null) when the table has windows.
#[derive(Clone, Debug)]
struct Buffered {
    batch: RecordBatch,
    ts: Option<TimestampMillisecondArray>,
    min: i64,
    max: i64,
}

impl Buffered {
    fn new(batch: RecordBatch, ts: Option<TimestampMillisecondArray>) -> Self {
        let (min, max) = match &ts {
            Some(ts) => (
                compute::min(ts).unwrap_or(i64::MAX),
                compute::max(ts).unwrap_or(i64::MIN),
            ),
            None => (i64::MIN, i64::MAX),
        };
        Buffered {
            batch,
            ts,
            min,
            max,
        }
    }

    /// The rows matching `mask`, with their event times.
    fn filtered(&self, mask: &BooleanArray) -> Result<Buffered, ArrowError> {
        let filter = FilterBuilder::new(mask).optimize().build();
        let batch = filter.filter_record_batch(&self.batch)?;
        let ts = match &self.ts {
            Some(ts) => Some(filter.filter(ts)?.as_primitive().clone()),
            None => None,
        };
        Ok(Buffered::new(batch, ts))
    }
}

/// The rows of one table waiting for their windows to close (or for the end of the input).
#[derive(Clone, Debug, Default)]
pub(super) struct TableBuffer {
    batches: Vec<Buffered>,
    rows: usize,
}

impl TableBuffer {
    /// Buffers `batch`; `ts` are its event times when the table has windows (none null).
    pub fn push(&mut self, batch: RecordBatch, ts: Option<TimestampMillisecondArray>) {
        if batch.num_rows() == 0 {
            return;
        }
        self.rows += batch.num_rows();
        self.batches.push(Buffered::new(batch, ts));
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The smallest buffered event time.
    pub fn min_ts(&self) -> Option<i64> {
        self.batches.iter().map(|b| b.min).min()
    }

    /// The rows with `ts < select`; afterwards only the rows with `ts >= evict` stay buffered
    /// (`evict <= select`).
    pub fn split(&mut self, select: i64, evict: i64) -> Result<Vec<RecordBatch>, ArrowError> {
        let mut selected = Vec::new();
        let mut kept = Vec::with_capacity(self.batches.len());
        for buffered in std::mem::take(&mut self.batches) {
            let Some(ts) = &buffered.ts else {
                kept.push(buffered);
                continue;
            };
            if buffered.max < select {
                selected.push(buffered.batch.clone());
            } else if buffered.min < select {
                selected.push(buffered.filtered(&before(ts, select)?)?.batch);
            }
            if buffered.min >= evict {
                kept.push(buffered);
            } else if buffered.max >= evict {
                let at_or_after = cmp::gt_eq(
                    ts,
                    &Scalar::new(TimestampMillisecondArray::from(vec![evict])),
                )?;
                kept.push(buffered.filtered(&at_or_after)?);
            }
        }
        self.rows = kept.iter().map(|b| b.batch.num_rows()).sum();
        self.batches = kept;
        Ok(selected)
    }

    /// Every buffered row, in one batch with its event times (`None` when nothing is buffered).
    pub fn concat(&self) -> Result<Option<(RecordBatch, TimestampMillisecondArray)>, ArrowError> {
        let Some(first) = self.batches.first() else {
            return Ok(None);
        };
        let batches: Vec<&RecordBatch> = self.batches.iter().map(|b| &b.batch).collect();
        let batch = compute::concat_batches(&first.batch.schema(), batches)?;
        let times: Vec<&dyn Array> = self
            .batches
            .iter()
            .filter_map(|b| b.ts.as_ref().map(|ts| ts as &dyn Array))
            .collect();
        if times.len() != self.batches.len() {
            return Err(ArrowError::InvalidArgumentError(
                "a buffered batch has no event times".into(),
            ));
        }
        let ts = compute::concat(&times)?.as_primitive().clone();
        Ok(Some((batch, ts)))
    }

    /// Replaces the buffer with the rows of `batch` that `keep` marks.
    pub fn replace(
        &mut self,
        batch: &RecordBatch,
        ts: TimestampMillisecondArray,
        keep: &BooleanArray,
    ) -> Result<(), ArrowError> {
        let kept = Buffered::new(batch.clone(), Some(ts)).filtered(keep)?;
        self.batches.clear();
        self.rows = 0;
        self.push(kept.batch, kept.ts);
        Ok(())
    }

    /// Every buffered row; the buffer is empty afterwards.
    pub fn take_all(&mut self) -> Vec<RecordBatch> {
        self.rows = 0;
        std::mem::take(&mut self.batches)
            .into_iter()
            .map(|b| b.batch)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::Int64Array;
    use datafusion::arrow::datatypes::{Field, Schema};

    use super::*;

    fn batch(ts: &[i64]) -> (RecordBatch, TimestampMillisecondArray) {
        let schema = Arc::new(Schema::new(vec![
            Field::new("n", DataType::Int64, false),
            Field::new(
                "ts",
                DataType::Timestamp(TimeUnit::Millisecond, None),
                false,
            ),
        ]));
        let times = TimestampMillisecondArray::from(ts.to_vec());
        let columns: Vec<Arc<dyn Array>> = vec![
            Arc::new(Int64Array::from(ts.to_vec())),
            Arc::new(times.clone()),
        ];
        match RecordBatch::try_new(schema, columns) {
            Ok(b) => (b, times),
            Err(e) => panic!("{e}"),
        }
    }

    fn values(batches: &[RecordBatch]) -> Vec<i64> {
        batches
            .iter()
            .flat_map(|b| {
                b.column(0)
                    .as_primitive::<datafusion::arrow::datatypes::Int64Type>()
                    .values()
                    .to_vec()
            })
            .collect()
    }

    #[test]
    fn split_selects_below_one_cut_and_keeps_from_another() -> Result<(), ArrowError> {
        let mut buffer = TableBuffer::default();
        for ts in [&[1, 5, 3][..], &[10, 12], &[7, 20]] {
            let (b, t) = batch(ts);
            buffer.push(b, Some(t));
        }
        assert_eq!(buffer.rows(), 7);
        assert_eq!(buffer.min_ts(), Some(1));
        let selected = buffer.split(11, 4)?;
        assert_eq!(values(&selected), [1, 5, 3, 10, 7]);
        assert_eq!(buffer.rows(), 5);
        assert_eq!(buffer.min_ts(), Some(5));
        let event_times = event_times(&batch(&[4]).0, 1)?;
        assert_eq!(event_times.value(0), 4);
        let (all, ts) = buffer
            .concat()?
            .ok_or(ArrowError::MemoryError("empty".into()))?;
        assert_eq!(values(&[all]), [5, 10, 12, 7, 20]);
        assert_eq!(ts.len(), 5);
        assert_eq!(values(&buffer.take_all()), [5, 10, 12, 7, 20]);
        assert_eq!(buffer.rows(), 0);
        Ok(())
    }
}
