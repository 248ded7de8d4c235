//! An import file's rows, read one at a time and turned into products (or the problems
//! that keep each from being one). A row's number is its line in the file (a CSV's header
//! is line 1). NDJSON: one product per line, as `PUT …/products/{sku}` takes it, with its
//! `sku`; blank lines are skipped. CSV: a header naming the columns (`sku`, `tax_class`,
//! `shipping_class`, `family`, `merchant`, `weight_grams`, `weight` as `2.5 lb`,
//! `related` as SKUs separated by `|`, `quantity_min`, `quantity_max`,
//! `quantity_multiple_of`, `stock_policy`, `stock_policy_days`, `stock_policy_cap`,
//! `stock_policy_release_date`, `media` as `kind url` entries separated by `|`, and
//! `name.{language}`, `description.{language}`, `price.{currency}`, `attribute.{code}`);
//! an empty cell leaves its field unset.

use std::io::{BufRead, BufReader, Read};

use mercato_actors::catalog::ImportRow;

use super::ImportFormat;
use crate::http::routes::products::{
    MediaBody, MediaKindBody, ProductBody, StockPolicyBody, StockPolicyKindBody, WeightBody, WeightUnitBody,
};

/// A CSV column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Column {
    Sku,
    TaxClass,
    ShippingClass,
    Family,
    Merchant,
    WeightGrams,
    Weight,
    Related,
    QuantityMin,
    QuantityMax,
    QuantityMultipleOf,
    StockPolicy,
    StockPolicyDays,
    StockPolicyCap,
    StockPolicyReleaseDate,
    Media,
    Name(String),
    Description(String),
    Price(String),
    Attribute(String),
}

fn column(name: &str) -> Result<Column, String> {
    let fixed = match name {
        "sku" => Some(Column::Sku),
        "tax_class" => Some(Column::TaxClass),
        "shipping_class" => Some(Column::ShippingClass),
        "family" => Some(Column::Family),
        "merchant" => Some(Column::Merchant),
        "weight_grams" => Some(Column::WeightGrams),
        "weight" => Some(Column::Weight),
        "related" => Some(Column::Related),
        "quantity_min" => Some(Column::QuantityMin),
        "quantity_max" => Some(Column::QuantityMax),
        "quantity_multiple_of" => Some(Column::QuantityMultipleOf),
        "stock_policy" => Some(Column::StockPolicy),
        "stock_policy_days" => Some(Column::StockPolicyDays),
        "stock_policy_cap" => Some(Column::StockPolicyCap),
        "stock_policy_release_date" => Some(Column::StockPolicyReleaseDate),
        "media" => Some(Column::Media),
        _ => None,
    };
    if let Some(fixed) = fixed {
        return Ok(fixed);
    }
    let keyed = |prefix: &str| name.strip_prefix(prefix).filter(|key| !key.is_empty()).map(str::to_owned);
    keyed("name.")
        .map(Column::Name)
        .or_else(|| keyed("description.").map(Column::Description))
        .or_else(|| keyed("price.").map(Column::Price))
        .or_else(|| keyed("attribute.").map(Column::Attribute))
        .ok_or_else(|| format!("column \"{name}\" is not a product field"))
}

/// The columns a CSV header names, or why it names none a product has.
fn columns(header: &csv::StringRecord) -> Result<Vec<Column>, String> {
    let columns: Vec<Column> = header.iter().map(column).collect::<Result<_, _>>()?;
    if !columns.contains(&Column::Sku) {
        return Err("the header has no \"sku\" column".into());
    }
    for (i, c) in columns.iter().enumerate() {
        if columns[..i].contains(c) {
            return Err(format!("column \"{}\" is named twice", &header[i]));
        }
    }
    Ok(columns)
}

/// Checks the start of an upload: a CSV's header must name product fields only.
pub fn check_header(format: ImportFormat, start: &[u8]) -> Result<(), String> {
    if format == ImportFormat::Ndjson {
        return Ok(());
    }
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(start);
    let header = reader.headers().map_err(|error| format!("the CSV header does not read: {error}"))?;
    columns(header).map(|_| ())
}

/// The rows of an import's file.
pub struct Rows {
    source: Source,
    /// The last row read.
    last: u64,
}

/// The most bytes a row may take: what `PUT …/products/{sku}` takes (the body limit of
/// every JSON route), so a product imported can always be put back. A longer row is
/// refused whole, and an NDJSON row is skipped without being held in memory.
pub const IMPORT_ROW_BYTES_MAX: usize = 64 * 1024;

enum Source {
    Ndjson { reader: BufReader<Box<dyn Read>>, line: u64 },
    Csv { reader: csv::Reader<Newlines>, columns: Vec<Column>, lines: LineCount },
}

/// A reader that notes where each newline it passes is (and whether a carriage return
/// comes just before it), so that a CSV record's line is counted from its byte offset: the
/// CSV reader's own count, and its record's offset, pass over blank lines.
struct Newlines {
    inner: Box<dyn Read>,
    offset: u64,
    last: u8,
    seen: Seen,
}

/// Newlines noted: each one's offset, and whether a carriage return is just before it.
type Seen = std::sync::Arc<std::sync::Mutex<std::collections::VecDeque<(u64, bool)>>>;

impl Read for Newlines {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buf)?;
        let mut seen = self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut before = self.last;
        for (i, byte) in buf[..read].iter().enumerate() {
            if *byte == b'\n' {
                seen.push_back((self.offset + i as u64, before == b'\r'));
            }
            before = *byte;
        }
        self.last = before;
        self.offset += read as u64;
        Ok(read)
    }
}

/// The lines before a byte offset, counted from the newlines `Newlines` noted (offsets
/// asked in order, so those before are let go of).
struct LineCount {
    seen: Seen,
    before: u64,
}

impl LineCount {
    /// The line (from 1) of the record the CSV reader says starts at `offset`: blank
    /// lines there are passed over first.
    fn line_at(&mut self, mut offset: u64) -> u64 {
        let mut seen = self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        while let Some(&(newline, after_cr)) = seen.front() {
            if newline < offset {
                self.before += 1;
            } else if newline == offset {
                offset += 1;
                self.before += 1;
            } else if newline == offset + 1 && after_cr {
                offset += 2;
                self.before += 1;
            } else {
                break;
            }
            seen.pop_front();
        }
        self.before + 1
    }
}

impl Rows {
    pub fn new(format: ImportFormat, reader: Box<dyn Read>) -> Result<Self, String> {
        let source = match format {
            ImportFormat::Ndjson => Source::Ndjson { reader: BufReader::new(reader), line: 0 },
            ImportFormat::Csv => {
                let seen = std::sync::Arc::default();
                let counted = Newlines { inner: reader, offset: 0, last: 0, seen: std::sync::Arc::clone(&seen) };
                let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(counted);
                let header = reader.headers().map_err(|error| format!("the CSV header does not read: {error}"))?;
                let columns = columns(header)?;
                Source::Csv { reader, columns, lines: LineCount { seen, before: 0 } }
            }
        };
        Ok(Rows { source, last: 0 })
    }

    /// Up to `max` rows, and rows of `bytes_max` bytes at most together (one log record
    /// holds them), after row `after`: the rows, the last row read so far, and whether
    /// the file ended.
    pub fn next_batch(&mut self, max: usize, bytes_max: usize, after: u64) -> (Vec<ImportRow>, u64, bool) {
        let mut batch = Vec::with_capacity(max);
        let mut bytes = 0;
        while batch.len() < max && bytes < bytes_max {
            match self.next_row() {
                None => return (batch, self.last, true),
                Some((row, size, read)) => {
                    self.last = self.last.max(row);
                    if let Some(read) = read.filter(|_| row > after) {
                        bytes += size;
                        batch.push(read);
                    }
                }
            }
        }
        (batch, self.last, false)
    }

    /// The next row's number, its size in bytes and what it reads as (none for a blank
    /// line).
    fn next_row(&mut self) -> Option<(u64, usize, Option<ImportRow>)> {
        match &mut self.source {
            Source::Ndjson { reader, line } => {
                let read = bounded_line(reader, IMPORT_ROW_BYTES_MAX);
                let row = *line + 1;
                let (text, size) = match read {
                    Ok(None) => return None,
                    Ok(Some(Line::Text(text))) => (text, 0),
                    Ok(Some(Line::TooLong(size))) => ("".into(), size),
                    Err(error) => {
                        *line = row;
                        return Some((row, 0, Some(refused(row, String::new(), vec![error.to_string()]))));
                    }
                };
                *line = row;
                if size > 0 {
                    return Some((row, 0, Some(refused(row, String::new(), vec![too_long(size)]))));
                }
                // A byte order mark may open the file.
                let text = if row == 1 { text.strip_prefix('\u{feff}').unwrap_or(&text) } else { &text };
                if text.trim().is_empty() {
                    return Some((row, 0, None));
                }
                Some((row, text.len(), Some(ndjson_row(row, text))))
            }
            Source::Csv { reader, columns, lines } => {
                let mut record = csv::StringRecord::new();
                match reader.read_record(&mut record) {
                    Ok(false) => None,
                    Ok(true) => {
                        let row = record.position().map_or(0, |p| lines.line_at(p.byte()));
                        let size = record.as_slice().len();
                        if size > IMPORT_ROW_BYTES_MAX {
                            return Some((row, 0, Some(refused(row, String::new(), vec![too_long(size)]))));
                        }
                        Some((row, size, Some(csv_row(row, columns, &record))))
                    }
                    Err(error) => {
                        let row = error.position().map_or(0, |p| lines.line_at(p.byte()));
                        Some((row, 0, Some(refused(row, String::new(), vec![error.to_string()]))))
                    }
                }
            }
        }
    }
}

fn too_long(size: usize) -> String {
    format!("the row is {size} bytes or more, over the {IMPORT_ROW_BYTES_MAX} a product may take")
}

/// A line of an NDJSON file.
enum Line {
    Text(String),
    /// Over the limit: skipped to its end, and how many bytes were read of it (at least).
    TooLong(usize),
}

/// The next line of `reader` (its newline and a carriage return before it taken off),
/// read up to `max` bytes: a longer one is skipped to its end, never held whole.
fn bounded_line(reader: &mut BufReader<Box<dyn Read>>, max: usize) -> std::io::Result<Option<Line>> {
    let mut bytes = Vec::new();
    let read = reader.by_ref().take(max as u64 + 1).read_until(b'\n', &mut bytes)?;
    if read == 0 {
        return Ok(None);
    }
    let ended = bytes.last() == Some(&b'\n');
    if ended {
        bytes.pop();
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
    }
    if bytes.len() > max {
        let mut skipped = bytes.len();
        loop {
            let available = reader.fill_buf()?;
            if available.is_empty() {
                break;
            }
            match available.iter().position(|b| *b == b'\n') {
                Some(end) => {
                    reader.consume(end + 1);
                    skipped += end;
                    break;
                }
                None => {
                    let length = available.len();
                    reader.consume(length);
                    skipped += length;
                }
            }
        }
        return Ok(Some(Line::TooLong(skipped)));
    }
    String::from_utf8(bytes)
        .map(|text| Some(Line::Text(text)))
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "stream did not contain valid UTF-8"))
}

fn refused(row: u64, sku: String, problems: Vec<String>) -> ImportRow {
    ImportRow { row, sku, product: Err(problems), stand_in: None }
}

fn with_sku(row: u64, body: ProductBody) -> ImportRow {
    let Some(sku) = body.sku.clone().filter(|sku| !sku.is_empty()) else {
        return refused(row, String::new(), vec!["sku is required".into()]);
    };
    match body.read(&sku) {
        (product, problems) if problems.is_empty() => ImportRow { row, sku, product: Ok(product), stand_in: None },
        (stand_in, problems) => ImportRow { row, sku, product: Err(problems), stand_in: Some(Box::new(stand_in)) },
    }
}

fn ndjson_row(row: u64, text: &str) -> ImportRow {
    match crate::http::strict::from_str::<ProductBody>(text) {
        Ok(body) => with_sku(row, body),
        Err(error) => {
            let sku = serde_json::from_str::<serde_json::Value>(text)
                .ok()
                .and_then(|v| v.get("sku").and_then(|s| s.as_str()).map(str::to_owned))
                .unwrap_or_default();
            refused(row, sku, vec![format!("the row does not read: {error}")])
        }
    }
}

fn csv_row(row: u64, columns: &[Column], record: &csv::StringRecord) -> ImportRow {
    let mut body = ProductBody::default();
    let mut problems = Vec::new();
    for (column, cell) in columns.iter().zip(record.iter()) {
        if cell.is_empty() {
            continue;
        }
        if let Err(problem) = set(&mut body, column, cell) {
            problems.push(problem);
        }
    }
    if record.len() != columns.len() {
        problems.push(format!("the row has {} cells for {} columns", record.len(), columns.len()));
    }
    if problems.is_empty() {
        with_sku(row, body)
    } else {
        refused(row, body.sku.unwrap_or_default(), problems)
    }
}

fn number(cell: &str, what: &str) -> Result<u32, String> {
    cell.trim().parse().map_err(|_| format!("{what} \"{cell}\" is not a whole number"))
}

/// Sets the field a CSV cell gives.
fn set(body: &mut ProductBody, column: &Column, cell: &str) -> Result<(), String> {
    let text = || cell.to_owned();
    match column {
        Column::Sku => body.sku = Some(text()),
        Column::TaxClass => body.tax_class = text(),
        Column::ShippingClass => body.shipping_class = text(),
        Column::Family => body.family = Some(text()),
        Column::Merchant => body.merchant = Some(text()),
        Column::WeightGrams => body.weight_grams = Some(number(cell, "weight_grams")?),
        Column::Weight => body.weight = Some(weight(cell)?),
        Column::Related => body.related = cell.split('|').map(|s| s.trim().to_owned()).collect(),
        Column::QuantityMin => body.quantity.min = number(cell, "quantity_min")?,
        Column::QuantityMax => body.quantity.max = Some(number(cell, "quantity_max")?),
        Column::QuantityMultipleOf => body.quantity.multiple_of = number(cell, "quantity_multiple_of")?,
        Column::StockPolicy => policy(body).kind = Some(policy_kind(cell)?),
        Column::StockPolicyDays => policy(body).days = Some(number(cell, "stock_policy_days")?),
        Column::StockPolicyCap => policy(body).cap = Some(number(cell, "stock_policy_cap")?),
        Column::StockPolicyReleaseDate => policy(body).release_date = Some(text()),
        Column::Media => body.media = cell.split('|').map(media).collect::<Result<_, _>>()?,
        Column::Name(language) => _ = body.names.insert(language.clone(), text()),
        Column::Description(language) => _ = body.descriptions.insert(language.clone(), text()),
        Column::Price(currency) => _ = body.prices.insert(currency.clone(), text()),
        Column::Attribute(code) => _ = body.attributes.insert(code.clone(), text()),
    }
    Ok(())
}

fn policy(body: &mut ProductBody) -> &mut StockPolicyBody {
    body.stock_policy.get_or_insert_with(StockPolicyBody::default)
}

fn policy_kind(cell: &str) -> Result<StockPolicyKindBody, String> {
    serde_json::from_value(serde_json::Value::String(cell.trim().to_owned())).map_err(|_| {
        format!("stock_policy \"{cell}\" is not stock_only, backorder_incoming, backorder_lead_time or preorder")
    })
}

/// A weight as `2.5 lb` (g, kg, lb or oz).
fn weight(cell: &str) -> Result<WeightBody, String> {
    let mut parts = cell.split_whitespace();
    let (Some(value), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!("weight \"{cell}\" is not a value and a unit (2.5 lb)"));
    };
    let unit = match unit {
        "g" => WeightUnitBody::G,
        "kg" => WeightUnitBody::Kg,
        "lb" => WeightUnitBody::Lb,
        "oz" => WeightUnitBody::Oz,
        other => return Err(format!("weight unit \"{other}\" is not g, kg, lb or oz")),
    };
    Ok(WeightBody { value: value.to_owned(), unit })
}

/// A medium as `kind url` (image, video or 3d).
fn media(entry: &str) -> Result<MediaBody, String> {
    let mut parts = entry.split_whitespace();
    let (Some(kind), Some(url), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!("media \"{entry}\" is not a kind and a url (image https://…)"));
    };
    let kind = match kind {
        "image" => MediaKindBody::Image,
        "video" => MediaKindBody::Video,
        "3d" => MediaKindBody::Model3d,
        other => return Err(format!("media kind \"{other}\" is not image, video or 3d")),
    };
    Ok(MediaBody { url: url.to_owned(), kind: Some(kind), alt: Default::default() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows_of(format: ImportFormat, text: &'static str) -> Vec<u64> {
        let mut rows = Rows::new(format, Box::new(text.as_bytes())).expect("a header");
        let (batch, _, done) = rows.next_batch(100, usize::MAX, 0);
        assert!(done);
        batch.iter().map(|row| row.row).collect()
    }

    // Proves a row's number is its line in the file, blank lines and a quoted field over
    // two lines counted, in CSV as in NDJSON.
    #[test]
    fn a_rows_number_is_its_line() {
        let csv = "sku,name.en\nR2,a\n\nR4,b\r\n\r\nR6,\"two\nlines\"\nR8,c\n";
        assert_eq!(rows_of(ImportFormat::Csv, csv), vec![2, 4, 6, 8]);
        let ndjson = "{\"sku\":\"A\"}\n\n{\"sku\":\"B\"}\r\n{\"sku\":\"C\"}";
        assert_eq!(rows_of(ImportFormat::Ndjson, ndjson), vec![1, 3, 4]);
    }
}
