//! A warehouse's metrics: reservations and units oversold, its mailbox, and the hottest
//! SKUs' contention per window.

use super::*;

/// This warehouse's metrics, with handles made once (the reserve path only increments).
pub(super) struct Meters {
    pub(super) created: metrics::Counter,
    pub(super) released: metrics::Counter,
    pub(super) expired: metrics::Counter,
    pub(super) converted: metrics::Counter,
    pub(super) active: metrics::Gauge,
    pub(super) oversold: metrics::Gauge,
    /// A change happened since the last oversold count.
    pub(super) dirty: bool,
    pub(super) contention: Contention,
}

/// How many SKUs a window reports as hot.
pub const HOT_SKUS: usize = 5;
/// Seconds (expiry ticks) a contention window lasts.
pub const HOT_SKU_WINDOW_TICKS: u32 = 10;
/// SKUs that get their own series, per warehouse, over the process's life; later hot SKUs
/// are reported as `other`, so scraping never meets an unbounded set of series.
pub const HOT_SKU_SERIES_MAX: usize = 32;
/// SKUs counted per window; beyond that a window counts only the SKUs it already has.
pub(super) const HOT_SKU_COUNTED_MAX: usize = 10_000;

/// The hottest SKUs' contention: reservation attempts and insufficient-stock refusals per
/// SKU over a window, the top `HOT_SKUS` published as per-second rates.
#[derive(Default)]
pub(super) struct Contention {
    pub(super) labels: Vec<(String, String)>,
    pub(super) window: std::collections::HashMap<String, (u32, u32)>,
    pub(super) ticks: u32,
    /// SKU (or `other`) -> (attempts gauge, refusals gauge), registered once.
    pub(super) series: Vec<(String, metrics::Gauge, metrics::Gauge)>,
    /// The series set last window (zeroed when they drop out).
    pub(super) shown: Vec<usize>,
}

impl Contention {
    pub(super) fn attempt(&mut self, sku: &str, refused: bool) {
        if !self.window.contains_key(sku) {
            if self.window.len() >= HOT_SKU_COUNTED_MAX {
                return;
            }
            self.window.insert(sku.to_owned(), (0, 0));
        }
        let Some(counted) = self.window.get_mut(sku) else { return };
        counted.0 = counted.0.saturating_add(1);
        if refused {
            counted.1 = counted.1.saturating_add(1);
        }
    }

    pub(super) fn series(&mut self, sku: &str) -> usize {
        if let Some(index) = self.series.iter().position(|(s, ..)| s == sku) {
            return index;
        }
        let name = if self.series.len() < HOT_SKU_SERIES_MAX - 1 { sku } else { "other" };
        if let Some(index) = self.series.iter().position(|(s, ..)| s == name) {
            return index;
        }
        let mut labels = self.labels.clone();
        labels.push(("sku".to_owned(), name.to_owned()));
        let attempts = metrics::gauge!("mercato_hot_sku_reservations_per_second", &labels);
        let refusals = metrics::gauge!("mercato_hot_sku_refusals_per_second", &labels);
        self.series.push((name.to_owned(), attempts, refusals));
        self.series.len() - 1
    }

    /// Once a window: publishes the hottest SKUs' rates and zeroes those no longer hot.
    pub(super) fn tick(&mut self) {
        self.ticks += 1;
        if self.ticks < HOT_SKU_WINDOW_TICKS {
            return;
        }
        self.ticks = 0;
        let mut hottest: Vec<(String, (u32, u32))> = self.window.drain().collect();
        hottest.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then_with(|| a.0.cmp(&b.0)));
        hottest.truncate(HOT_SKUS);
        let seconds = f64::from(HOT_SKU_WINDOW_TICKS);
        let mut shown = Vec::with_capacity(hottest.len());
        for (sku, (attempts, refused)) in hottest {
            let index = self.series(&sku);
            let (_, attempts_gauge, refusals_gauge) = &self.series[index];
            attempts_gauge.set(f64::from(attempts) / seconds);
            refusals_gauge.set(f64::from(refused) / seconds);
            shown.push(index);
        }
        for index in std::mem::replace(&mut self.shown, shown.clone()) {
            if !shown.contains(&index) {
                let (_, attempts_gauge, refusals_gauge) = &self.series[index];
                attempts_gauge.set(0.0);
                refusals_gauge.set(0.0);
            }
        }
    }
}

impl Meters {
    pub(super) fn new(commerce: &str, warehouse: &str) -> Self {
        let labels = [("commerce", commerce.to_owned()), ("warehouse", warehouse.to_owned())];
        Self {
            created: metrics::counter!("mercato_reservations_created_total", &labels),
            released: metrics::counter!("mercato_reservations_released_total", &labels),
            expired: metrics::counter!("mercato_reservations_expired_total", &labels),
            converted: metrics::counter!("mercato_reservations_converted_total", &labels),
            active: metrics::gauge!("mercato_reservations_active", &labels),
            oversold: metrics::gauge!("mercato_units_oversold", &labels),
            dirty: false,
            contention: Contention {
                labels: labels.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect(),
                ..Contention::default()
            },
        }
    }

    /// Counts a change's reservation events.
    pub(super) fn count(&mut self, events: &[InventoryEvent], stock: &WarehouseStock) {
        for event in events {
            match event {
                InventoryEvent::StockReserved { .. } => self.created.increment(1),
                InventoryEvent::ReservationReleased { .. } => self.released.increment(1),
                InventoryEvent::ReservationExpired { .. } => self.expired.increment(1),
                InventoryEvent::ReservationCommitted { .. } => self.converted.increment(1),
                _ => {}
            }
        }
        self.active.set(stock.reservation_count() as f64);
        self.dirty = true;
    }

    /// Recounts units oversold (a scan of the records, once a tick, when anything changed).
    pub(super) fn check_oversold(&mut self, stock: &WarehouseStock) {
        if !self.dirty {
            return;
        }
        self.dirty = false;
        let oversold = stock.oversold_units();
        if oversold > 0 {
            tracing::error!(warehouse = %stock.warehouse, oversold, "units oversold");
        }
        self.oversold.set(oversold as f64);
    }
}

impl Default for Meters {
    fn default() -> Self {
        Self {
            created: metrics::Counter::noop(),
            released: metrics::Counter::noop(),
            expired: metrics::Counter::noop(),
            converted: metrics::Counter::noop(),
            active: metrics::Gauge::noop(),
            oversold: metrics::Gauge::noop(),
            dirty: false,
            contention: Contention::default(),
        }
    }
}
