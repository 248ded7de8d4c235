//! Area membership and compatibility. An area is a union of members; a member is a whole
//! country or the listed regions and postal-code prefixes of one country.

use super::model::{Area, AreaMember, Channel, CommerceConfig, Place};

impl AreaMember {
    fn is_whole_country(&self) -> bool {
        self.regions.is_empty() && self.postal_prefixes.is_empty()
    }

    /// Whether the place lies in this member. A narrowed member needs the place's region or
    /// postal code to say yes: a place known only by its country is not inside a region.
    pub fn contains(&self, place: &Place) -> bool {
        if self.country != place.country {
            return false;
        }
        if self.is_whole_country() {
            return true;
        }
        let in_region = place.region.as_deref().is_some_and(|region| self.regions.iter().any(|r| r == region));
        let in_postal = place
            .postal_code
            .as_deref()
            .is_some_and(|postal| self.postal_prefixes.iter().any(|prefix| postal.starts_with(prefix.as_str())));
        in_region || in_postal
    }

    /// Whether the two members may share a place. Only a provable disjointness says no:
    /// regions against postal prefixes cannot be compared without a postal map, so they
    /// count as overlapping.
    pub fn overlaps(&self, other: &AreaMember) -> bool {
        if self.country != other.country {
            return false;
        }
        if self.is_whole_country() || other.is_whole_country() {
            return true;
        }
        let shared_region = self.regions.iter().any(|r| other.regions.contains(r));
        let nested_prefix = self
            .postal_prefixes
            .iter()
            .any(|a| other.postal_prefixes.iter().any(|b| a.starts_with(b.as_str()) || b.starts_with(a.as_str())));
        let incomparable = (!self.regions.is_empty() && !other.postal_prefixes.is_empty())
            || (!self.postal_prefixes.is_empty() && !other.regions.is_empty());
        shared_region || nested_prefix || incomparable
    }
}

impl Area {
    pub fn contains(&self, place: &Place) -> bool {
        self.members.iter().any(|member| member.contains(place))
    }

    /// Whether the areas share at least one place.
    pub fn overlaps(&self, other: &Area) -> bool {
        self.members.iter().any(|a| other.members.iter().any(|b| a.overlaps(b)))
    }

    /// Whether any part of the country belongs to the area.
    pub fn touches_country(&self, country: &str) -> bool {
        self.members.iter().any(|member| member.country == country)
    }
}

/// Compatibility of an entity's area of influence with its channel's: an entity or a
/// channel with no area is unrestricted; otherwise the areas must overlap.
pub fn compatible(entity_area: Option<&Area>, channel_area: Option<&Area>) -> bool {
    match (entity_area, channel_area) {
        (Some(entity), Some(channel)) => entity.overlaps(channel),
        _ => true,
    }
}

/// The members of a channel its area of influence qualifies, in the channel's order. A
/// warehouse qualifies when its own area and its logistic center's delivery area are both
/// compatible with the channel's: a warehouse whose center cannot deliver anywhere the
/// channel works could never serve it. Unknown codes never qualify.
pub fn qualified_members(config: &CommerceConfig, channel: &Channel) -> QualifiedMembers {
    let area = |code: Option<&String>| code.and_then(|code| config.areas.iter().find(|a| &a.code == code));
    let channel_area = area(channel.area.as_ref());
    let fits = |code: Option<&String>| compatible(area(code), channel_area);
    let warehouse_fits = |code: &String| {
        config.warehouses.iter().find(|w| &w.code == code).is_some_and(|warehouse| {
            let center = config.logistic_centers.iter().find(|lc| lc.code == warehouse.logistic_center);
            // An undefined center is reported as such; it does not also disqualify.
            fits(warehouse.area.as_ref()) && center.is_none_or(|center| fits(Some(&center.area)))
        })
    };
    let company_fits = |code: &String| {
        config.invoicing_companies.iter().find(|x| &x.code == code).is_some_and(|x| fits(x.area.as_ref()))
    };
    let location_fits = |code: &String| {
        config.physical_locations.iter().find(|x| &x.code == code).is_some_and(|x| fits(x.area.as_ref()))
    };
    QualifiedMembers {
        warehouses: channel.warehouses.iter().filter(|c| warehouse_fits(c)).cloned().collect(),
        invoicing_companies: channel.invoicing_companies.iter().filter(|c| company_fits(c)).cloned().collect(),
        physical_locations: channel.physical_locations.iter().filter(|c| location_fits(c)).cloned().collect(),
        payment_systems: if channel.payment_systems.is_empty() {
            config.payment_systems.iter().map(|p| p.code.clone()).collect()
        } else {
            channel.payment_systems.clone()
        },
    }
}

/// The members of one channel that its area of influence does not disqualify, in the
/// channel's order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QualifiedMembers {
    pub warehouses: Vec<String>,
    pub invoicing_companies: Vec<String>,
    pub physical_locations: Vec<String>,
    pub payment_systems: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(country: &str, regions: &[&str], prefixes: &[&str]) -> AreaMember {
        AreaMember {
            country: country.into(),
            regions: regions.iter().map(|r| r.to_string()).collect(),
            postal_prefixes: prefixes.iter().map(|p| p.to_string()).collect(),
        }
    }

    fn area(members: Vec<AreaMember>) -> Area {
        Area { code: "a".into(), members }
    }

    fn place(country: &str, region: Option<&str>, postal: Option<&str>) -> Place {
        Place { country: country.into(), region: region.map(Into::into), postal_code: postal.map(Into::into) }
    }

    // Proves membership by whole country, by region and by postal prefix, and that a
    // narrowed member does not claim a place known only by its country.
    #[test]
    fn membership() {
        let whole = area(vec![member("ES", &[], &[])]);
        assert!(whole.contains(&place("ES", None, None)));
        assert!(!whole.contains(&place("PT", None, None)));

        let catalonia = area(vec![member("ES", &["CT"], &["08"])]);
        assert!(catalonia.contains(&place("ES", Some("CT"), None)));
        assert!(catalonia.contains(&place("ES", None, Some("08001"))));
        assert!(!catalonia.contains(&place("ES", Some("MD"), Some("28001"))));
        assert!(!catalonia.contains(&place("ES", None, None)));
    }

    // Proves overlap rules: countries, shared regions, nested prefixes, incomparable kinds.
    #[test]
    fn overlap() {
        let spain = area(vec![member("ES", &[], &[])]);
        let madrid = area(vec![member("ES", &["MD"], &[])]);
        let catalonia = area(vec![member("ES", &["CT"], &[])]);
        let barcelona_postal = area(vec![member("ES", &[], &["080"])]);
        let province_postal = area(vec![member("ES", &[], &["08"])]);
        let portugal = area(vec![member("PT", &[], &[])]);

        assert!(spain.overlaps(&madrid));
        assert!(!madrid.overlaps(&catalonia));
        assert!(barcelona_postal.overlaps(&province_postal));
        assert!(madrid.overlaps(&barcelona_postal), "regions and prefixes are incomparable");
        assert!(!spain.overlaps(&portugal));
        assert!(compatible(None, Some(&portugal)));
        assert!(compatible(Some(&portugal), None));
        assert!(!compatible(Some(&portugal), Some(&spain)));
    }
}
