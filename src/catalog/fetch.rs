//! HTTP(S) transfer of one file into a `.part` file, resuming with Range requests.
//!
//! The client is `ureq` with rustls; proxy settings come from the environment (`ALL_PROXY`,
//! `HTTPS_PROXY`, `HTTP_PROXY`, with `NO_PROXY` honoured). A transfer that breaks off keeps what
//! arrived and asks for the rest (`Range: bytes=N-`), a few times within one call and again on a
//! later call. Progress (bytes, speed, time left) goes to a callback; a cancel flag stops the
//! transfer between reads and leaves the `.part` file for a later resume. Checking the finished
//! file and putting it in place is [`super::install`]'s work.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// How often progress is reported at most.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(100);
/// Read buffer.
const BUFFER: usize = 64 * 1024;
/// Seconds of transfer before a speed (and time left) is reported.
const SPEED_SETTLE: f64 = 0.5;

/// Where a transfer stands.
#[derive(Debug, Clone, PartialEq)]
pub struct TransferProgress {
    /// The file being fetched (its catalog file name).
    pub file: String,
    /// Bytes on disk so far (resumed bytes included).
    pub done: u64,
    /// The full size, once the server said it.
    pub total: Option<u64>,
    /// Average speed of this transfer in bytes per second (0 during its first half second).
    pub bytes_per_sec: f64,
    /// Time left at that speed.
    pub eta: Option<Duration>,
}

/// Settings of the HTTP client.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Tries per call (the first included); each retry resumes where the last one stopped.
    pub attempts: u32,
    /// Wait before the n-th retry: n × this.
    pub retry_delay: Duration,
    /// Longest wait for a connection.
    pub connect_timeout: Duration,
    /// Longest wait for any one read (a stalled server).
    pub read_timeout: Duration,
    /// Use the proxy named by `ALL_PROXY` / `HTTPS_PROXY` / `HTTP_PROXY` (with `NO_PROXY`).
    pub proxy_from_env: bool,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            attempts: 4,
            retry_delay: Duration::from_secs(1),
            connect_timeout: Duration::from_secs(30),
            read_timeout: Duration::from_secs(60),
            proxy_from_env: true,
        }
    }
}

/// What a finished transfer found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// Bytes in the `.part` file.
    pub bytes: u64,
    /// The full size the server announced (Content-Length or Content-Range), if it did.
    pub announced: Option<u64>,
    /// Offsets requests resumed from (`Range: bytes=N-`), in order.
    pub resumed_from: Vec<u64>,
}

/// An HTTP client for downloads.
#[derive(Debug, Clone)]
pub struct Fetcher {
    agent: ureq::Agent,
    opts: FetchOptions,
}

/// Why one try ended without the whole file.
enum TryError {
    /// Worth another try (network trouble, server error, cut-off body).
    Retry(String),
    /// Final (not found, refused, cancelled, local I/O).
    Fatal(Error),
}

impl Fetcher {
    /// A client with these settings.
    pub fn new(opts: FetchOptions) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .proxy(if opts.proxy_from_env {
                ureq::Proxy::try_from_env()
            } else {
                None
            })
            .timeout_connect(Some(opts.connect_timeout))
            .timeout_recv_response(Some(opts.read_timeout))
            .timeout_per_read(Some(opts.read_timeout))
            .user_agent(concat!("earmark/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Fetcher { agent, opts }
    }

    /// Fetches `url` into `part`, continuing from what `part` already holds. `label` names the
    /// file in progress reports.
    pub fn fetch(
        &self,
        url: &str,
        part: &Path,
        label: &str,
        cancel: &AtomicBool,
        progress: &mut dyn FnMut(&TransferProgress),
    ) -> Result<Fetched> {
        let mut resumed_from = Vec::new();
        let mut last = String::new();
        let attempts = self.opts.attempts.max(1);
        for attempt in 0..attempts {
            if attempt > 0 {
                wait(self.opts.retry_delay * attempt, cancel)?;
            }
            if cancel.load(Ordering::SeqCst) {
                return Err(Error::Cancelled);
            }
            let have = std::fs::metadata(part).map_or(0, |m| m.len());
            if have > 0 {
                resumed_from.push(have);
            }
            match self.try_once(url, part, have, label, cancel, progress) {
                Ok((bytes, announced)) => {
                    return Ok(Fetched {
                        bytes,
                        announced,
                        resumed_from,
                    });
                }
                Err(TryError::Fatal(e)) => return Err(e),
                Err(TryError::Retry(why)) => last = why,
            }
        }
        // The reasons name the address already; say it once.
        let prefix = format!("{url}: ");
        let last = last.strip_prefix(prefix.as_str()).unwrap_or(&last);
        Err(Error::Download(format!(
            "{url}: {last} (gave up after {attempts} tries; the part received is kept and a \
             later download resumes it)"
        )))
    }

    fn try_once(
        &self,
        url: &str,
        part: &Path,
        have: u64,
        label: &str,
        cancel: &AtomicBool,
        progress: &mut dyn FnMut(&TransferProgress),
    ) -> std::result::Result<(u64, Option<u64>), TryError> {
        let mut request = self.agent.get(url);
        if have > 0 {
            request = request.header("Range", format!("bytes={have}-"));
        }
        let response = request.call().map_err(|e| classify(url, e))?;
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let content_length = header("content-length").and_then(|v| v.trim().parse::<u64>().ok());
        let (start, total) = match status {
            200 => (0, content_length),
            206 => {
                let range = header("content-range").unwrap_or_default();
                let (first, total) = parse_content_range(&range).ok_or_else(|| {
                    TryError::Fatal(Error::Download(format!(
                        "{url}: partial answer with a malformed Content-Range `{range}`"
                    )))
                })?;
                if first != have {
                    return Err(TryError::Fatal(Error::Download(format!(
                        "{url}: asked to resume at byte {have}, the server sent from {first}"
                    ))));
                }
                (have, total)
            }
            416 if have > 0 => {
                // The part may already be whole; otherwise start again from the beginning.
                let total = header("content-range").and_then(|r| unsatisfied_total(&r));
                if total == Some(have) {
                    return Ok((have, total));
                }
                remove(part).map_err(TryError::Fatal)?;
                return Err(TryError::Retry(format!(
                    "{url}: the server cannot resume at byte {have}; starting again"
                )));
            }
            s if s >= 500 => {
                return Err(TryError::Retry(format!("{url}: HTTP {s} (server error)")));
            }
            s => {
                return Err(TryError::Fatal(Error::Download(format!(
                    "{url}: HTTP {s} {}",
                    reason(s)
                ))));
            }
        };
        let mut file = open_part(part, start).map_err(TryError::Fatal)?;
        let mut reader = response.into_body().into_reader();
        let mut buf = vec![0u8; BUFFER];
        let started = Instant::now();
        let mut received = 0u64;
        let mut done = start;
        let mut reported = Instant::now() - PROGRESS_INTERVAL;
        let report = |done: u64, received: u64, progress: &mut dyn FnMut(&TransferProgress)| {
            let secs = started.elapsed().as_secs_f64();
            // The first moments' rate says little (buffers filling): no speed before it settles.
            let speed = if secs >= SPEED_SETTLE {
                received as f64 / secs
            } else {
                0.0
            };
            let eta = total
                .filter(|_| speed > 0.0)
                .map(|t| Duration::from_secs_f64(t.saturating_sub(done) as f64 / speed));
            progress(&TransferProgress {
                file: label.to_owned(),
                done,
                total,
                bytes_per_sec: speed,
                eta,
            });
        };
        report(done, received, progress);
        loop {
            if cancel.load(Ordering::SeqCst) {
                let _ = file.sync_all();
                return Err(TryError::Fatal(Error::Cancelled));
            }
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let _ = file.sync_all();
                    return Err(TryError::Retry(format!(
                        "{url}: the transfer broke off after {done} bytes: {e}"
                    )));
                }
            };
            file.write_all(&buf[..n])
                .map_err(|e| TryError::Fatal(Error::io(part, e)))?;
            done += n as u64;
            received += n as u64;
            if reported.elapsed() >= PROGRESS_INTERVAL {
                reported = Instant::now();
                report(done, received, progress);
            }
        }
        file.sync_all()
            .map_err(|e| TryError::Fatal(Error::io(part, e)))?;
        report(done, received, progress);
        if let Some(t) = total
            && done < t
        {
            return Err(TryError::Retry(format!(
                "{url}: the transfer ended after {done} of {t} bytes"
            )));
        }
        Ok((done, total))
    }
}

/// Opens the part file for writing at `start` (0: from scratch).
fn open_part(part: &Path, start: u64) -> Result<File> {
    if start == 0 {
        File::create(part).map_err(|e| Error::io(part, e))
    } else {
        OpenOptions::new()
            .append(true)
            .open(part)
            .map_err(|e| Error::io(part, e))
    }
}

fn remove(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// Sleeps `d`, waking early (with [`Error::Cancelled`]) when cancelled.
fn wait(d: Duration, cancel: &AtomicBool) -> Result<()> {
    let until = Instant::now() + d;
    while Instant::now() < until {
        if cancel.load(Ordering::SeqCst) {
            return Err(Error::Cancelled);
        }
        std::thread::sleep(Duration::from_millis(20).min(until - Instant::now()));
    }
    Ok(())
}

/// Sorts a client error into "try again" (network) and "final" (bad address, TLS refused).
fn classify(url: &str, e: ureq::Error) -> TryError {
    match e {
        ureq::Error::Io(_) | ureq::Error::Timeout(_) | ureq::Error::Protocol(_) => {
            TryError::Retry(format!("{url}: {e}"))
        }
        ureq::Error::ConnectionFailed | ureq::Error::HostNotFound => {
            TryError::Retry(format!("{url}: {e}"))
        }
        other => TryError::Fatal(Error::Download(format!("{url}: {other}"))),
    }
}

/// `bytes START-END/TOTAL` → (START, TOTAL) (`TOTAL` may be `*`).
pub fn parse_content_range(v: &str) -> Option<(u64, Option<u64>)> {
    let rest = v.trim().strip_prefix("bytes")?.trim_start();
    let (range, total) = rest.split_once('/')?;
    let (first, last) = range.split_once('-')?;
    let first = first.trim().parse::<u64>().ok()?;
    let last = last.trim().parse::<u64>().ok()?;
    if last < first {
        return None;
    }
    let total = match total.trim() {
        "*" => None,
        t => Some(t.parse::<u64>().ok()?),
    };
    Some((first, total))
}

/// `bytes */TOTAL` (the answer to an unsatisfiable range) → TOTAL.
fn unsatisfied_total(v: &str) -> Option<u64> {
    v.trim()
        .strip_prefix("bytes */")
        .and_then(|t| t.trim().parse().ok())
}

/// The usual phrase of a status code.
fn reason(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        410 => "Gone",
        429 => "Too Many Requests",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_ranges_parse() {
        assert_eq!(
            parse_content_range("bytes 100-199/200"),
            Some((100, Some(200)))
        );
        assert_eq!(parse_content_range("bytes 5-9/*"), Some((5, None)));
        assert_eq!(parse_content_range("bytes 9-5/10"), None);
        assert_eq!(parse_content_range("items 0-1/2"), None);
        assert_eq!(unsatisfied_total("bytes */4096"), Some(4096));
    }
}
