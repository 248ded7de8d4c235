//! The engine's business rejections. Each has a stable machine code, a kind the shell
//! maps to a status, and a lowercase message naming the offending value.

use crate::commerce::model::DataKind;

/// What sort of rejection an error is, for the shell to choose a status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The input is malformed or refers to something that cannot be used (422).
    Invalid,
    /// The addressed resource does not exist (404).
    NotFound,
    /// The request is valid but the current state forbids it (409).
    Conflict,
    /// A payment was declined (402).
    Declined,
    /// The key that asked no longer stands: revoked or rotated since the request was let
    /// in (401).
    Unauthenticated,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("domain \"{host}\" is not a domain of this commerce")]
    UnknownDomain { host: String },
    #[error("country \"{value}\" is not an ISO 3166-1 alpha-2 code")]
    InvalidCountry { value: String },
    #[error("a country is required: neither the request, its domain nor the commerce gives one")]
    CountryRequired,
    #[error("language \"{code}\" is not a language of this commerce")]
    UnknownLanguage { code: String },
    #[error("currency \"{code}\" is not a browsing currency of this commerce")]
    UnknownCurrency { code: String },
    #[error("user group \"{code}\" is not defined")]
    UnknownUserGroup { code: String },
    #[error("channel \"{code}\" is not a channel of this commerce")]
    UnknownChannel { code: String },
    #[error("product \"{sku}\" is not sold by this commerce")]
    UnknownSku { sku: String },
    #[error("quantity {quantity} is not valid: {reason}")]
    InvalidQuantity { quantity: i64, reason: &'static str },
    #[error("insufficient stock of \"{sku}\": {requested} requested, {available} available")]
    InsufficientStock { sku: String, requested: u32, available: u32 },
    #[error("reservation \"{id}\" does not exist")]
    UnknownReservation { id: String },
    #[error("reservation \"{id}\" has expired")]
    ReservationExpired { id: String },
    #[error("reservation \"{id}\" already exists")]
    DuplicateReservation { id: String },
    #[error("batch \"{id}\" of \"{sku}\" does not exist")]
    UnknownBatch { sku: String, id: String },
    #[error("batch \"{id}\" of \"{sku}\" already exists")]
    DuplicateBatch { sku: String, id: String },
    #[error("order line \"{id}\" has no stock in this warehouse")]
    UnknownOrderLine { id: String },
    #[error("order line \"{id}\" already holds stock in this warehouse")]
    DuplicateOrderLine { id: String },
    #[error("order line \"{id}\" has no allocated units to ship yet")]
    NothingToShip { id: String },
    #[error("date {date} is in the past (today is {today})")]
    DateInPast { date: chrono::NaiveDate, today: chrono::NaiveDate },
    #[error(
        "batch \"{id}\" cannot shrink to {quantity}: {committed} units are already reserved or promised against it"
    )]
    BatchBelowCommitted { id: String, quantity: u32, committed: u32 },
    #[error("an adjustment of {delta} would leave {on_hand_after} on hand, below the {committed} units reserved or allocated")]
    AdjustmentBelowCommitted { delta: i64, on_hand_after: i64, committed: u32 },
    #[error("{quantity} of \"{sku}\" is below the minimum of {min}")]
    QuantityBelowMinimum { sku: String, quantity: u32, min: u32 },
    #[error("{quantity} of \"{sku}\" is above the maximum of {max}")]
    QuantityAboveMaximum { sku: String, quantity: u32, max: u32 },
    #[error("{quantity} of \"{sku}\" is not a multiple of {multiple_of}: {allowed}")]
    NotAMultiple { sku: String, quantity: u32, multiple_of: u32, allowed: String },
    #[error("cart \"{id}\" is {status}: it takes no more changes")]
    CartClosed { id: String, status: &'static str },
    #[error("cart \"{id}\" has expired")]
    CartExpired { id: String },
    #[error("cart line \"{id}\" does not exist")]
    UnknownCartLine { id: String },
    #[error("cart \"{id}\" does not exist or has ended")]
    UnknownCart { id: String },
    #[error("cart line \"{id}\" already exists")]
    DuplicateCartLine { id: String },
    #[error("a cart holds at most {max} lines")]
    CartLinesExceeded { max: usize },
    #[error("order line \"{id}\" has units at risk: it cannot go back to a cart")]
    UncommitRefused { id: String },
    #[error("reservation \"{id}\" holds {held} units, not the {expected} expected")]
    ReservationChanged { id: String, expected: u32, held: u32 },
    #[error("address {field} {reason}")]
    InvalidAddress { field: &'static str, reason: String },
    #[error("reference \"{value}\" must be 1 to 128 characters")]
    InvalidReference { value: String },
    #[error("the amount is too large to compute")]
    AmountTooLarge,
    #[error("product \"{sku}\" has no price in \"{currency}\"")]
    NoPrice { sku: String, currency: String },
    #[error("no invoicing company of channel \"{channel}\" invoices to country \"{country}\"")]
    NoInvoicingCompany { channel: String, country: String },
    #[error("invoicing company \"{company}\" has no tax rate for class \"{tax_class}\" in \"{country}\"")]
    NoTaxRate { company: String, tax_class: String, country: String },
    #[error("promo code \"{code}\" is not known")]
    UnknownPromoCode { code: String },
    #[error(
        "nothing can carry {lines} to \"{country}\": no shipping type of any carrier delivers there and accepts them"
    )]
    Undeliverable { lines: String, country: String },
    #[error(
        "{lines} cannot be delivered to this address in \"{country}\": logistic center {center}, which holds \
         the units, does not deliver there"
    )]
    OutsideCenterArea { lines: String, center: String, country: String },
    #[error("no single logistic center can serve the whole cart (multi-shipment is off): {lines}")]
    SingleShipmentImpossible { lines: String },
    #[error("the cart has no lines")]
    CartEmpty,
    #[error("the cart needs a shipping address first (PUT …/address)")]
    AddressRequired,
    #[error("the cart needs a delivery choice first (PUT …/delivery)")]
    DeliveryRequired,
    #[error("country \"{country}\" is not one this cart can ship to")]
    CountryNotSellable { country: String },
    #[error("shipment \"{id}\" is not among the delivery options")]
    UnknownShipment { id: String },
    #[error("shipping type \"{code}\" is not offered for shipment \"{shipment}\"; offered: {offered}")]
    UnknownShippingType { shipment: String, code: String, offered: String },
    #[error("pick-up point \"{code}\" is not offered for this address; offered: {offered}")]
    UnknownPickupPoint { code: String, offered: String },
    #[error("payment system \"{code}\" is not offered in this channel; offered: {offered}")]
    UnknownPaymentSystem { code: String, offered: String },
    #[error("the payment was declined: {reason}")]
    PaymentDeclined { reason: String },
    #[error("{field} \"{value}\" must be 1 to {max} visible characters, without a path separator", max = CLIENT_ID_CHARS_MAX)]
    InvalidId { field: &'static str, value: String },
    #[error("payment system \"{system}\" pays online: a payment_token is required")]
    PaymentTokenRequired { system: String },
    #[error("the total is now {actual}, not the {expected} expected: review the cart")]
    PriceChanged { expected: String, actual: String },
    #[error("the units held for line \"{line}\" ({sku}) were lost: change or remove the line")]
    StockLost { line: String, sku: String },
    #[error("order \"{id}\" does not exist")]
    UnknownOrder { id: String },
    #[error("order \"{id}\" is {status}: it cannot be {action}")]
    OrderStatus { id: String, status: &'static str, action: &'static str },
    #[error("order \"{order}\" has no shipment \"{id}\"")]
    UnknownOrderShipment { order: String, id: String },
    #[error("shipment \"{id}\" is {status}: it cannot be {action}")]
    ShipmentStatus { id: String, status: &'static str, action: &'static str },
    #[error("order \"{order}\" has no line \"{line}\"")]
    UnknownOrderLineId { order: String, line: String },
    #[error("line \"{line}\": {requested} units cannot be {action}, only {possible} can")]
    UnitsNotAvailable { line: String, requested: u32, possible: u32, action: &'static str },
    #[error("line \"{line}\" is named twice")]
    LineNamedTwice { line: String },
    #[error("carrier \"{code}\" is not a carrier of this commerce")]
    UnknownCarrier { code: String },
    #[error("carrier \"{carrier}\" carries no shipment with tracking number \"{tracking}\"")]
    UnknownTracking { carrier: String, tracking: String },
    #[error("tracking number \"{tracking}\" is already given to a shipment of carrier \"{carrier}\"")]
    DuplicateTracking { carrier: String, tracking: String },
    #[error("order \"{order}\" has no refund \"{id}\"")]
    UnknownRefund { order: String, id: String },
    #[error("refund \"{id}\" is already {status}")]
    RefundSettled { id: String, status: &'static str },
    #[error("invoice \"{number}\" does not exist")]
    UnknownInvoice { number: String },
    #[error("shipment \"{id}\": line \"{line}\" has {allocated} of its {needed} units allocated in stock")]
    NotAllocated { id: String, line: String, needed: u32, allocated: u32 },
    #[error("order \"{id}\" is busy with another change to its stock; retry")]
    OrderBusy { id: String },
    #[error("order \"{id}\" is finished and archived: it takes no more changes")]
    OrderArchived { id: String },
    #[error("nothing to cancel: the request names no units")]
    NothingToCancel,
    #[error("order \"{order}\" has no return \"{id}\"")]
    UnknownReturn { order: String, id: String },
    #[error("nothing to return: the request names no units")]
    NothingToReturn,
    #[error("\"{code}\" is not a return point of this commerce")]
    UnknownReturnPoint { code: String },
    #[error("line \"{line}\": a reason of 1 to 200 characters is required")]
    InvalidReason { line: String },
    #[error("line \"{line}\": its return window of {days} days after delivery has closed")]
    ReturnWindowClosed { line: String, days: i64 },
    #[error("return \"{id}\": line \"{line}\" is {decision} already")]
    ReturnDecided { id: String, line: String, decision: &'static str },
    #[error("a warehouse is required to receive resellable units")]
    WarehouseRequired,
    #[error("warehouse \"{code}\" is not a warehouse of this commerce")]
    UnknownWarehouse { code: String },
    #[error("product \"{sku}\" is retired: it is no longer sold")]
    ProductRetired { sku: String },
    #[error("product \"{sku}\" breaks {} rule(s): {}", violations.len(), violations.iter().map(|v| v.to_string()).collect::<Vec<_>>().join("; "))]
    InvalidProduct { sku: String, violations: Vec<Violation> },
    #[error("product \"{sku}\" is at version {current}, not {expected}")]
    VersionConflict { sku: String, expected: u32, current: u32 },
    #[error("product \"{sku}\" has no version {version}")]
    UnknownProductVersion { sku: String, version: u32 },
    #[error("product \"{sku}\" did not exist at {}", rfc3339(*at))]
    NoProductVersionAt { sku: String, at: i64 },
    #[error("{} \"{code}\" is not defined", kind.noun())]
    UnknownData { kind: DataKind, code: String },
    #[error("{} \"{code}\" would break {} rule(s): {}", kind.noun(), violations.len(), violations.iter().map(|v| v.to_string()).collect::<Vec<_>>().join("; "))]
    InvalidData { kind: DataKind, code: String, violations: Vec<Violation> },
    #[error("{} \"{code}\" exists already", kind.noun())]
    DataExists { kind: DataKind, code: String },
    #[error("api key \"{name}\" is the commerce's last admin key: create another admin key before revoking it or giving it another role")]
    LastAdminKey { name: String },
    #[error("api key \"{name}\" was revoked or rotated while this request waited: nothing changed")]
    KeyRevoked { name: String },
    #[error("product \"{sku}\" is sold by merchant \"{merchant}\", which is {status}: it cannot be added to a cart")]
    MerchantNotTrading { sku: String, merchant: String, status: &'static str },
    #[error("the cart holds products of merchants not trading: {}", lines.join("; "))]
    MerchantLinesNotTrading { lines: Vec<String>, blocked: bool },
    #[error("merchant \"{merchant}\" is {status}: it cannot be {action}")]
    MerchantState { merchant: String, status: &'static str, action: &'static str },
    #[error("product proposal \"{code}\" is already {status}")]
    ProposalDecided { code: String, status: &'static str },
    #[error("the invitation token does not open merchant \"{merchant}\"")]
    InvalidInvitation { merchant: String },
    #[error("the invitation of merchant \"{merchant}\" expired at {at} (milliseconds since the epoch): ask the commerce for a new one")]
    InvitationExpired { merchant: String, at: i64 },
    #[error("{}", match current { Some(current) => format!("terms version \"{given}\" is not the version in force (\"{current}\")"), None => "the commerce states no merchant terms (merchant_terms_version): merchants cannot onboard through the API".to_owned() })]
    TermsOutdated { given: String, current: Option<String> },
}

impl DomainError {
    /// The stable machine code clients branch on.
    pub fn code(&self) -> &'static str {
        match self {
            DomainError::UnknownDomain { .. } => "unknown_domain",
            DomainError::InvalidCountry { .. } => "invalid_country",
            DomainError::CountryRequired => "country_required",
            DomainError::UnknownLanguage { .. } => "unknown_language",
            DomainError::UnknownCurrency { .. } => "unknown_currency",
            DomainError::UnknownUserGroup { .. } => "unknown_user_group",
            DomainError::UnknownChannel { .. } => "unknown_channel",
            DomainError::UnknownSku { .. } => "unknown_sku",
            DomainError::InvalidQuantity { .. } => "invalid_quantity",
            DomainError::InsufficientStock { .. } => "insufficient_stock",
            DomainError::UnknownReservation { .. } => "unknown_reservation",
            DomainError::DuplicateReservation { .. } => "duplicate_reservation",
            DomainError::ReservationExpired { .. } => "reservation_expired",
            DomainError::UnknownBatch { .. } => "unknown_batch",
            DomainError::DuplicateBatch { .. } => "duplicate_batch",
            DomainError::DateInPast { .. } => "date_in_past",
            DomainError::UnknownOrderLine { .. } => "unknown_order_line",
            DomainError::DuplicateOrderLine { .. } => "duplicate_order_line",
            DomainError::NothingToShip { .. } => "nothing_to_ship",
            DomainError::BatchBelowCommitted { .. } => "batch_below_committed",
            DomainError::AdjustmentBelowCommitted { .. } => "adjustment_below_committed",
            DomainError::QuantityBelowMinimum { .. } => "quantity_below_minimum",
            DomainError::QuantityAboveMaximum { .. } => "quantity_above_maximum",
            DomainError::NotAMultiple { .. } => "not_a_multiple",
            DomainError::CartClosed { .. } => "cart_closed",
            DomainError::CartExpired { .. } => "cart_expired",
            DomainError::UnknownCartLine { .. } => "unknown_cart_line",
            DomainError::UnknownCart { .. } => "unknown_cart",
            DomainError::DuplicateCartLine { .. } => "duplicate_cart_line",
            DomainError::CartLinesExceeded { .. } => "cart_lines_exceeded",
            DomainError::UncommitRefused { .. } => "uncommit_refused",
            DomainError::ReservationChanged { .. } => "reservation_changed",
            DomainError::InvalidAddress { .. } => "invalid_address",
            DomainError::InvalidReference { .. } => "invalid_reference",
            DomainError::AmountTooLarge => "amount_too_large",
            DomainError::NoPrice { .. } => "no_price",
            DomainError::NoInvoicingCompany { .. } => "no_invoicing_company",
            DomainError::NoTaxRate { .. } => "no_tax_rate",
            DomainError::UnknownPromoCode { .. } => "unknown_promo_code",
            DomainError::Undeliverable { .. } | DomainError::OutsideCenterArea { .. } => "undeliverable",
            DomainError::SingleShipmentImpossible { .. } => "single_shipment_impossible",
            DomainError::CartEmpty => "cart_empty",
            DomainError::AddressRequired => "address_required",
            DomainError::DeliveryRequired => "delivery_required",
            DomainError::CountryNotSellable { .. } => "country_not_sellable",
            DomainError::UnknownShipment { .. } => "unknown_shipment",
            DomainError::UnknownShippingType { .. } => "unknown_shipping_type",
            DomainError::UnknownPickupPoint { .. } => "unknown_pickup_point",
            DomainError::UnknownPaymentSystem { .. } => "unknown_payment_system",
            DomainError::PaymentDeclined { .. } => "payment_declined",
            DomainError::PaymentTokenRequired { .. } => "payment_token_required",
            DomainError::InvalidId { .. } => "invalid_id",
            DomainError::PriceChanged { .. } => "price_changed",
            DomainError::StockLost { .. } => "stock_lost",
            DomainError::UnknownOrder { .. } => "unknown_order",
            DomainError::OrderStatus { .. } => "invalid_order_status",
            DomainError::UnknownOrderShipment { .. } => "unknown_shipment",
            DomainError::ShipmentStatus { .. } => "invalid_shipment_status",
            DomainError::UnknownOrderLineId { .. } => "unknown_line",
            DomainError::UnitsNotAvailable { .. } => "units_not_available",
            DomainError::LineNamedTwice { .. } => "line_named_twice",
            DomainError::UnknownCarrier { .. } => "unknown_carrier",
            DomainError::UnknownTracking { .. } => "unknown_tracking",
            DomainError::DuplicateTracking { .. } => "duplicate_tracking",
            DomainError::UnknownRefund { .. } => "unknown_refund",
            DomainError::RefundSettled { .. } => "refund_settled",
            DomainError::UnknownInvoice { .. } => "unknown_invoice",
            DomainError::NotAllocated { .. } => "stock_not_allocated",
            DomainError::OrderBusy { .. } => "order_busy",
            DomainError::OrderArchived { .. } => "order_archived",
            DomainError::NothingToCancel => "nothing_to_cancel",
            DomainError::UnknownReturn { .. } => "unknown_return",
            DomainError::NothingToReturn => "nothing_to_return",
            DomainError::UnknownReturnPoint { .. } => "unknown_return_point",
            DomainError::InvalidReason { .. } => "invalid_reason",
            DomainError::ReturnWindowClosed { .. } => "return_window_closed",
            DomainError::ReturnDecided { .. } => "return_decided",
            DomainError::WarehouseRequired => "warehouse_required",
            DomainError::UnknownWarehouse { .. } => "unknown_warehouse",
            DomainError::ProductRetired { .. } => "product_retired",
            DomainError::InvalidProduct { .. } => "invalid_product",
            DomainError::VersionConflict { .. } => "version_conflict",
            DomainError::UnknownProductVersion { .. } => "unknown_version",
            DomainError::NoProductVersionAt { .. } => "no_version_at",
            DomainError::UnknownData { kind, .. } => match kind {
                DataKind::PriceRule => "unknown_price_rule",
                DataKind::Discount => "unknown_discount",
                DataKind::User => "unknown_user",
                DataKind::UserGroup => "unknown_user_group",
                DataKind::ApiKey => "unknown_api_key",
                DataKind::Merchant => "unknown_merchant",
                DataKind::CommissionRule => "unknown_commission_rule",
                DataKind::ProductProposal => "unknown_product_proposal",
            },
            DomainError::ProposalDecided { .. } => "proposal_decided",
            DomainError::InvalidData { .. } => "invalid_data",
            DomainError::DataExists { .. } => "already_exists",
            DomainError::LastAdminKey { .. } => "last_admin_key",
            DomainError::KeyRevoked { .. } => "unauthenticated",
            DomainError::MerchantNotTrading { status: "blocked", .. } => "merchant_blocked",
            DomainError::MerchantNotTrading { .. } => "merchant_not_active",
            DomainError::MerchantLinesNotTrading { blocked: true, .. } => "merchant_blocked",
            DomainError::MerchantLinesNotTrading { .. } => "merchant_not_active",
            DomainError::MerchantState { .. } => "merchant_state",
            DomainError::InvalidInvitation { .. } => "invalid_invitation",
            DomainError::InvitationExpired { .. } => "invitation_expired",
            DomainError::TermsOutdated { .. } => "terms_outdated",
        }
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            DomainError::UnknownDomain { .. }
            | DomainError::InvalidCountry { .. }
            | DomainError::CountryRequired
            | DomainError::UnknownLanguage { .. }
            | DomainError::UnknownCurrency { .. }
            | DomainError::UnknownUserGroup { .. }
            | DomainError::UnknownChannel { .. }
            | DomainError::UnknownSku { .. }
            | DomainError::InvalidQuantity { .. }
            | DomainError::QuantityBelowMinimum { .. }
            | DomainError::QuantityAboveMaximum { .. }
            | DomainError::NotAMultiple { .. }
            | DomainError::DateInPast { .. } => ErrorKind::Invalid,
            DomainError::UnknownReservation { .. }
            | DomainError::UnknownBatch { .. }
            | DomainError::UnknownOrderLine { .. }
            | DomainError::UnknownCartLine { .. }
            | DomainError::UnknownCart { .. } => ErrorKind::NotFound,
            DomainError::InsufficientStock { .. }
            | DomainError::DuplicateReservation { .. }
            | DomainError::ReservationExpired { .. }
            | DomainError::DuplicateBatch { .. }
            | DomainError::DuplicateOrderLine { .. }
            | DomainError::NothingToShip { .. }
            | DomainError::BatchBelowCommitted { .. }
            | DomainError::AdjustmentBelowCommitted { .. }
            | DomainError::CartClosed { .. }
            | DomainError::CartExpired { .. }
            | DomainError::DuplicateCartLine { .. }
            | DomainError::CartLinesExceeded { .. } => ErrorKind::Conflict,
            DomainError::UncommitRefused { .. } => ErrorKind::Conflict,
            DomainError::ReservationChanged { .. } => ErrorKind::Conflict,
            DomainError::InvalidAddress { .. } => ErrorKind::Invalid,
            DomainError::InvalidReference { .. } => ErrorKind::Invalid,
            DomainError::AmountTooLarge => ErrorKind::Invalid,
            DomainError::NoPrice { .. } => ErrorKind::Invalid,
            DomainError::NoInvoicingCompany { .. } => ErrorKind::Conflict,
            DomainError::NoTaxRate { .. } => ErrorKind::Conflict,
            DomainError::UnknownPromoCode { .. } => ErrorKind::Invalid,
            DomainError::Undeliverable { .. } | DomainError::OutsideCenterArea { .. } => ErrorKind::Conflict,
            DomainError::SingleShipmentImpossible { .. } => ErrorKind::Conflict,
            DomainError::CartEmpty => ErrorKind::Conflict,
            DomainError::AddressRequired => ErrorKind::Conflict,
            DomainError::DeliveryRequired => ErrorKind::Conflict,
            DomainError::CountryNotSellable { .. } => ErrorKind::Invalid,
            DomainError::UnknownShipment { .. } => ErrorKind::Invalid,
            DomainError::UnknownShippingType { .. } => ErrorKind::Invalid,
            DomainError::UnknownPickupPoint { .. } => ErrorKind::Invalid,
            DomainError::UnknownPaymentSystem { .. } => ErrorKind::Invalid,
            DomainError::PaymentDeclined { .. } => ErrorKind::Declined,
            DomainError::PaymentTokenRequired { .. } => ErrorKind::Invalid,
            DomainError::InvalidId { .. } => ErrorKind::Invalid,
            DomainError::PriceChanged { .. } => ErrorKind::Conflict,
            DomainError::StockLost { .. } => ErrorKind::Conflict,
            DomainError::UnknownOrder { .. } => ErrorKind::NotFound,
            DomainError::OrderStatus { .. } => ErrorKind::Conflict,
            DomainError::UnknownOrderShipment { .. }
            | DomainError::UnknownCarrier { .. }
            | DomainError::UnknownTracking { .. }
            | DomainError::UnknownRefund { .. }
            | DomainError::UnknownInvoice { .. } => ErrorKind::NotFound,
            DomainError::UnknownOrderLineId { .. }
            | DomainError::LineNamedTwice { .. }
            | DomainError::NothingToCancel => ErrorKind::Invalid,
            DomainError::ShipmentStatus { .. }
            | DomainError::UnitsNotAvailable { .. }
            | DomainError::DuplicateTracking { .. }
            | DomainError::RefundSettled { .. }
            | DomainError::NotAllocated { .. }
            | DomainError::OrderBusy { .. }
            | DomainError::OrderArchived { .. } => ErrorKind::Conflict,
            DomainError::UnknownReturn { .. } => ErrorKind::NotFound,
            DomainError::NothingToReturn
            | DomainError::UnknownReturnPoint { .. }
            | DomainError::InvalidReason { .. }
            | DomainError::WarehouseRequired
            | DomainError::UnknownWarehouse { .. } => ErrorKind::Invalid,
            DomainError::ReturnWindowClosed { .. } | DomainError::ReturnDecided { .. } => ErrorKind::Conflict,
            DomainError::ProductRetired { .. } | DomainError::VersionConflict { .. } => ErrorKind::Conflict,
            DomainError::InvalidProduct { .. }
            | DomainError::UnknownProductVersion { .. }
            | DomainError::NoProductVersionAt { .. }
            | DomainError::InvalidData { .. } => ErrorKind::Invalid,
            DomainError::UnknownData { .. } => ErrorKind::NotFound,
            DomainError::DataExists { .. } | DomainError::LastAdminKey { .. } => ErrorKind::Conflict,
            DomainError::KeyRevoked { .. } | DomainError::InvalidInvitation { .. } => ErrorKind::Unauthenticated,
            DomainError::MerchantNotTrading { .. }
            | DomainError::MerchantLinesNotTrading { .. }
            | DomainError::MerchantState { .. }
            | DomainError::ProposalDecided { .. }
            | DomainError::InvitationExpired { .. }
            | DomainError::TermsOutdated { .. } => ErrorKind::Conflict,
        }
    }
}

/// The longest id a client may choose (a batch's, and any later one), in characters.
pub const CLIENT_ID_CHARS_MAX: usize = 64;

/// Checks an id a client chose: 1 to `CLIENT_ID_CHARS_MAX` characters, none a control
/// character, whitespace or a path separator (ids appear in paths). The refusal shows at
/// most the first `CLIENT_ID_CHARS_MAX` characters of what was given.
pub fn client_id(field: &'static str, value: &str) -> Result<(), DomainError> {
    let visible = |c: char| !c.is_control() && !c.is_whitespace() && c != '/' && c != '\\';
    let count = value.chars().count();
    if (1..=CLIENT_ID_CHARS_MAX).contains(&count) && value.chars().all(visible) {
        return Ok(());
    }
    let mut shown: String = value.chars().take(CLIENT_ID_CHARS_MAX).flat_map(char::escape_default).collect();
    if count > CLIENT_ID_CHARS_MAX {
        shown.push('…');
    }
    Err(DomainError::InvalidId { field, value: shown })
}

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The entity at fault, as `kind "code"` (`channel "web"`), or `commerce` for the
    /// document itself.
    pub entity: String,
    /// A stable machine code for the rule (`missing`, `undefined_reference`, ...).
    pub rule: &'static str,
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} [{}]", self.entity, self.message, self.rule)
    }
}

/// Milliseconds since the epoch as RFC 3339, for a message.
fn rfc3339(millis: i64) -> String {
    chrono::DateTime::from_timestamp_millis(millis).map_or_else(
        || format!("{millis} ms after the epoch"),
        |t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    )
}
