//! A webhook receiver for the webhook benchmark (`benches/webhooks.sh` runs it): it
//! answers every `POST` with `200` at once over keep-alive connections and counts what
//! it received, with each event's delay from its `time` (when its change was made
//! durable, to the millisecond) to its arrival here.
//!
//! - `GET /stats`: `{"received", "first_ms", "last_ms", "rate", "rate_since_mark", "delay_p50_ms",
//!   "delay_p99_ms", "delay_max_ms"}`: events received, the wall-clock times of the first
//!   and the last, events/s between them, and the delay's percentiles.
//! - `POST /reset`: forgets everything received.
//! - `POST /mark`: `rate_since_mark` in the stats then counts events/s from now to the
//!   last one received (a backlog's drain, once the load that made it has stopped).
//!
//! Usage: `mercato-webhook-sink --listen 127.0.0.1:19000`. One thread serves every
//! connection, so the receiver takes as little of the machine as it can.

use std::cell::RefCell;
use std::io;
use std::rc::Rc;
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The most header lines a request may carry.
const HEADERS_MAX: usize = 48;

/// The largest request accepted (an event is a few kilobytes at most).
const BODY_BYTES_MAX: usize = 4 << 20;

/// Receives webhook deliveries and reports their rate and delay.
#[derive(clap::Parser)]
#[command(name = "mercato-webhook-sink")]
struct Options {
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1:19000")]
    listen: String,
}

#[derive(Default)]
struct Stats {
    received: u64,
    first_ms: i64,
    last_ms: i64,
    /// Each event's delay in milliseconds (events whose `time` could not be read are
    /// counted but not timed).
    delays: Vec<i64>,
    /// When `POST /mark` was called, and what had been received by then.
    mark: Option<(i64, u64)>,
}

impl Stats {
    fn record(&mut self, body: &[u8]) {
        let now = now_ms();
        if self.received == 0 {
            self.first_ms = now;
        }
        self.received += 1;
        self.last_ms = now;
        if let Some(time) = event_time(body) {
            self.delays.push((now - time).max(0));
        }
    }

    fn json(&self) -> String {
        let mut delays = self.delays.clone();
        delays.sort_unstable();
        // The nearest rank: the smallest delay at least `percent` % of them are at or under.
        let at = |percent: usize| -> i64 {
            if delays.is_empty() {
                return 0;
            }
            let rank = (delays.len() * percent).div_ceil(100);
            delays[rank.clamp(1, delays.len()) - 1]
        };
        let span = (self.last_ms - self.first_ms).max(1) as f64 / 1000.0;
        let rate = if self.received > 1 { (self.received - 1) as f64 / span } else { 0.0 };
        let since_mark = self.mark.map_or(0.0, |(at, received)| {
            (self.received - received) as f64 / ((self.last_ms - at).max(1) as f64 / 1000.0)
        });
        serde_json::json!({
            "received": self.received,
            "first_ms": self.first_ms,
            "last_ms": self.last_ms,
            "rate": rate.round(),
            "rate_since_mark": since_mark.round(),
            "delay_p50_ms": at(50),
            "delay_p99_ms": at(99),
            "delay_max_ms": delays.last().copied().unwrap_or(0),
        })
        .to_string()
    }
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The event's `time` (RFC 3339) in milliseconds since the epoch.
fn event_time(body: &[u8]) -> Option<i64> {
    #[derive(serde::Deserialize)]
    struct Event<'a> {
        #[serde(borrow)]
        time: &'a str,
    }
    let event: Event<'_> = serde_json::from_slice(body).ok()?;
    chrono::DateTime::parse_from_rfc3339(event.time).ok().map(|t| t.timestamp_millis())
}

fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.to_owned())
}

/// One parsed request: its method, path, and where its body starts and ends in the input.
struct Request {
    method: String,
    path: String,
    body: std::ops::Range<usize>,
}

/// Parses the request at the start of `input`, or `None` when more bytes are needed.
fn parse(input: &[u8]) -> io::Result<Option<Request>> {
    let mut headers = [httparse::EMPTY_HEADER; HEADERS_MAX];
    let mut request = httparse::Request::new(&mut headers);
    let head = match request.parse(input).map_err(|e| invalid(&e.to_string()))? {
        httparse::Status::Complete(head) => head,
        httparse::Status::Partial => return Ok(None),
    };
    let length = request
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
        .map(|h| std::str::from_utf8(h.value).ok().and_then(|v| v.trim().parse::<usize>().ok()))
        .unwrap_or(Some(0))
        .ok_or_else(|| invalid("a bad content-length"))?;
    if length > BODY_BYTES_MAX {
        return Err(invalid("a request too large"));
    }
    if input.len() < head + length {
        return Ok(None);
    }
    Ok(Some(Request {
        method: request.method.unwrap_or("").to_owned(),
        path: request.path.unwrap_or("").to_owned(),
        body: head..head + length,
    }))
}

fn answer(status: &str, body: &str) -> Vec<u8> {
    format!("HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}", body.len())
        .into_bytes()
}

async fn serve(mut stream: TcpStream, stats: Rc<RefCell<Stats>>) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut input = Vec::with_capacity(16 << 10);
    let mut chunk = vec![0_u8; 64 << 10];
    loop {
        while let Some(request) = parse(&input)? {
            let out = match (request.method.as_str(), request.path.as_str()) {
                ("GET", "/stats") => answer("200 OK", &stats.borrow().json()),
                ("POST", "/reset") => {
                    *stats.borrow_mut() = Stats::default();
                    answer("200 OK", "{}")
                }
                ("POST", "/mark") => {
                    let mut stats = stats.borrow_mut();
                    stats.mark = Some((now_ms(), stats.received));
                    answer("200 OK", "{}")
                }
                ("POST", _) => {
                    stats.borrow_mut().record(&input[request.body.clone()]);
                    answer("200 OK", "")
                }
                _ => answer("404 Not Found", "{}"),
            };
            input.drain(..request.body.end);
            stream.write_all(&out).await?;
        }
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            return Ok(());
        }
        input.extend_from_slice(&chunk[..read]);
    }
}

fn main() -> io::Result<()> {
    let options = <Options as clap::Parser>::parse();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async move {
        let listener = TcpListener::bind(&options.listen).await?;
        eprintln!("mercato-webhook-sink: listening on {}", options.listen);
        let stats = Rc::new(RefCell::new(Stats::default()));
        loop {
            let (stream, _) = listener.accept().await?;
            let stats = Rc::clone(&stats);
            tokio::task::spawn_local(async move {
                let _ = serve(stream, stats).await;
            });
        }
    })
}
