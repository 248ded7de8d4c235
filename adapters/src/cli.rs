//! The `mercato` command line.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Mercato: an in-memory order processing engine for online commerces and marketplaces.
#[derive(Debug, Parser)]
#[command(name = "mercato", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (the default when no command is given).
    Serve,
    /// Validate configuration files: print every violation and exit 1, or print a one-line
    /// summary per commerce and exit 0.
    Check {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Print the configuration format as a JSON Schema (draft 2020-12), or with
    /// `--markdown` as the reference page `docs/configuration.md`.
    ConfigSchema {
        #[arg(long)]
        markdown: bool,
    },
    /// Audit replay: rebuild the node in `--data` as of a moment, from its snapshots and
    /// its log, without changing the folder, and serve the reads it answered then on
    /// `--listen` (every other request is refused). Run it on a stopped node's folder or a
    /// copy.
    Replay {
        /// The moment: a log position (`{lsn}` or an event's `{lsn}.{index}`: every
        /// record up to that one), or an RFC 3339 time (every record up to the last one
        /// stamped at or before it; order changes carry their time).
        #[arg(long)]
        until: String,
    },
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Commerce configuration files, one commerce each; repeat the flag or separate with
    /// commas. None serves the embedded demo.
    #[arg(long = "config", env = "MERCATO_CONFIG", value_delimiter = ',', global = true)]
    pub configs: Vec<PathBuf>,
    /// Address to listen on.
    #[arg(long, env = "MERCATO_LISTEN", default_value = "127.0.0.1:8080", global = true)]
    pub listen: SocketAddr,
    /// Folder for the node's data (log segments, snapshots).
    #[arg(long, env = "MERCATO_DATA", default_value = "./data", global = true)]
    pub data: PathBuf,
    /// When a change is acknowledged: `sync` once its log batch is on disk (fdatasync),
    /// `async` once it is written, with the disk synced every `--sync-interval-ms`.
    #[arg(long, env = "MERCATO_DURABILITY", value_enum, default_value_t = Durability::Sync, global = true)]
    pub durability: Durability,
    /// In `async` mode, the longest time between two syncs of the log.
    #[arg(long, env = "MERCATO_SYNC_INTERVAL_MS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=60_000), global = true)]
    pub sync_interval_ms: u64,
    /// How far the node's background work yields the cores to requests: the nice value of
    /// import jobs' threads, the events thread and snapshot writing, 0 (an equal share) to
    /// 19 (the idle class, `SCHED_IDLE`: only what requests leave idle, and a request's
    /// thread takes the core back at once). Linux only (each thread has its own).
    #[arg(long, env = "MERCATO_BACKGROUND_NICE", default_value_t = 10, value_parser = clap::value_parser!(i32).range(0..=19), global = true)]
    pub background_nice: i32,
    /// Runs the threads every request passes through (the HTTP workers, the actors' thread,
    /// the log's writer) in the real-time class (`SCHED_FIFO` 1): a woken request's thread
    /// then takes a core at once, where a kernel that preempts lazily may leave it waiting
    /// up to a tick (1 to 4 ms) behind other work, an import's included. Needs root,
    /// `CAP_SYS_NICE` or an `RLIMIT_RTPRIO` (where refused: a warning, and the usual class);
    /// the kernel still keeps 5% of each second for other threads. Linux only.
    #[arg(long, env = "MERCATO_REALTIME_REQUESTS", global = true)]
    pub realtime_requests: bool,
    /// How often every actor's state is written to the snapshot store (and the log before
    /// the previous snapshot deleted). A snapshot is also taken at a clean shutdown.
    #[arg(long, env = "MERCATO_SNAPSHOT_INTERVAL_MS", default_value_t = 60_000, value_parser = clap::value_parser!(u64).range(100..=86_400_000), global = true)]
    pub snapshot_interval_ms: u64,
    /// The snapshot store's page cache, in MiB.
    #[arg(long, env = "MERCATO_SNAPSHOT_CACHE_MB", default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=65_536), global = true)]
    pub snapshot_cache_mb: u64,
    /// How often finished orders move from memory to the archive.
    #[arg(long, env = "MERCATO_ARCHIVE_INTERVAL_MS", default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(10..=86_400_000), global = true)]
    pub archive_interval_ms: u64,
    /// The archive of finished orders' page cache, in MiB: what stays in memory of
    /// the orders that left it.
    #[arg(long, env = "MERCATO_ARCHIVE_CACHE_MB", default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=65_536), global = true)]
    pub archive_cache_mb: u64,
    /// The event store's page cache, in MiB: the events' tail, the open orders' notes
    /// and the pages removing old events reads.
    #[arg(long, env = "MERCATO_EVENT_CACHE_MB", default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=65_536), global = true)]
    pub event_cache_mb: u64,
    /// HTTP worker threads (each its own event loop). The node's actors run on one more
    /// thread and the log writer on another; 0 means one per core.
    #[arg(long, env = "MERCATO_HTTP_WORKERS", default_value_t = 0, value_parser = clap::value_parser!(u16).range(0..=256), global = true)]
    pub http_workers: u16,
    /// A log segment is closed and a new one started at this size (the first after a start
    /// sooner, once the next is ready); whole segments a snapshot covers are deleted. The
    /// next segment is made ahead, zeroed to this size (`next.spare` beside the segments).
    #[arg(long, env = "MERCATO_LOG_SEGMENT_MB", default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=1_024), global = true)]
    pub log_segment_mb: u64,
    /// A webhook's first retry waits this long; each later one twice as long, at most 6 h.
    #[arg(long, env = "MERCATO_WEBHOOK_RETRY_BASE_MS", default_value_t = 5_000, value_parser = clap::value_parser!(u64).range(10..=3_600_000), global = true)]
    pub webhook_retry_base_ms: u64,
    /// How long an event is retried before it is given up (default three days).
    #[arg(long, env = "MERCATO_WEBHOOK_RETRY_FOR_S", default_value_t = 259_200, value_parser = clap::value_parser!(u64).range(1..=2_592_000), global = true)]
    pub webhook_retry_for_s: u64,
    /// How long the delivery log of webhooks and notification rules keeps an attempt
    /// (default 30 days).
    #[arg(long, env = "MERCATO_WEBHOOK_LOG_KEEP_S", default_value_t = 2_592_000, value_parser = clap::value_parser!(u64).range(1..=31_536_000), global = true)]
    pub webhook_log_keep_s: u64,
    /// How long the event store keeps an event after its change was made (default 30
    /// days), at least `--webhook-retry-for-s`: older events leave `GET …/events` and its
    /// stream. The state they told of stays (in memory, the snapshots and the archive).
    #[arg(long, env = "MERCATO_EVENT_KEEP_S", default_value_t = 2_592_000, value_parser = clap::value_parser!(u64).range(1..=315_360_000), global = true)]
    pub event_keep_s: u64,
    /// One webhook call's limit, connection included.
    #[arg(long, env = "MERCATO_WEBHOOK_TIMEOUT_MS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(100..=60_000), global = true)]
    pub webhook_timeout_ms: u64,
    /// Keep every log segment (snapshots still make starts fast): `mercato replay` then
    /// reaches any moment since the data folder began. The log grows with history.
    #[arg(long, env = "MERCATO_KEEP_LOG", global = true)]
    pub keep_log: bool,
    /// The SMTP server notification rules send e-mail through: `smtp://host:port`
    /// (plain), `smtp://host:port?tls=required` (STARTTLS) or `smtps://user:pass@host`.
    /// None: rules by e-mail are refused.
    #[arg(long, env = "MERCATO_SMTP_URL", hide_env_values = true, global = true)]
    pub smtp_url: Option<String>,
    /// The address notification e-mails come from.
    #[arg(long, env = "MERCATO_SMTP_FROM", default_value = "Mercato <mercato@localhost>", global = true)]
    pub smtp_from: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Durability {
    Sync,
    Async,
}
