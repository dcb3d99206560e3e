//! A loopback HTTP/1.1 file server for download tests: serves byte strings under `/files/NAME`,
//! answers Range requests (`bytes=N-`) with 206, redirects `/redirect/NAME` to `/files/NAME`,
//! gives 404 for anything else, and can misbehave on purpose: cut a response off after some
//! bytes (the connection drops mid-body), or send slowly. It also answers CONNECT like an HTTP
//! proxy, serving the tunnelled request itself. Every request is logged.
#![allow(clippy::unwrap_used)] // test helpers: a panic is a failed assertion
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request as the server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// The path asked for.
    pub path: String,
    /// The Range header, if any.
    pub range: Option<String>,
    /// The status answered.
    pub status: u16,
}

#[derive(Default)]
struct State {
    files: HashMap<String, Vec<u8>>,
    /// Per file: cut the next `n` answers after `bytes` bytes of body.
    cuts: HashMap<String, (usize, usize)>,
    /// Per file: pause this long after each 4 KiB of body.
    slow: HashMap<String, Duration>,
    /// Files whose Range headers are ignored (the whole file is sent with 200).
    no_ranges: Vec<String>,
    log: Vec<Seen>,
}

/// The running server (it stops with the test process).
#[derive(Clone)]
pub struct FileServer {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    state: Arc<Mutex<State>>,
}

impl FileServer {
    /// Starts a server on a free loopback port.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State::default()));
        let shared = Arc::clone(&state);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let st = Arc::clone(&shared);
                std::thread::spawn(move || {
                    let _ = serve(stream, &st);
                });
            }
        });
        FileServer { base, state }
    }

    /// Serves `bytes` at `/files/NAME` (replacing what was there).
    pub fn put(&self, name: &str, bytes: Vec<u8>) {
        self.state.lock().unwrap().files.insert(name.into(), bytes);
    }

    /// The address of a served file.
    pub fn url(&self, name: &str) -> String {
        format!("{}/files/{name}", self.base)
    }

    /// Cuts the next `times` answers for NAME after `after` body bytes.
    pub fn cut(&self, name: &str, after: usize, times: usize) {
        self.state
            .lock()
            .unwrap()
            .cuts
            .insert(name.into(), (after, times));
    }

    /// Sends NAME slowly (a pause after each 4 KiB), or at full speed again with `None`.
    pub fn slow(&self, name: &str, pause: Option<Duration>) {
        let mut st = self.state.lock().unwrap();
        match pause {
            Some(p) => st.slow.insert(name.into(), p),
            None => st.slow.remove(name),
        };
    }

    /// Ignores Range requests for NAME from now on (as servers without range support do).
    pub fn ignore_ranges(&self, name: &str) {
        self.state.lock().unwrap().no_ranges.push(name.into());
    }

    /// Requests so far.
    pub fn log(&self) -> Vec<Seen> {
        self.state.lock().unwrap().log.clone()
    }

    /// Requests so far for `/files/NAME`.
    pub fn requests_for(&self, name: &str) -> Vec<Seen> {
        let path = format!("/files/{name}");
        self.log().into_iter().filter(|s| s.path == path).collect()
    }
}

/// Reads a request head: (method, target, Range header).
fn read_head(reader: &mut impl BufRead) -> std::io::Result<(String, String, Option<String>)> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut words = line.split_whitespace();
    let method = words.next().unwrap_or("").to_owned();
    let target = words.next().unwrap_or("/").to_owned();
    let mut range = None;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':')
            && k.trim().eq_ignore_ascii_case("range")
        {
            range = Some(v.trim().to_owned());
        }
    }
    Ok((method, target, range))
}

fn serve(stream: TcpStream, state: &Mutex<State>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut out = stream;
    let (mut method, mut path, mut range) = read_head(&mut reader)?;
    if method == "CONNECT" {
        // Acting as the proxy: open the tunnel, then answer the request sent through it.
        state.lock().unwrap().log.push(Seen {
            path: format!("CONNECT {path}"),
            range: None,
            status: 200,
        });
        out.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?;
        (method, path, range) = read_head(&mut reader)?;
    }
    let _ = method;
    let log = |status: u16| {
        state.lock().unwrap().log.push(Seen {
            path: path.clone(),
            range: range.clone(),
            status,
        });
    };
    if let Some(name) = path.strip_prefix("/redirect/") {
        log(302);
        let head = format!(
            "HTTP/1.1 302 Found\r\nLocation: /files/{name}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        return out.write_all(head.as_bytes());
    }
    let name = path.strip_prefix("/files/").unwrap_or("");
    let (body, cut, pause, ranges) = {
        let mut st = state.lock().unwrap();
        let body = st.files.get(name).cloned();
        let cut = match st.cuts.get_mut(name) {
            Some((after, times)) if *times > 0 => {
                *times -= 1;
                Some(*after)
            }
            _ => None,
        };
        let ranges = !st.no_ranges.iter().any(|n| n == name);
        (body, cut, st.slow.get(name).copied(), ranges)
    };
    let Some(body) = body else {
        log(404);
        let msg = "not found";
        let head = format!(
            "HTTP/1.1 404 Not Found\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{msg}",
            msg.len()
        );
        return out.write_all(head.as_bytes());
    };
    let len = body.len();
    let start = range
        .as_deref()
        .filter(|_| ranges)
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.strip_suffix('-'))
        .and_then(|n| n.parse::<usize>().ok());
    let (status, slice, extra) = match start {
        Some(s) if s >= len => {
            log(416);
            let head = format!(
                "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{len}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            return out.write_all(head.as_bytes());
        }
        Some(s) => (
            "206 Partial Content",
            &body[s..],
            format!("Content-Range: bytes {s}-{}/{len}\r\n", len - 1),
        ),
        None => ("200 OK", &body[..], String::new()),
    };
    log(if start.is_some() { 206 } else { 200 });
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nAccept-Ranges: bytes\r\n{extra}Connection: close\r\n\r\n",
        slice.len()
    );
    out.write_all(head.as_bytes())?;
    let send = cut.map_or(slice.len(), |c| c.min(slice.len()));
    for chunk in slice[..send].chunks(4096) {
        out.write_all(chunk)?;
        if let Some(p) = pause {
            std::thread::sleep(p);
        }
    }
    out.flush()?;
    if cut.is_some() {
        // Drop the connection mid-body.
        let _ = out.shutdown(std::net::Shutdown::Both);
    }
    Ok(())
}
