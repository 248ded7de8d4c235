//! A lean HTTP/1.1 client for the end-to-end benchmark: one keep-alive connection per
//! simulated client, requests written from a reused buffer, answers parsed with
//! `httparse` and read to their `Content-Length`. It costs the load generator a few
//! microseconds per request (a write and a read system call, as wrk does), so more of
//! the machine's two cores go to the server being measured. A general client (reqwest)
//! took about half the CPU at the rates measured here.

use std::io;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The most header lines an answer may carry.
const HEADERS_MAX: usize = 32;

/// The largest answer accepted (an order with its documents stays far below it).
const BODY_BYTES_MAX: usize = 16 << 20;

/// A connection idle this long is opened again before its next request: the server
/// closes keep-alive connections idle for 5 s (actix-web's default).
const IDLE_REOPEN: Duration = Duration::from_secs(4);

/// One keep-alive connection, opened again when the server closed it or it sat idle.
pub struct Connection {
    stream: TcpStream,
    /// The server said `Connection: close`, or the connection failed.
    closed: bool,
    last_used: Instant,
    host: String,
    /// The request being written (reused).
    out: Vec<u8>,
    /// Bytes read and not yet consumed.
    input: Vec<u8>,
}

/// An answer: its status and body.
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

impl Connection {
    /// Connects to `address` (`host:port`), with Nagle's delay off.
    pub async fn open(address: &str) -> io::Result<Self> {
        Ok(Self {
            stream: Self::connect(address).await?,
            closed: false,
            last_used: Instant::now(),
            host: address.to_owned(),
            out: Vec::with_capacity(512),
            input: Vec::with_capacity(8192),
        })
    }

    async fn connect(address: &str) -> io::Result<TcpStream> {
        let stream = TcpStream::connect(address).await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    /// Sends one request and reads its whole answer. A request is never sent twice: a
    /// connection the server may have closed is opened again before sending.
    pub async fn send(&mut self, method: &str, path: &str, key: &str, body: Option<&[u8]>) -> io::Result<Answer> {
        if self.closed || self.last_used.elapsed() >= IDLE_REOPEN {
            self.stream = Self::connect(&self.host).await?;
            self.input.clear();
            self.closed = false;
        }
        let answer = self.exchange(method, path, key, body).await;
        self.last_used = Instant::now();
        if answer.is_err() {
            self.closed = true;
        }
        answer
    }

    async fn exchange(&mut self, method: &str, path: &str, key: &str, body: Option<&[u8]>) -> io::Result<Answer> {
        self.out.clear();
        let head = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {key}\r\n", self.host);
        self.out.extend_from_slice(head.as_bytes());
        if let Some(body) = body {
            let length = format!("Content-Type: application/json\r\nContent-Length: {}\r\n\r\n", body.len());
            self.out.extend_from_slice(length.as_bytes());
            self.out.extend_from_slice(body);
        } else {
            self.out.extend_from_slice(b"\r\n");
        }
        self.stream.write_all(&self.out).await?;
        self.read_answer().await
    }

    async fn fill(&mut self) -> io::Result<()> {
        let before = self.input.len();
        self.input.resize(before + 16384, 0);
        let read = self.stream.read(&mut self.input[before..]).await;
        let read = match read {
            Ok(read) => read,
            Err(error) => {
                self.input.truncate(before);
                return Err(error);
            }
        };
        self.input.truncate(before + read);
        if read == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the server closed the connection"));
        }
        Ok(())
    }

    async fn read_answer(&mut self) -> io::Result<Answer> {
        loop {
            let mut headers = [httparse::EMPTY_HEADER; HEADERS_MAX];
            let mut response = httparse::Response::new(&mut headers);
            match response.parse(&self.input) {
                Ok(httparse::Status::Complete(head)) => {
                    let status = response.code.unwrap_or(0);
                    if (100..200).contains(&status) {
                        // An interim answer (100 Continue): the real one follows.
                        self.input.drain(..head);
                        continue;
                    }
                    let mut length = None;
                    for header in response.headers.iter() {
                        if header.name.eq_ignore_ascii_case("content-length") {
                            let text = std::str::from_utf8(header.value).unwrap_or("");
                            let parsed =
                                text.trim().parse().map_err(|_| invalid(format!("Content-Length {text:?}")))?;
                            length = Some(parsed);
                        } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
                            return Err(invalid("chunked answers are not read by this client".into()));
                        } else if header.name.eq_ignore_ascii_case("connection")
                            && header.value.eq_ignore_ascii_case(b"close")
                        {
                            self.closed = true;
                        }
                    }
                    let length = match length {
                        Some(length) => length,
                        None if status == 204 || status == 304 => 0,
                        None => return Err(invalid(format!("a {status} answer without Content-Length"))),
                    };
                    if length > BODY_BYTES_MAX {
                        return Err(invalid(format!("an answer of {length} bytes")));
                    }
                    while self.input.len() < head + length {
                        self.fill().await?;
                    }
                    let body = self.input[head..head + length].to_vec();
                    self.input.drain(..head + length);
                    return Ok(Answer { status, body });
                }
                Ok(httparse::Status::Partial) => self.fill().await?,
                Err(error) => return Err(invalid(format!("an unreadable answer: {error}"))),
            }
        }
    }
}
