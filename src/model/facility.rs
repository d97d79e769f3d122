//! A facility: a public or shared place people walk to (toilet, reading room, parking…).

use std::str::FromStr;

use super::{Hours, KindId, LonLat, ModelError, OsmRef};

/// Who may use a facility.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// Everyone.
    Everyone,
    /// Sanitation workers (环卫工人), e.g. a water point shared for them.
    SanitationWorkers,
    /// Outdoor workers (户外劳动者): couriers, drivers, sanitation workers.
    OutdoorWorkers,
    /// The elderly.
    Elderly,
    /// Children and students.
    Children,
    /// Residents of the community only.
    Residents,
}

impl Audience {
    /// All audiences, for error messages and the API description.
    pub const ALL: [Audience; 6] = [
        Audience::Everyone,
        Audience::SanitationWorkers,
        Audience::OutdoorWorkers,
        Audience::Elderly,
        Audience::Children,
        Audience::Residents,
    ];

    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Everyone => "everyone",
            Audience::SanitationWorkers => "sanitation_workers",
            Audience::OutdoorWorkers => "outdoor_workers",
            Audience::Elderly => "elderly",
            Audience::Children => "children",
            Audience::Residents => "residents",
        }
    }

    /// True when a person of `who` may use a facility for `self`. Facilities for everyone
    /// serve every group; outdoor-worker facilities also serve sanitation workers.
    ///
    /// ```
    /// use gridcircle::model::Audience;
    /// assert!(Audience::Everyone.serves(Audience::SanitationWorkers));
    /// assert!(Audience::OutdoorWorkers.serves(Audience::SanitationWorkers));
    /// assert!(!Audience::SanitationWorkers.serves(Audience::Everyone));
    /// ```
    pub fn serves(self, who: Audience) -> bool {
        self == Audience::Everyone
            || self == who
            || (self == Audience::OutdoorWorkers && who == Audience::SanitationWorkers)
    }
}

impl FromStr for Audience {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, ModelError> {
        Audience::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| {
                ModelError::new(
                    "audience",
                    "unknown_audience",
                    format!(
                        "unknown audience {s:?}; one of: {}",
                        Audience::ALL.map(Audience::as_str).join(", ")
                    ),
                )
            })
    }
}

/// A facility. Build it with [`FacilityDraft::validate`], so that every one that exists is valid.
#[derive(Debug, Clone, PartialEq)]
pub struct Facility {
    /// Store id.
    pub id: i64,
    /// The OSM object it was imported from, if any.
    pub osm: Option<OsmRef>,
    /// Where it is.
    pub point: LonLat,
    /// Kind (checked against the catalogue).
    pub kind: KindId,
    /// Name.
    pub name: Option<String>,
    /// The organisation that owns and shares it.
    pub owner: Option<String>,
    /// Who may use it.
    pub audience: Audience,
    /// Opening hours, if known.
    pub hours: Option<Hours>,
    /// Capacity (parking spaces, seats), if known.
    pub capacity: Option<u32>,
    /// Free places now (≤ capacity), if known.
    pub free: Option<u32>,
    /// True when an organisation shares its own facility with the public (资源共享).
    pub shared: bool,
    /// Demo flag: illustrative records made by the project, never official.
    pub demo: bool,
}

/// The unchecked fields of a facility, as they arrive from OSM, a file or an HTTP body.
#[derive(Debug, Clone, Default)]
pub struct FacilityDraft {
    /// OSM reference.
    pub osm: Option<OsmRef>,
    /// Longitude.
    pub lon: f64,
    /// Latitude.
    pub lat: f64,
    /// Kind id.
    pub kind: String,
    /// Name.
    pub name: Option<String>,
    /// Owner organisation.
    pub owner: Option<String>,
    /// Audience (default everyone).
    pub audience: Option<String>,
    /// opening_hours string.
    pub opening_hours: Option<String>,
    /// Capacity.
    pub capacity: Option<i64>,
    /// Free places.
    pub free: Option<i64>,
    /// Shared flag.
    pub shared: bool,
    /// Demo flag.
    pub demo: bool,
}

fn optional_text(
    value: Option<String>,
    field: &str,
    max: usize,
) -> Result<Option<String>, ModelError> {
    match value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) {
        Some(v) if v.chars().count() > max => Err(ModelError::new(
            field,
            "too_long",
            format!("{field} is at most {max} characters"),
        )),
        other => Ok(other),
    }
}

fn count(value: Option<i64>, field: &str) -> Result<Option<u32>, ModelError> {
    match value {
        None => Ok(None),
        Some(v) if (0..=1_000_000).contains(&v) => Ok(Some(v as u32)),
        Some(v) => Err(ModelError::new(
            field,
            "out_of_range",
            format!("{field} must be 0..=1000000, got {v}"),
        )),
    }
}

impl FacilityDraft {
    /// Checks every field against the kind catalogue and builds the facility with store id `id`.
    ///
    /// ```
    /// use gridcircle::model::{FacilityDraft, KindCatalogue};
    /// let cat = KindCatalogue::bundled();
    /// let draft = FacilityDraft {
    ///     lon: 118.78, lat: 32.04, kind: "parking".into(),
    ///     capacity: Some(20), free: Some(25), ..Default::default()
    /// };
    /// assert_eq!(draft.validate(1, &cat).unwrap_err().field, "free");
    /// ```
    pub fn validate(
        self,
        id: i64,
        catalogue: &super::KindCatalogue,
    ) -> Result<Facility, ModelError> {
        let point = LonLat::new(self.lon, self.lat)?;
        let kind = catalogue.parse_kind(&self.kind, "kind")?;
        let audience = match self.audience.as_deref() {
            None | Some("") => Audience::Everyone,
            Some(a) => a.parse()?,
        };
        let hours = match self.opening_hours.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(raw) => Some(Hours::parse(raw, "opening_hours")?),
        };
        let capacity = count(self.capacity, "capacity")?;
        let free = count(self.free, "free")?;
        if let (Some(c), Some(f)) = (capacity, free)
            && f > c
        {
            return Err(ModelError::new(
                "free",
                "out_of_range",
                format!("free ({f}) exceeds capacity ({c})"),
            ));
        }
        Ok(Facility {
            id,
            osm: self.osm,
            point,
            kind,
            name: optional_text(self.name, "name", 128)?,
            owner: optional_text(self.owner, "owner", 128)?,
            audience,
            hours,
            capacity,
            free,
            shared: self.shared,
            demo: self.demo,
        })
    }

    /// [`FacilityDraft::validate`] for a new or changed facility (HTTP write, OSM or GeoJSON
    /// import): also refuses opening hours whose evaluation would cost more than
    /// [`MAX_EVAL_STEPS`](super::MAX_EVAL_STEPS) ([`Hours::check_budget`],
    /// `opening_hours_too_complex`). Stored rows are loaded with `validate` alone, so an
    /// expression stored before this check existed never stops start-up.
    ///
    /// ```
    /// use gridcircle::model::{FacilityDraft, KindCatalogue};
    /// let cat = KindCatalogue::bundled();
    /// let draft = |hours: &str| FacilityDraft {
    ///     lon: 118.78, lat: 32.04, kind: "toilet".into(),
    ///     opening_hours: Some(hours.into()), ..Default::default()
    /// };
    /// assert!(draft("Mo-Su 00:00-24:00").validate_write(1, &cat).is_ok());
    /// let vandal = ["Mo"; 150].join(";");
    /// assert!(draft(&vandal).validate(1, &cat).is_ok());
    /// let err = draft(&vandal).validate_write(1, &cat).unwrap_err();
    /// assert_eq!((err.field.as_str(), err.code), ("opening_hours", "opening_hours_too_complex"));
    /// ```
    pub fn validate_write(
        self,
        id: i64,
        catalogue: &super::KindCatalogue,
    ) -> Result<Facility, ModelError> {
        let facility = self.validate(id, catalogue)?;
        if let Some(hours) = &facility.hours {
            hours.check_budget("opening_hours")?;
        }
        Ok(facility)
    }
}
