//! Merchants' ledgers (DESIGN.md section 7), folded from the log with the events: per
//! merchant and currency, an entry for each move of its money, numbered in order, each with
//! the balance it left: a sale earned at delivery and its commission, both reversed in
//! proportion by a return (what `mercato_engine::order::settlement` posts, kept with each
//! order's note), and payouts. The account (`Account`) is the sums of the
//! entries, written in the same batch as them, with the net earnings the payout hold still
//! covers, per hour: what is available is the balance less those, never below zero.

use mercato_actors::stored::PayoutBatch;
use mercato_engine::inventory::Timestamp;
use mercato_engine::order::OrderEvent;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::derive::{Notes, OrderNote};

const DAY_MS: i64 = 86_400_000;

/// A merchant's account in one currency: the sums of its entries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Account {
    #[serde(with = "rust_decimal::serde::str")]
    pub sales: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub commissions: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub sales_reversed: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub commissions_reversed: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub paid_out: Decimal,
    /// Entries so far (the last one's number).
    pub entries: u64,
    /// Net earnings the payout hold still covered when last posted, per hour: (the time of
    /// the hour's last earning, amount).
    pub pending: Vec<(i64, Decimal)>,
}

impl Account {
    /// What the entries add up to.
    pub fn balance(&self) -> Decimal {
        self.sales - self.commissions - self.sales_reversed + self.commissions_reversed - self.paid_out
    }

    /// What a payout may take at `now` with a hold of `hold_days`: the balance less the
    /// earnings the hold still covers (an hour's earnings count from its last one; an hour
    /// whose commissions came to more than its sales holds nothing back), never below zero
    /// and never above the balance.
    pub fn available(&self, now: Timestamp, hold_days: u32) -> Decimal {
        let held: Decimal = self
            .pending
            .iter()
            .filter(|(at, amount)| at + hold_ms(hold_days) > now.0 && *amount > Decimal::ZERO)
            .map(|(_, amount)| *amount)
            .sum();
        (self.balance() - held).max(Decimal::ZERO).min(self.balance().max(Decimal::ZERO))
    }
}

fn hold_ms(days: u32) -> i64 {
    i64::from(days) * DAY_MS
}

const HOUR_MS: i64 = 3_600_000;

/// One entry of a ledger.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Entry {
    pub number: u64,
    pub at: i64,
    /// `sale`, `commission`, `sale_reversed`, `commission_reversed` or `payout`.
    pub kind: String,
    pub order: Option<String>,
    pub line: Option<String>,
    pub units: u32,
    pub payout: Option<String>,
    /// Signed: what it adds to the balance.
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
    /// The balance after it.
    #[serde(with = "rust_decimal::serde::str")]
    pub balance: Decimal,
}

/// The prefix of a commerce's accounts (`{prefix}{merchant}\u{1f}{currency}`).
pub fn accounts_prefix(commerce: &str) -> String {
    format!("ledger\u{1f}{commerce}\u{1f}")
}

pub fn account_key(commerce: &str, merchant: &str, currency: &str) -> String {
    format!("{}{merchant}\u{1f}{currency}", accounts_prefix(commerce))
}

/// The prefix of an account's entries (`{prefix}{number:020}`).
pub fn entries_prefix(commerce: &str, merchant: &str, currency: &str) -> String {
    format!("ledger-entry\u{1f}{commerce}\u{1f}{merchant}\u{1f}{currency}\u{1f}")
}

/// The note of a payout request's idempotency key: the batch it made.
pub fn request_key(commerce: &str, scope: &str, key: &str) -> String {
    format!("payout-request\u{1f}{commerce}\u{1f}{scope}\u{1f}{key}")
}

/// The note of a payout batch.
pub fn batch_key(commerce: &str, batch: &str) -> String {
    format!("payout-batch\u{1f}{commerce}\u{1f}{batch}")
}

/// What a payout batch's note holds: its payouts, and the request that made it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BatchNote {
    pub id: String,
    pub at: i64,
    pub by: String,
    /// The request's digest (hex), when it carried an idempotency key.
    pub request: Option<String>,
    pub payouts: Vec<PayoutNote>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PayoutNote {
    pub id: String,
    pub merchant: String,
    pub currency: String,
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
}

fn read<T: Default + serde::de::DeserializeOwned>(notes: &mut dyn Notes, key: &str) -> T {
    notes.get(key).and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default()
}

fn write<T: Serialize>(notes: &mut dyn Notes, key: &str, value: &T) {
    notes.set(key, Some(serde_json::to_vec(value).unwrap_or_default()));
}

/// An entry to post: whose, what and how much.
struct Posting<'a> {
    commerce: &'a str,
    merchant: &'a str,
    currency: &'a str,
    at: Timestamp,
    kind: &'static str,
    order: Option<&'a str>,
    line: Option<&'a str>,
    units: u32,
    payout: Option<&'a str>,
    amount: Decimal,
    /// The commerce's payout hold, in days.
    hold_days: u32,
}

/// Adds an entry to its account: the sums, the day's pending earnings (sales and their
/// commissions only; reversals and payouts count at once) and the entry itself.
fn post(notes: &mut dyn Notes, posting: Posting<'_>) {
    if posting.amount.is_zero() {
        return;
    }
    let key = account_key(posting.commerce, posting.merchant, posting.currency);
    let mut account: Account = read(notes, &key);
    let amount = posting.amount;
    match posting.kind {
        "sale" => account.sales += amount,
        "commission" => account.commissions -= amount,
        "sale_reversed" => account.sales_reversed -= amount,
        "commission_reversed" => account.commissions_reversed += amount,
        _ => account.paid_out -= amount,
    }
    // Earnings the hold covers no longer are let go (a hold lengthened later applies to
    // what it still covers).
    let hold = hold_ms(posting.hold_days);
    account.pending.retain(|(at, _)| at + hold > posting.at.0);
    if matches!(posting.kind, "sale" | "commission") && hold > 0 {
        let hour = posting.at.0.div_euclid(HOUR_MS);
        match account.pending.last_mut() {
            Some((at, pending)) if at.div_euclid(HOUR_MS) == hour => {
                *at = (*at).max(posting.at.0);
                *pending += amount;
            }
            _ => account.pending.push((posting.at.0, amount)),
        }
    }
    account.entries += 1;
    let entry = Entry {
        number: account.entries,
        at: posting.at.0,
        kind: posting.kind.to_owned(),
        order: posting.order.map(str::to_owned),
        line: posting.line.map(str::to_owned),
        units: posting.units,
        payout: posting.payout.map(str::to_owned),
        amount,
        balance: account.balance(),
    };
    let entry_key =
        format!("{}{:020}", entries_prefix(posting.commerce, posting.merchant, posting.currency), account.entries);
    write(notes, &entry_key, &entry);
    write(notes, &key, &account);
}

/// Folds one order event into its merchants' ledgers; `note` is the order as the event
/// left it (its sales are kept in it).
pub fn fold(
    (commerce, hold_days): (&str, u32),
    order: &str,
    at: Timestamp,
    event: &OrderEvent,
    note: &mut OrderNote,
    notes: &mut dyn Notes,
) {
    for posting in note.sales.apply(event) {
        let posting = Posting {
            commerce,
            merchant: &posting.merchant,
            currency: &note.currency,
            at,
            kind: posting.kind.as_str(),
            order: Some(order),
            line: Some(&posting.line),
            units: posting.units,
            payout: None,
            amount: posting.amount,
            hold_days,
        };
        post(notes, posting);
    }
}

/// Folds a payout batch into the ledgers and keeps the batch (and its request, when it
/// carried an idempotency key) as a note.
pub fn payouts(
    (commerce, hold_days): (&str, u32),
    (at, by): (Timestamp, &str),
    batch: &PayoutBatch,
    notes: &mut dyn Notes,
) {
    for payout in &batch.payouts {
        let posting = Posting {
            commerce,
            merchant: &payout.merchant,
            currency: &payout.currency,
            at,
            kind: "payout",
            order: None,
            line: None,
            units: 0,
            payout: Some(&payout.id),
            amount: -payout.amount,
            hold_days,
        };
        post(notes, posting);
    }
    let request = batch.stamp.as_ref().map(|stamp| hex(&stamp.request));
    let note = BatchNote {
        id: batch.id.clone(),
        at: at.0,
        by: by.to_owned(),
        request,
        payouts: batch
            .payouts
            .iter()
            .map(|p| PayoutNote {
                id: p.id.clone(),
                merchant: p.merchant.clone(),
                currency: p.currency.clone(),
                amount: p.amount,
            })
            .collect(),
    };
    write(notes, &batch_key(commerce, &batch.id), &note);
    if let Some(stamp) = &batch.stamp {
        notes.set(&request_key(commerce, &stamp.scope, &stamp.key), Some(batch.id.clone().into_bytes()));
    }
}

/// Bytes as lowercase hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Notes in memory.
    #[derive(Default)]
    struct Memory(std::collections::HashMap<String, Vec<u8>>);

    impl Notes for Memory {
        fn get(&mut self, key: &str) -> Option<Vec<u8>> {
            self.0.get(key).cloned()
        }
        fn set(&mut self, key: &str, bytes: Option<Vec<u8>>) {
            match bytes {
                Some(bytes) => self.0.insert(key.to_owned(), bytes),
                None => self.0.remove(key),
            };
        }
    }

    fn posting(at: i64, kind: &'static str, amount: i64, hold_days: u32) -> Posting<'static> {
        Posting {
            commerce: "c",
            merchant: "m",
            currency: "EUR",
            at: Timestamp(at),
            kind,
            order: None,
            line: None,
            units: 1,
            payout: None,
            amount: Decimal::new(amount, 2),
            hold_days,
        }
    }

    // Proves the payout hold: earnings are available once older than the hold (counted from
    // their hour's last earning), reversals and payouts count at once, and what is
    // available never goes below zero.
    #[test]
    fn earnings_wait_for_the_hold_and_reversals_do_not() {
        let mut notes = Memory::default();
        let (day, hold) = (DAY_MS, 2);
        post(&mut notes, posting(0, "sale", 10_000, hold));
        post(&mut notes, posting(1_000, "commission", -1_000, hold));
        post(&mut notes, posting(day, "sale", 5_000, hold));
        let account: Account = read(&mut notes, &account_key("c", "m", "EUR"));
        assert_eq!(account.balance(), Decimal::new(14_000, 2));
        assert_eq!(account.available(Timestamp(day), hold), Decimal::ZERO, "nothing is two days old");
        assert_eq!(account.available(Timestamp(2 * day + 1_000), hold), Decimal::new(9_000, 2), "the first day's");
        assert_eq!(account.available(Timestamp(3 * day), hold), Decimal::new(14_000, 2), "all of it");
        post(&mut notes, posting(3 * day, "sale_reversed", -12_000, hold));
        let account: Account = read(&mut notes, &account_key("c", "m", "EUR"));
        assert_eq!(account.available(Timestamp(3 * day), hold), Decimal::new(2_000, 2), "a reversal counts at once");
        post(&mut notes, posting(3 * day, "payout", -2_000, hold));
        post(&mut notes, posting(3 * day, "sale_reversed", -500, hold));
        let account: Account = read(&mut notes, &account_key("c", "m", "EUR"));
        assert_eq!(account.balance(), Decimal::new(-500, 2));
        assert_eq!(account.available(Timestamp(9 * day), hold), Decimal::ZERO, "never below zero");
        assert_eq!(account.entries, 6);
        let last: Entry = read(&mut notes, &format!("{}{:020}", entries_prefix("c", "m", "EUR"), 6));
        assert_eq!((last.kind.as_str(), last.balance), ("sale_reversed", Decimal::new(-500, 2)));
        assert!(account.pending.is_empty(), "held earnings past the hold are let go");
    }

    // Proves an hour whose commissions came to more than its sales (a fixed commission on
    // a free line) holds nothing back: what is available never exceeds the balance.
    #[test]
    fn a_commission_above_its_sale_never_makes_more_available() {
        let mut notes = Memory::default();
        let hold = 2;
        post(&mut notes, posting(0, "sale", 10_000, hold));
        post(&mut notes, posting(3 * DAY_MS, "commission", -200, hold));
        let account: Account = read(&mut notes, &account_key("c", "m", "EUR"));
        assert_eq!(account.balance(), Decimal::new(9_800, 2));
        assert_eq!(account.available(Timestamp(3 * DAY_MS), hold), Decimal::new(9_800, 2), "not 100.00");
    }
}
