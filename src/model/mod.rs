//! Domain types. Each validates when it is built ("parse, don't validate"): a value of one of
//! these types that exists is valid, so the rest of the code never re-checks it.

mod admin;
mod area;
mod building;
mod circle;
mod code;
mod dataset;
mod error;
mod facility;
mod facility_circle;
mod grid;
mod holidays;
mod hours;
mod kind;
mod land_area;
mod lonlat;
mod osm_ref;
mod person;
mod street_way;

pub use admin::{Community, StreetOffice, parse_name};
pub use area::AreaShape;
pub use building::{Building, HouseholdSource};
pub use circle::{
    CircleDef, CircleDraft, MAX_MINUTES, ReachMode, metres, minutes, parse_minutes, parse_speed,
};
pub use code::{CommunityCode, GridCode, StreetOfficeCode};
pub use dataset::Dataset;
pub use error::ModelError;
pub use facility::{Audience, Facility, FacilityDraft};
pub use facility_circle::FacilityCircle;
pub use grid::Grid;
pub use holidays::HolidayCalendar;
pub use hours::{HORIZON_DAYS, Hours, MAX_EVAL_STEPS, OpenAt, OpenState};
pub use kind::{FacilityKind, KindCatalogue, KindId};
pub use land_area::{LandArea, LandClass};
pub use lonlat::{LonLat, chord_to_metres};
pub use osm_ref::OsmRef;
pub use person::Person;
pub use street_way::StreetWay;
