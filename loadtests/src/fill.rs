//! Fills a stopped node's archive with copies of the orders it already holds, to measure
//! what a long history of finished orders costs the node (its memory at rest, its start)
//! without placing each over HTTP first: `benches/soak.sh` places and archives real orders
//! at about 1,500 a second, so ten million of them take hours; this writes them through
//! the archive's own `put` in minutes.
//!
//! Each copy is an order the archive holds (the templates: the newest 1,000) under a new id
//! (`fill-NNNNNNNNN`), placed a millisecond before the last, with one invoice of its own
//! (series `FILL-2026`): the same bytes, index entries and list entries a real order has.
//! The copies' bytes still name the template's id: the folder is for measurement only.
//!
//! Usage: `mercato-archive-fill --data DIR --orders N [--commerce demo] [--batch 1000]`
//! (the node must be stopped: the archive's files are opened once at a time).

use std::time::Instant;

use mercato_persistence::archive::{Archive, ArchivedOrder};

#[derive(clap::Parser)]
#[command(name = "mercato-archive-fill")]
struct Options {
    /// The node's data folder.
    #[arg(long)]
    data: std::path::PathBuf,
    /// How many copies to write.
    #[arg(long)]
    orders: u64,
    #[arg(long, default_value = "demo")]
    commerce: String,
    /// Orders per archive write.
    #[arg(long, default_value_t = 1_000)]
    batch: u64,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = <Options as clap::Parser>::parse();
    let archive = Archive::open(&options.data.join("archive"), 16 << 20)?;
    let mut templates = Vec::new();
    for entry in archive.listed_before(&options.commerce, None, None).take(1_000) {
        let (placed_at, id) = entry?;
        if let Some((lsn, bytes)) = archive.get(&options.commerce, &id)? {
            templates.push((placed_at, lsn, bytes));
        }
    }
    let Some(oldest) = templates.iter().map(|t| t.0).min() else {
        return Err(format!("the archive of {} holds no order to copy", options.commerce).into());
    };
    let started = Instant::now();
    let mut written = 0u64;
    while written < options.orders {
        let batch: Vec<_> = (written..options.orders.min(written + options.batch.max(1)))
            .map(|n| {
                let (_, lsn, bytes) = &templates[usize::try_from(n).unwrap_or(0) % templates.len()];
                let number = format!("FILL-2026-{}", n + 1);
                ArchivedOrder {
                    id: format!("fill-{n:09}"),
                    placed_at: oldest - 1 - i64::try_from(n).unwrap_or(i64::MAX - oldest),
                    invoices: vec![(number, "FILL-2026".to_owned(), u32::try_from(n + 1).unwrap_or(u32::MAX))],
                    bytes: bytes.clone(),
                    lsn: *lsn,
                }
            })
            .collect();
        archive.put(&options.commerce, &batch)?;
        written += batch.len() as u64;
        if written % 1_000_000 < batch.len() as u64 || written == options.orders {
            let (segments, _) = archive.segments();
            let rate = written as f64 / started.elapsed().as_secs_f64();
            println!(
                "{written} orders written in {:.1} s ({rate:.0}/s), {segments} segments",
                started.elapsed().as_secs_f64()
            );
        }
    }
    Ok(())
}
