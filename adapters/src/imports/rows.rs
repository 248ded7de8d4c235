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

enum Source {
    Ndjson { lines: std::io::Lines<BufReader<Box<dyn Read>>>, line: u64 },
    Csv { reader: csv::Reader<Box<dyn Read>>, columns: Vec<Column> },
}

impl Rows {
    pub fn new(format: ImportFormat, reader: Box<dyn Read>) -> Result<Self, String> {
        let source = match format {
            ImportFormat::Ndjson => Source::Ndjson { lines: BufReader::new(reader).lines(), line: 0 },
            ImportFormat::Csv => {
                let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(reader);
                let header = reader.headers().map_err(|error| format!("the CSV header does not read: {error}"))?;
                let columns = columns(header)?;
                Source::Csv { reader, columns }
            }
        };
        Ok(Rows { source, last: 0 })
    }

    /// Up to `max` rows after row `after`: the rows, the last row read so far, and
    /// whether the file ended.
    pub fn next_batch(&mut self, max: usize, after: u64) -> (Vec<ImportRow>, u64, bool) {
        let mut batch = Vec::with_capacity(max);
        while batch.len() < max {
            match self.next_row() {
                None => return (batch, self.last, true),
                Some((row, read)) => {
                    self.last = self.last.max(row);
                    if let Some(read) = read.filter(|_| row > after) {
                        batch.push(read);
                    }
                }
            }
        }
        (batch, self.last, false)
    }

    /// The next row's number and what it reads as (none for a blank line).
    fn next_row(&mut self) -> Option<(u64, Option<ImportRow>)> {
        match &mut self.source {
            Source::Ndjson { lines, line } => {
                let text = lines.next()?;
                *line += 1;
                let row = *line;
                let text = match text {
                    Ok(text) => text,
                    Err(error) => return Some((row, Some(refused(row, String::new(), vec![error.to_string()])))),
                };
                if text.trim().is_empty() {
                    return Some((row, None));
                }
                Some((row, Some(ndjson_row(row, &text))))
            }
            Source::Csv { reader, columns } => {
                let mut record = csv::StringRecord::new();
                match reader.read_record(&mut record) {
                    Ok(false) => None,
                    Ok(true) => {
                        let row = record.position().map_or(0, |p| p.line());
                        Some((row, Some(csv_row(row, columns, &record))))
                    }
                    Err(error) => {
                        let row = error.position().map_or(0, |p| p.line());
                        Some((row, Some(refused(row, String::new(), vec![error.to_string()]))))
                    }
                }
            }
        }
    }
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
    match serde_json::from_str::<ProductBody>(text) {
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
