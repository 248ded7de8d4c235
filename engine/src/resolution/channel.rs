//! Channel selection: a channel applies when every criterion it sets matches the visitor
//! and its area of influence (if any) reaches the visitor's country; of those, the one setting the most kinds of criteria wins, ties going to the one declared
//! first; when none applies, the default channel.

use crate::commerce::model::{Channel, Device};
use crate::commerce::Commerce;

/// The facts channel criteria are matched against.
#[derive(Debug, Clone, Copy)]
pub struct Visitor<'a> {
    pub device: Option<Device>,
    pub domain: Option<&'a str>,
    pub country: &'a str,
    pub user_groups: &'a [String],
}

fn matches(commerce: &Commerce, channel: &Channel, visitor: &Visitor) -> bool {
    // A channel works only where its area of influence reaches.
    let area_ok = channel
        .area
        .as_deref()
        .and_then(|code| commerce.area(code))
        .is_none_or(|area| area.touches_country(visitor.country));
    let criteria = &channel.criteria;
    let device_ok =
        criteria.devices.is_empty() || visitor.device.is_some_and(|device| criteria.devices.contains(&device));
    let domain_ok =
        criteria.domains.is_empty() || visitor.domain.is_some_and(|host| criteria.domains.iter().any(|d| d == host));
    let country_ok = criteria.countries.is_empty() || criteria.countries.iter().any(|c| c == visitor.country);
    let group_ok =
        criteria.user_groups.is_empty() || visitor.user_groups.iter().any(|group| criteria.user_groups.contains(group));
    area_ok && device_ok && domain_ok && country_ok && group_ok
}

pub fn select_channel<'c>(commerce: &'c Commerce, visitor: &Visitor) -> &'c Channel {
    let mut best: Option<&Channel> = None;
    for channel in &commerce.config().channels {
        if channel.criteria.specificity() == 0 || !matches(commerce, channel, visitor) {
            continue;
        }
        // Strictly greater: an equally specific channel declared later never displaces one
        // declared earlier.
        if best.is_none_or(|b| channel.criteria.specificity() > b.criteria.specificity()) {
            best = Some(channel);
        }
    }
    best.unwrap_or_else(|| commerce.default_channel())
}
