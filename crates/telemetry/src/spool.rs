//! A node's spool: records appended to files in its data directory, made
//! durable in groups before any writer in the group is answered, and read
//! back later, in order, from a position. The error intake acknowledges an
//! event once it is here, and a filer moves what the spool holds into the
//! telemetry and state stores in large batches (as Sentry's Relay spools
//! envelopes to disk before they are processed).
//!
//! A position is a byte offset over every record the spool has ever held.
//! The spool is a series of segment files, each named by the position it
//! starts at; a segment that has been read past is deleted when its reader
//! says so. Each record is framed as its length and CRC-32, then its bytes:
//! a start after a crash keeps every whole record and cuts a torn one off
//! the end.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use crate::{Result, TelemetryError};

/// A segment grows to about this size before the next one starts.
const SEGMENT_BYTES: u64 = 64 * 1024 * 1024;

/// The largest record the spool takes.
pub const MAX_RECORD_BYTES: usize = 16 * 1024 * 1024;

const FRAME: u64 = 8;

/// Where a group's answer goes: the position after its records, or why
/// they could not be made durable.
pub type Answer = Box<dyn FnOnce(Result<u64, String>) + Send>;

struct Request {
    records: Vec<Vec<u8>>,
    answer: Answer,
}

/// The spool: append from any thread, read from one.
pub struct Spool {
    dir: PathBuf,
    /// Everything before this position is durable.
    durable: Arc<AtomicU64>,
    sender: Mutex<Option<mpsc::Sender<Request>>>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// Called after each durable group, with the new durable position.
    on_durable: Arc<dyn Fn(u64) + Send + Sync>,
}

impl std::fmt::Debug for Spool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spool")
            .field("dir", &self.dir)
            .field("durable", &self.durable.load(Ordering::Acquire))
            .finish_non_exhaustive()
    }
}

fn segment_name(start: u64) -> String {
    format!("{start:020}.spool")
}

/// The segments in `dir`, by start position.
fn segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(start) = name
            .strip_suffix(".spool")
            .and_then(|s| s.parse::<u64>().ok())
        else {
            continue;
        };
        out.push((start, entry.path()));
    }
    out.sort();
    Ok(out)
}

/// How far a segment's whole records reach, from its start.
fn whole_length(path: &Path) -> Result<u64> {
    let mut r = BufReader::new(File::open(path)?);
    let mut at = 0u64;
    let mut buf = Vec::new();
    loop {
        match read_record(&mut r, &mut buf)? {
            Some(n) => at += n,
            None => return Ok(at),
        }
    }
}

/// Reads one record into `buf`; its framed length, or `None` at the end
/// or at a torn or damaged record.
fn read_record(r: &mut impl Read, buf: &mut Vec<u8>) -> Result<Option<u64>> {
    let mut head = [0u8; FRAME as usize];
    if !read_full(r, &mut head)? {
        return Ok(None);
    }
    let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
    let crc = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
    if len > MAX_RECORD_BYTES {
        return Ok(None);
    }
    buf.resize(len, 0);
    if !read_full(r, buf)? || crc32fast::hash(buf) != crc {
        return Ok(None);
    }
    Ok(Some(FRAME + len as u64))
}

/// Fills `buf`; false when the input ends first.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> Result<bool> {
    let mut at = 0;
    while at < buf.len() {
        match r.read(&mut buf[at..]) {
            Ok(0) => return Ok(false),
            Ok(n) => at += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(true)
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)?.sync_all()?;
    Ok(())
}

/// The segment being written.
struct Tail {
    dir: PathBuf,
    file: File,
    /// The segment's start, and the position after its last record.
    start: u64,
    end: u64,
}

impl Tail {
    fn create(dir: &Path, start: u64) -> Result<Tail> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(dir.join(segment_name(start)))?;
        sync_dir(dir)?;
        Ok(Tail {
            dir: dir.to_owned(),
            file,
            start,
            end: start,
        })
    }

    /// Writes a group and makes it durable; the position after it.
    fn write(&mut self, groups: &[&[Vec<u8>]]) -> std::io::Result<u64> {
        if self.end - self.start >= SEGMENT_BYTES {
            let next = Tail::create(&self.dir, self.end).map_err(std::io::Error::other)?;
            *self = next;
        }
        let total: usize = groups
            .iter()
            .flat_map(|g| g.iter())
            .map(|r| r.len() + FRAME as usize)
            .sum();
        let mut out = Vec::with_capacity(total);
        for r in groups.iter().flat_map(|g| g.iter()) {
            let len = u32::try_from(r.len()).map_err(std::io::Error::other)?;
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(&crc32fast::hash(r).to_le_bytes());
            out.extend_from_slice(r);
        }
        let written = self
            .file
            .write_all(&out)
            .and_then(|()| self.file.sync_data());
        if let Err(e) = written {
            // Whatever part of the group reached the file is cut off, so
            // the next group starts on a record boundary.
            let _ = self.file.set_len(self.end - self.start);
            let _ = self.file.seek(SeekFrom::Start(self.end - self.start));
            return Err(e);
        }
        self.end += out.len() as u64;
        Ok(self.end)
    }
}

impl Spool {
    /// Opens the spool in `dir` (made if missing). A torn record at the
    /// end is cut off. `start_at` is where the reader stands: when the
    /// files end before it (a new directory for a node whose reader had
    /// gone further), the spool goes on from there. `on_durable` hears of
    /// each durable group's end.
    pub fn open(
        dir: &Path,
        start_at: u64,
        on_durable: Arc<dyn Fn(u64) + Send + Sync>,
    ) -> Result<Spool> {
        std::fs::create_dir_all(dir)?;
        let found = segments(dir)?;
        let tail = match found.last() {
            Some((start, path)) => {
                let whole = whole_length(path)?;
                let file = OpenOptions::new().write(true).open(path)?;
                if file.metadata()?.len() != whole {
                    file.set_len(whole)?;
                    file.sync_all()?;
                }
                let mut file = file;
                file.seek(SeekFrom::Start(whole))?;
                let tail = Tail {
                    dir: dir.to_owned(),
                    file,
                    start: *start,
                    end: start + whole,
                };
                if tail.end < start_at {
                    Tail::create(dir, start_at)?
                } else {
                    tail
                }
            }
            None => Tail::create(dir, start_at)?,
        };
        let durable = Arc::new(AtomicU64::new(tail.end));
        let (sender, receiver) = mpsc::channel::<Request>();
        let writer = {
            let durable = durable.clone();
            let on_durable = on_durable.clone();
            std::thread::Builder::new()
                .name("liveops-spool".into())
                .spawn(move || write_groups(tail, receiver, &durable, &*on_durable))?
        };
        Ok(Spool {
            dir: dir.to_owned(),
            durable,
            sender: Mutex::new(Some(sender)),
            writer: Mutex::new(Some(writer)),
            on_durable,
        })
    }

    /// Appends records; `answer` hears, once they are durable, the
    /// position after them (or why not). Records sent together stay
    /// together and in order.
    pub fn append(&self, records: Vec<Vec<u8>>, answer: Answer) {
        if let Some(big) = records.iter().find(|r| r.len() > MAX_RECORD_BYTES) {
            answer(Err(format!(
                "a record of {} bytes is larger than the spool takes",
                big.len()
            )));
            return;
        }
        let sender = self
            .sender
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        match sender {
            Some(s) => {
                if let Err(mpsc::SendError(req)) = s.send(Request { records, answer }) {
                    (req.answer)(Err("the spool is closed".into()));
                }
            }
            None => answer(Err("the spool is closed".into())),
        }
    }

    /// Everything before this position is durable.
    pub fn durable(&self) -> u64 {
        self.durable.load(Ordering::Acquire)
    }

    /// Reads records from `from` on, up to the durable end, stopping once
    /// `max_bytes` are read (at least one record is read when there is
    /// one). Each record comes with the position after it.
    pub fn read(&self, from: u64, max_bytes: usize) -> Result<Vec<(u64, Vec<u8>)>> {
        let end = self.durable();
        let mut out = Vec::new();
        let mut at = from;
        let mut read_bytes = 0usize;
        let found = segments(&self.dir)?;
        while at < end && (out.is_empty() || read_bytes < max_bytes) {
            // The segment holding `at`, or the first after it.
            let Some(i) = found
                .iter()
                .rposition(|(s, _)| *s <= at)
                .or_else(|| (!found.is_empty()).then_some(0))
            else {
                break;
            };
            let (start, path) = &found[i];
            let next_start = found.get(i + 1).map_or(u64::MAX, |(s, _)| *s);
            let mut pos = at.max(*start);
            let mut r = BufReader::with_capacity(1 << 20, File::open(path)?);
            r.seek(SeekFrom::Start(pos - start))?;
            loop {
                if pos >= end || pos >= next_start || (!out.is_empty() && read_bytes >= max_bytes) {
                    break;
                }
                let mut buf = Vec::new();
                match read_record(&mut r, &mut buf)? {
                    Some(n) => {
                        pos += n;
                        read_bytes += buf.len();
                        out.push((pos, buf));
                    }
                    None => {
                        return Err(TelemetryError::Ingest(format!(
                            "the spool segment {} is damaged at {}",
                            path.display(),
                            pos - start
                        )));
                    }
                }
            }
            if pos == at {
                // Nothing more in this segment: go on to the next.
                if next_start == u64::MAX {
                    break;
                }
                at = next_start;
            } else {
                at = if pos >= next_start { next_start } else { pos };
            }
        }
        Ok(out)
    }

    /// Deletes the segments wholly before `through`, which has been read
    /// and kept elsewhere. The segment being written stays.
    pub fn release(&self, through: u64) -> Result<usize> {
        let found = segments(&self.dir)?;
        let mut gone = 0;
        for pair in found.windows(2) {
            let ((_, path), (next, _)) = (&pair[0], &pair[1]);
            if *next <= through {
                std::fs::remove_file(path)?;
                gone += 1;
            }
        }
        Ok(gone)
    }

    /// Stops taking records and waits for those taken to be written.
    pub fn close(&self) {
        self.sender.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(w) = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = w.join();
        }
        (self.on_durable)(self.durable());
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        self.close();
    }
}

/// The writer thread: takes every request waiting, writes them as one
/// group, makes it durable, then answers each.
fn write_groups(
    mut tail: Tail,
    receiver: mpsc::Receiver<Request>,
    durable: &AtomicU64,
    on_durable: &(dyn Fn(u64) + Send + Sync),
) {
    while let Ok(first) = receiver.recv() {
        let mut group = vec![first];
        while let Ok(more) = receiver.try_recv() {
            group.push(more);
            if group.len() >= 4096 {
                break;
            }
        }
        let records: Vec<&[Vec<u8>]> = group.iter().map(|r| r.records.as_slice()).collect();
        match tail.write(&records) {
            Ok(_) => {
                // Each request's answer is the position after its own
                // records.
                let mut at = durable.load(Ordering::Acquire);
                let ends: Vec<u64> = group
                    .iter()
                    .map(|r| {
                        at += r
                            .records
                            .iter()
                            .map(|x| x.len() as u64 + FRAME)
                            .sum::<u64>();
                        at
                    })
                    .collect();
                // A rotation moves the tail's start, not the positions.
                durable.store(at, Ordering::Release);
                on_durable(at);
                for (r, end) in group.into_iter().zip(ends) {
                    (r.answer)(Ok(end));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "the spool could not be written");
                let why = format!("the spool could not be written: {e}");
                for r in group {
                    (r.answer)(Err(why.clone()));
                }
            }
        }
    }
}

/// Builds a record from fields: each text as its length and bytes, each
/// number as 8 bytes, little-endian.
#[derive(Debug, Default)]
pub struct RecordWriter(Vec<u8>);

impl RecordWriter {
    pub fn with_capacity(n: usize) -> RecordWriter {
        RecordWriter(Vec::with_capacity(n))
    }

    pub fn text(&mut self, s: &str) -> &mut Self {
        self.0.extend_from_slice(&(s.len() as u64).to_le_bytes());
        self.0.extend_from_slice(s.as_bytes());
        self
    }

    pub fn number(&mut self, n: i64) -> &mut Self {
        self.0.extend_from_slice(&n.to_le_bytes());
        self
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

/// Reads a record's fields back in the order they were written.
#[derive(Debug)]
pub struct RecordReader<'a>(&'a [u8]);

fn short() -> TelemetryError {
    TelemetryError::Ingest("a spooled record ends before its fields do".into())
}

impl<'a> RecordReader<'a> {
    pub fn new(bytes: &'a [u8]) -> RecordReader<'a> {
        RecordReader(bytes)
    }

    pub fn number(&mut self) -> Result<i64> {
        let (head, rest) = self.0.split_first_chunk::<8>().ok_or_else(short)?;
        self.0 = rest;
        Ok(i64::from_le_bytes(*head))
    }

    pub fn text(&mut self) -> Result<&'a str> {
        let len = usize::try_from(self.number()?).map_err(|_| short())?;
        if len > self.0.len() {
            return Err(short());
        }
        let (s, rest) = self.0.split_at(len);
        self.0 = rest;
        std::str::from_utf8(s)
            .map_err(|_| TelemetryError::Ingest("a spooled text is not UTF-8".into()))
    }

    /// Whether every field has been read.
    pub fn is_done(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quiet() -> Arc<dyn Fn(u64) + Send + Sync> {
        Arc::new(|_| {})
    }

    fn append(spool: &Spool, records: Vec<Vec<u8>>) -> u64 {
        let (tx, rx) = mpsc::channel();
        spool.append(
            records,
            Box::new(move |r| {
                let _ = tx.send(r);
            }),
        );
        rx.recv().expect("answer").expect("durable")
    }

    fn texts(read: &[(u64, Vec<u8>)]) -> Vec<String> {
        read.iter()
            .map(|(_, r)| String::from_utf8_lossy(r).into_owned())
            .collect()
    }

    #[test]
    fn records_read_back_in_order_from_any_position() {
        let dir = tempfile::tempdir().expect("dir");
        let spool = Spool::open(dir.path(), 0, quiet()).expect("open");
        let a = append(&spool, vec![b"one".to_vec(), b"two".to_vec()]);
        let b = append(&spool, vec![b"three".to_vec()]);
        assert_eq!(a, 2 * FRAME + 6);
        assert_eq!(b, a + FRAME + 5);
        assert_eq!(spool.durable(), b);
        let all = spool.read(0, usize::MAX).expect("read");
        assert_eq!(texts(&all), ["one", "two", "three"]);
        assert_eq!(all.last().map(|r| r.0), Some(b));
        let rest = spool.read(a, usize::MAX).expect("read");
        assert_eq!(texts(&rest), ["three"]);
        assert!(spool.read(b, usize::MAX).expect("read").is_empty());
        // A small budget still reads one record, and stops after it.
        let first = spool.read(0, 1).expect("read");
        assert_eq!(texts(&first), ["one"]);
    }

    #[test]
    fn a_torn_record_is_cut_off_and_whole_ones_survive_a_restart() {
        let dir = tempfile::tempdir().expect("dir");
        let end = {
            let spool = Spool::open(dir.path(), 0, quiet()).expect("open");
            append(&spool, vec![b"kept".to_vec(), b"also kept".to_vec()])
        };
        // A crash in the middle of the next group's write.
        let (_, path) = segments(dir.path()).expect("list").remove(0);
        let mut f = OpenOptions::new().append(true).open(&path).expect("file");
        f.write_all(&[200, 0, 0, 0, 1, 2, 3, 4, b'x'])
            .expect("torn");
        drop(f);
        let spool = Spool::open(dir.path(), 0, quiet()).expect("reopen");
        assert_eq!(spool.durable(), end);
        assert_eq!(
            texts(&spool.read(0, usize::MAX).expect("read")),
            ["kept", "also kept"]
        );
        let after = append(&spool, vec![b"next".to_vec()]);
        assert_eq!(after, end + FRAME + 4);
        assert_eq!(texts(&spool.read(end, usize::MAX).expect("read")), ["next"]);
    }

    #[test]
    fn a_damaged_record_is_an_error_not_a_silent_skip() {
        let dir = tempfile::tempdir().expect("dir");
        let spool = Spool::open(dir.path(), 0, quiet()).expect("open");
        append(&spool, vec![b"first".to_vec(), b"second".to_vec()]);
        let (_, path) = segments(dir.path()).expect("list").remove(0);
        let mut bytes = std::fs::read(&path).expect("read");
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        std::fs::write(&path, bytes).expect("write");
        assert!(spool.read(0, usize::MAX).is_err());
    }

    #[test]
    fn segments_roll_over_and_read_segments_are_released() {
        let dir = tempfile::tempdir().expect("dir");
        let spool = Spool::open(dir.path(), 0, quiet()).expect("open");
        let big = vec![7u8; 9 * 1024 * 1024];
        let mut ends = Vec::new();
        for _ in 0..9 {
            ends.push(append(&spool, vec![big.clone()]));
        }
        assert!(segments(dir.path()).expect("list").len() >= 2);
        let all = spool.read(0, usize::MAX).expect("read");
        assert_eq!(all.len(), 9);
        assert_eq!(all.iter().map(|r| r.0).collect::<Vec<_>>(), ends);
        // Reading from the middle crosses into the next segment.
        let from_mid = spool.read(ends[5], usize::MAX).expect("read");
        assert_eq!(from_mid.len(), 3);
        // Releasing everything read keeps the segment being written.
        let gone = spool.release(ends[8]).expect("release");
        assert!(gone >= 1);
        assert_eq!(segments(dir.path()).expect("list").len(), 1);
        assert!(spool.read(ends[8], usize::MAX).expect("read").is_empty());
        let next = append(&spool, vec![b"more".to_vec()]);
        assert_eq!(
            texts(&spool.read(ends[8], usize::MAX).expect("read")),
            ["more"]
        );
        assert_eq!(next, ends[8] + FRAME + 4);
    }

    #[test]
    fn a_new_directory_goes_on_from_where_the_reader_stands() {
        let dir = tempfile::tempdir().expect("dir");
        let spool = Spool::open(dir.path(), 1_000, quiet()).expect("open");
        assert_eq!(spool.durable(), 1_000);
        let end = append(&spool, vec![b"x".to_vec()]);
        assert_eq!(end, 1_000 + FRAME + 1);
        assert_eq!(texts(&spool.read(1_000, usize::MAX).expect("read")), ["x"]);
        drop(spool);
        // Files that end before the reader's position are behind it.
        let again = Spool::open(dir.path(), 5_000, quiet()).expect("reopen");
        assert_eq!(again.durable(), 5_000);
    }

    #[test]
    fn fields_read_back_as_written_and_a_short_record_is_an_error() {
        let mut w = RecordWriter::default();
        w.text("project").number(-42).text("").text("ünïcode");
        let bytes = w.into_bytes();
        let mut r = RecordReader::new(&bytes);
        assert_eq!(r.text().expect("text"), "project");
        assert_eq!(r.number().expect("number"), -42);
        assert_eq!(r.text().expect("empty"), "");
        assert_eq!(r.text().expect("text"), "ünïcode");
        assert!(r.is_done());
        let mut cut = RecordReader::new(&bytes[..bytes.len() - 3]);
        cut.text().expect("first");
        cut.number().expect("second");
        cut.text().expect("third");
        assert!(cut.text().is_err());
    }

    #[test]
    fn too_large_a_record_is_refused() {
        let dir = tempfile::tempdir().expect("dir");
        let spool = Spool::open(dir.path(), 0, quiet()).expect("open");
        let (tx, rx) = mpsc::channel();
        spool.append(
            vec![vec![0u8; MAX_RECORD_BYTES + 1]],
            Box::new(move |r| {
                let _ = tx.send(r);
            }),
        );
        assert!(rx.recv().expect("answer").is_err());
        assert_eq!(spool.durable(), 0);
    }
}
