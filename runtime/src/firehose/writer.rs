//! Where a delivery stream's objects are made and written: compressed (data objects),
//! encrypted when configured, and put to the sink — on the caller's thread, or on a thread of
//! their own so that compressing one buffer overlaps filling the next.

use std::borrow::Cow;
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError};
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

/// Makes and writes objects.
pub(super) struct Writer {
    pub compression: Compression,
    pub encryption: Option<LocalKey>,
    pub bucket: String,
    pub sink: Box<dyn ObjectSink>,
    /// Where gzip objects are compressed, kept from one object to the next.
    pub scratch: Vec<u8>,
}

impl Writer {
    /// Compresses (data objects), encrypts (when configured) and writes one object; returns the
    /// bytes stored.
    pub fn write(&mut self, job: &Job) -> Result<u64, DeliveryError> {
        let object_key = job.object_key.as_str();
        let body: Cow<[u8]> = match self.compression {
            Compression::None => Cow::Borrowed(&job.data),
            _ if !job.compress => Cow::Borrowed(&job.data),
            Compression::Gzip => {
                let len = gzip_into(&job.data, &mut self.scratch)?;
                Cow::Borrowed(&self.scratch[..len])
            }
            other => {
                let extension = other.extension();
                let base = object_key.rsplit('/').next().unwrap_or(object_key);
                let entry = base.strip_suffix(extension).unwrap_or(base);
                Cow::Owned(other.compress_object(&job.data, entry, job.modified_ms)?)
            }
        };
        let sealed: Cow<[u8]> = match &self.encryption {
            Some(key) => Cow::Owned(encrypt(key, &body)?),
            None => body,
        };
        self.sink
            .put_object(&self.bucket, object_key, &sealed)
            .map_err(|source| DeliveryError::Sink {
                bucket: self.bucket.clone(),
                key: object_key.to_string(),
                source,
            })?;
        Ok(sealed.len() as u64)
    }
}

/// A finished job: what the caller attached to it, the job, and what writing it gave.
pub(super) type Done<T> = (T, Job, Result<u64, DeliveryError>);

/// What the writer thread is told.
enum Message<T> {
    Job(T, Job),
    /// Write again after a failure.
    Resume,
}

/// A [`Writer`] on a thread of its own. Jobs are written in the order they are sent and come
/// back in that order; one waits while another is written, so at most three buffers (one
/// being filled, one waiting, one being written) are in memory. After a write fails, the
/// jobs after it come back unwritten until [`Background::resume`], so the caller can put them
/// all back in order.
pub(super) struct Background<T> {
    jobs: Option<SyncSender<Message<T>>>,
    done: Receiver<Done<T>>,
    thread: Option<JoinHandle<()>>,
    /// Jobs sent and not yet taken back.
    pending: usize,
}

impl<T: Send + 'static> Background<T> {
    pub fn spawn(mut writer: Writer, name: &str) -> std::io::Result<Background<T>> {
        let (jobs, inbox) = mpsc::sync_channel::<Message<T>>(1);
        let (outbox, done) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name(format!("{name}-writer"))
            .spawn(move || {
                let mut failed: Option<String> = None;
                for message in inbox {
                    let (tag, job) = match message {
                        Message::Job(tag, job) => (tag, job),
                        Message::Resume => {
                            failed = None;
                            continue;
                        }
                    };
                    let result = match &failed {
                        Some(reason) => Err(not_written(reason)),
                        None => writer.write(&job),
                    };
                    if let Err(e) = &result {
                        failed.get_or_insert_with(|| e.to_string());
                    }
                    if outbox.send((tag, job, result)).is_err() {
                        return;
                    }
                }
            })?;
        Ok(Background {
            jobs: Some(jobs),
            done,
            thread: Some(thread),
            pending: 0,
        })
    }

    /// Queues a job (waiting while the writer is busy with two); gives it back if the thread
    /// has stopped.
    pub fn send(&mut self, tag: T, job: Job) -> Result<(), (T, Job, DeliveryError)> {
        let Some(jobs) = &self.jobs else {
            return Err((tag, job, stopped()));
        };
        match jobs.send(Message::Job(tag, job)) {
            Ok(()) => {
                self.pending += 1;
                Ok(())
            }
            Err(mpsc::SendError(Message::Job(tag, job))) => Err((tag, job, stopped())),
            Err(mpsc::SendError(Message::Resume)) => unreachable!("a job was sent"),
        }
    }

    /// Writes again after a failure; call once every job sent came back.
    pub fn resume(&mut self) {
        if let Some(jobs) = &self.jobs {
            let _ = jobs.send(Message::Resume);
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
        // The thread ends once the queue is closed and empty.
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
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
