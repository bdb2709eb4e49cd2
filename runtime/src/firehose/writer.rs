//! Where a delivery stream's objects are made and written: compressed (data objects),
//! encrypted when configured, and put to the sink — on the caller's thread, or on a thread of
//! their own so that compressing one buffer overlaps filling the next.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::compress::{gzip_into, Compression};
use crate::encrypt::{encrypt, LocalKey};
use crate::s3::ObjectSink;

use super::DeliveryError;

/// One object to write.
pub(super) struct Job {
    pub object_key: String,
    pub data: Vec<u8>,
    /// A data object (compressed as configured); error objects are written as they are.
    pub compress: bool,
    /// The object's time (a ZIP entry's date).
    pub modified_ms: i64,
}

/// How objects are made from jobs: compressed (data objects) and encrypted (when configured).
/// Shared by the threads that seal objects side by side.
pub(super) struct Sealer {
    pub compression: Compression,
    pub encryption: Option<LocalKey>,
}

impl Sealer {
    /// The object's bytes as stored; gzip is compressed into `scratch`, kept from one object
    /// to the next.
    fn seal<'s>(
        &self,
        job: &'s Job,
        scratch: &'s mut Vec<u8>,
    ) -> Result<Cow<'s, [u8]>, DeliveryError> {
        let object_key = job.object_key.as_str();
        let body: Cow<[u8]> = match self.compression {
            Compression::None => Cow::Borrowed(&job.data),
            _ if !job.compress => Cow::Borrowed(&job.data),
            Compression::Gzip => {
                let len = gzip_into(&job.data, scratch)?;
                Cow::Borrowed(&scratch[..len])
            }
            other => {
                let extension = other.extension();
                let base = object_key.rsplit('/').next().unwrap_or(object_key);
                let entry = base.strip_suffix(extension).unwrap_or(base);
                Cow::Owned(other.compress_object(&job.data, entry, job.modified_ms)?)
            }
        };
        Ok(match &self.encryption {
            Some(key) => Cow::Owned(encrypt(key, &body)?),
            None => body,
        })
    }
}

impl Sealer {
    /// [`Sealer::seal`], owned: `None` when the object is the job's data as it is.
    fn seal_owned(
        &self,
        job: &Job,
        scratch: &mut Vec<u8>,
    ) -> Result<Option<Vec<u8>>, DeliveryError> {
        let as_is =
            self.encryption.is_none() && (self.compression == Compression::None || !job.compress);
        if as_is {
            return Ok(None);
        }
        self.seal(job, scratch)
            .map(|sealed| Some(sealed.into_owned()))
    }
}

/// Makes and writes objects.
pub(super) struct Writer {
    pub sealer: Sealer,
    pub bucket: String,
    pub sink: Box<dyn ObjectSink>,
    /// Where gzip objects are compressed, kept from one object to the next.
    pub scratch: Vec<u8>,
}

impl Writer {
    /// Compresses (data objects), encrypts (when configured) and writes one object; returns the
    /// bytes stored.
    pub fn write(&mut self, job: &Job) -> Result<u64, DeliveryError> {
        let sealed = self.sealer.seal(job, &mut self.scratch)?;
        put(&mut *self.sink, &self.bucket, &job.object_key, &sealed)
    }
}

/// Puts one sealed object; returns the bytes stored.
fn put(
    sink: &mut dyn ObjectSink,
    bucket: &str,
    object_key: &str,
    sealed: &[u8],
) -> Result<u64, DeliveryError> {
    sink.put_object(bucket, object_key, sealed)
        .map_err(|source| DeliveryError::Sink {
            bucket: bucket.to_string(),
            key: object_key.to_string(),
            source,
        })?;
    Ok(sealed.len() as u64)
}

/// A finished job: what the caller attached to it, the job, and what writing it gave.
pub(super) type Done<T> = (T, Job, Result<u64, DeliveryError>);

/// What the writer is told.
enum Message<T> {
    Job(T, Job),
    /// Write again after a failure.
    Resume,
}

/// What a sealing thread hands the writing thread: a job and its object's bytes (`None`: the
/// job's data as it is), or a resume.
enum Sealed<T> {
    Job(T, Job, Result<Option<Vec<u8>>, DeliveryError>),
    Resume,
}

/// A [`Writer`] on threads of its own: objects are sealed (compressed, encrypted) on up to two
/// threads side by side — compression is what limits a firehose's throughput — and written
/// by a third in the order the jobs were sent. Jobs come back in that order. One job waits
/// while others are sealed, so at most five buffers (one being filled, one waiting, two being
/// sealed, one being written) are in memory. After a write fails, the jobs after it come back
/// unwritten until [`Background::resume`], so the caller can put them all back in order.
pub(super) struct Background<T> {
    /// Jobs, numbered in the order they are sent.
    jobs: Option<SyncSender<(u64, Message<T>)>>,
    sent: u64,
    done: Receiver<Done<T>>,
    threads: Vec<JoinHandle<()>>,
    /// Jobs sent and not yet taken back.
    pending: usize,
}

impl<T: Send + 'static> Background<T> {
    pub fn spawn(writer: Writer, name: &str) -> std::io::Result<Background<T>> {
        let Writer {
            sealer,
            bucket,
            mut sink,
            scratch: _,
        } = writer;
        let (jobs, inbox) = mpsc::sync_channel::<(u64, Message<T>)>(1);
        let inbox = Arc::new(Mutex::new(inbox));
        let (sealed_out, sealed) = mpsc::channel::<(u64, Sealed<T>)>();
        let (outbox, done) = mpsc::channel();
        let sealer = Arc::new(sealer);
        let sealers = std::thread::available_parallelism().map_or(1, |n| n.get().min(2));
        let mut threads = Vec::new();
        for index in 0..sealers {
            let (inbox, sealer, sealed_out) =
                (Arc::clone(&inbox), Arc::clone(&sealer), sealed_out.clone());
            let thread = std::thread::Builder::new()
                .name(format!("{name}-seal-{index}"))
                .spawn(move || {
                    let mut scratch = Vec::new();
                    loop {
                        // The lock is held only while waiting for the next job.
                        let next = inbox
                            .lock()
                            .map_err(drop)
                            .and_then(|inbox| inbox.recv().map_err(drop));
                        let Ok((number, message)) = next else {
                            return;
                        };
                        let item = match message {
                            Message::Job(tag, job) => {
                                let bytes = sealer.seal_owned(&job, &mut scratch);
                                Sealed::Job(tag, job, bytes)
                            }
                            Message::Resume => Sealed::Resume,
                        };
                        if sealed_out.send((number, item)).is_err() {
                            return;
                        }
                    }
                })?;
            threads.push(thread);
        }
        drop(sealed_out);
        let writer = std::thread::Builder::new()
            .name(format!("{name}-writer"))
            .spawn(move || {
                let mut failed: Option<String> = None;
                let mut next = 0;
                // Sealed out of turn, waiting for the ones before them.
                let mut early = BTreeMap::new();
                for (number, item) in sealed {
                    early.insert(number, item);
                    while let Some(item) = early.remove(&next) {
                        next += 1;
                        let (tag, job, bytes) = match item {
                            Sealed::Job(tag, job, bytes) => (tag, job, bytes),
                            Sealed::Resume => {
                                failed = None;
                                continue;
                            }
                        };
                        let result = match &failed {
                            Some(reason) => Err(not_written(reason)),
                            None => bytes.and_then(|bytes| {
                                let body = bytes.as_deref().unwrap_or(&job.data);
                                put(&mut *sink, &bucket, &job.object_key, body)
                            }),
                        };
                        if let Err(e) = &result {
                            failed.get_or_insert_with(|| e.to_string());
                        }
                        if outbox.send((tag, job, result)).is_err() {
                            return;
                        }
                    }
                }
            })?;
        threads.push(writer);
        Ok(Background {
            jobs: Some(jobs),
            sent: 0,
            done,
            threads,
            pending: 0,
        })
    }

    /// Queues a job (waiting while the writer is busy with two); gives it back if the thread
    /// has stopped.
    pub fn send(&mut self, tag: T, job: Job) -> Result<(), (T, Job, DeliveryError)> {
        let Some(jobs) = &self.jobs else {
            return Err((tag, job, stopped()));
        };
        match jobs.send((self.sent, Message::Job(tag, job))) {
            Ok(()) => {
                self.sent += 1;
                self.pending += 1;
                Ok(())
            }
            Err(mpsc::SendError((_, Message::Job(tag, job)))) => Err((tag, job, stopped())),
            Err(mpsc::SendError((_, Message::Resume))) => unreachable!("a job was sent"),
        }
    }

    /// Writes again after a failure; call once every job sent came back.
    pub fn resume(&mut self) {
        if let Some(jobs) = &self.jobs {
            if jobs.send((self.sent, Message::Resume)).is_ok() {
                self.sent += 1;
            }
        }
    }

    /// The jobs finished so far; with `wait`, every job sent, waiting for them.
    pub fn finished(&mut self, wait: bool) -> Result<Vec<Done<T>>, DeliveryError> {
        let mut out = Vec::new();
        while self.pending > 0 {
            let next = if wait {
                self.done.recv().map_err(|_| stopped())?
            } else {
                match self.done.try_recv() {
                    Ok(done) => done,
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => return Err(stopped()),
                }
            };
            self.pending -= 1;
            out.push(next);
        }
        Ok(out)
    }
}

impl<T> Drop for Background<T> {
    fn drop(&mut self) {
        // The threads end once the queue is closed and empty.
        self.jobs = None;
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

fn not_written(reason: &str) -> DeliveryError {
    DeliveryError::Sink {
        bucket: String::new(),
        key: String::new(),
        source: std::io::Error::other(format!("not written after an earlier failure: {reason}")),
    }
}

fn stopped() -> DeliveryError {
    DeliveryError::Sink {
        bucket: String::new(),
        key: String::new(),
        source: std::io::Error::other("the firehose's writer thread stopped"),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;
    use crate::s3::MemorySink;

    /// Refuses the object whose key is given.
    struct Refusing(MemorySink, &'static str);

    impl ObjectSink for Refusing {
        fn put_object(&mut self, bucket: &str, key: &str, body: &[u8]) -> std::io::Result<()> {
            if key == self.1 {
                return Err(std::io::Error::other("refused"));
            }
            self.0.put_object(bucket, key, body)
        }
    }

    fn writer(sink: MemorySink, refuse: &'static str) -> Writer {
        Writer {
            sealer: Sealer {
                compression: Compression::Gzip,
                encryption: None,
            },
            bucket: "b".to_string(),
            sink: Box::new(Refusing(sink, refuse)),
            scratch: Vec::new(),
        }
    }

    fn job(key: &str, fill: u8, len: usize) -> (&'static str, Job) {
        let job = Job {
            object_key: key.to_string(),
            data: (0..len).map(|i| fill.wrapping_add((i % 7) as u8)).collect(),
            compress: true,
            modified_ms: 0,
        };
        ("tag", job)
    }

    fn gunzip(body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(body)
            .read_to_end(&mut out)
            .unwrap_or_else(|e| panic!("{e}"));
        out
    }

    #[test]
    fn jobs_sealed_side_by_side_are_written_in_the_order_sent() {
        let sink = MemorySink::new();
        let mut background =
            Background::spawn(writer(sink.clone(), ""), "t").unwrap_or_else(|e| panic!("{e}"));
        let mut expected = Vec::new();
        for i in 0..20u8 {
            // Objects of very different sizes, so that they finish sealing out of turn.
            let (tag, job) = job(
                &format!("k{i:02}"),
                i,
                if i % 2 == 0 { 400_000 } else { 10 },
            );
            expected.push((job.object_key.clone(), job.data.clone()));
            if background.send(tag, job).is_err() {
                panic!("the writer stopped");
            }
        }
        let done = background.finished(true).unwrap_or_else(|e| panic!("{e}"));
        let keys: Vec<&str> = done
            .iter()
            .map(|(_, job, _)| job.object_key.as_str())
            .collect();
        let sent: Vec<&str> = expected.iter().map(|(key, _)| key.as_str()).collect();
        assert_eq!(keys, sent, "jobs come back in the order sent");
        assert!(done.iter().all(|(_, _, result)| result.is_ok()));
        let written: Vec<(String, Vec<u8>)> = sink
            .objects()
            .iter()
            .map(|o| (o.key.clone(), gunzip(&o.body)))
            .collect();
        assert_eq!(written, expected, "written in the order sent");
    }

    #[test]
    fn after_a_failed_write_later_jobs_are_not_written_until_resumed() {
        let sink = MemorySink::new();
        let mut background =
            Background::spawn(writer(sink.clone(), "a"), "t").unwrap_or_else(|e| panic!("{e}"));
        for key in ["a", "b", "c"] {
            let (tag, job) = job(key, 1, 50_000);
            assert!(background.send(tag, job).is_ok());
        }
        let done = background.finished(true).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(done.len(), 3);
        assert!(done[0].2.is_err());
        for (_, _, result) in &done[1..] {
            let reason = result
                .as_ref()
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(
                reason.contains("not written after an earlier failure"),
                "{reason}"
            );
        }
        assert!(sink.objects().is_empty());
        background.resume();
        let (tag, job) = job("b", 2, 10);
        assert!(background.send(tag, job).is_ok());
        let done = background.finished(true).unwrap_or_else(|e| panic!("{e}"));
        assert!(done[0].2.is_ok());
        assert_eq!(sink.objects().len(), 1);
    }
}
