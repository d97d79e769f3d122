//! Service circle definitions (十分钟服务圈): which facility kinds serve a circle, within how
//! many minutes, at what walking speed, measured how.

use super::{KindCatalogue, KindId, ModelError};

/// How reach is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReachMode {
    /// Walking on the street network.
    Walk,
    /// Crow-fly radius of `minutes × speed` metres, as plans draw it.
    Radius,
}

impl std::str::FromStr for ReachMode {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, ModelError> {
        match s {
            "walk" => Ok(ReachMode::Walk),
            "radius" => Ok(ReachMode::Radius),
            _ => Err(ModelError::new(
                "mode",
                "unknown_mode",
                format!("mode must be walk or radius, got {s:?}"),
            )),
        }
    }
}

/// The largest budget a circle or query may ask for, minutes. A "ten-minute" circle is the
/// norm; an hour on foot is already far outside any life-circle standard.
pub const MAX_MINUTES: f64 = 60.0;

/// A validated circle definition.
///
/// ```
/// use gridcircle::model::{CircleDef, KindCatalogue};
/// let cat = KindCatalogue::bundled();
/// let circles = CircleDef::bundled(&cat);
/// let health = circles.iter().find(|c| c.name == "健康").unwrap();
/// assert_eq!(health.metres(), 750.0);
/// assert!(health.serves_kind("clinic"));
/// ```
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CircleDef {
    /// Stable id used in URLs (`/circles/health`).
    pub id: String,
    /// Chinese name (政务, 生活, 健康, 文体, 平安); `?circle=` accepts either.
    pub name: String,
    /// English name.
    pub name_en: String,
    /// Facility kinds that serve it.
    pub kinds: Vec<KindId>,
    /// Walking budget, minutes.
    pub minutes: f64,
    /// Walking speed, km/h.
    pub speed_kmh: f64,
    /// Walk or radius.
    pub mode: ReachMode,
}

/// The unchecked fields of a circle definition (from TOML or a PUT body).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CircleDraft {
    /// Id.
    pub id: String,
    /// Chinese name.
    pub name: String,
    /// English name.
    #[serde(default)]
    pub name_en: String,
    /// Kind ids.
    pub kinds: Vec<String>,
    /// Minutes (default 10).
    #[serde(default = "ten")]
    pub minutes: f64,
    /// km/h (default 4.5).
    #[serde(default = "walking_speed")]
    pub speed_kmh: f64,
    /// Mode (default walk).
    #[serde(default = "walk")]
    pub mode: ReachMode,
}

fn ten() -> f64 {
    10.0
}
fn walking_speed() -> f64 {
    4.5
}
fn walk() -> ReachMode {
    ReachMode::Walk
}

#[derive(serde::Deserialize)]
struct CirclesFile {
    circle: Vec<CircleDraft>,
}

/// Checks minutes: (0, 60].
pub fn parse_minutes(minutes: f64, field: &str) -> Result<f64, ModelError> {
    if minutes.is_finite() && minutes > 0.0 && minutes <= MAX_MINUTES {
        Ok(minutes)
    } else {
        Err(ModelError::new(
            field,
            "out_of_range",
            format!("minutes must be more than 0 and at most {MAX_MINUTES}, got {minutes}"),
        ))
    }
}

/// Checks a walking speed: 1 to 10 km/h.
pub fn parse_speed(speed_kmh: f64, field: &str) -> Result<f64, ModelError> {
    if speed_kmh.is_finite() && (1.0..=10.0).contains(&speed_kmh) {
        Ok(speed_kmh)
    } else {
        Err(ModelError::new(
            field,
            "out_of_range",
            format!("walking speed must be 1 to 10 km/h, got {speed_kmh}"),
        ))
    }
}

impl CircleDraft {
    /// Validates against the kind catalogue.
    pub fn validate(self, catalogue: &KindCatalogue) -> Result<CircleDef, ModelError> {
        if self.id.is_empty()
            || self.id.len() > 40
            || !self
                .id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(ModelError::new(
                "id",
                "invalid_id",
                "a circle id is 1 to 40 of a-z, 0-9 and _",
            ));
        }
        let name = super::parse_name(&self.name, "name")?;
        if self.kinds.is_empty() {
            return Err(ModelError::new(
                "kinds",
                "empty",
                "a circle needs at least one facility kind",
            ));
        }
        let kinds = self
            .kinds
            .iter()
            .map(|k| catalogue.parse_kind(k, "kinds"))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(CircleDef {
            id: self.id,
            name,
            name_en: self.name_en.trim().to_owned(),
            kinds,
            minutes: parse_minutes(self.minutes, "minutes")?,
            speed_kmh: parse_speed(self.speed_kmh, "speed_kmh")?,
            mode: self.mode,
        })
    }
}

impl CircleDef {
    /// The definitions shipped in `data/circles.toml`.
    pub fn bundled(catalogue: &KindCatalogue) -> Vec<CircleDef> {
        Self::from_toml(include_str!("../../data/circles.toml"), catalogue)
            .expect("bundled data/circles.toml is valid")
    }

    /// Parses a circles file.
    pub fn from_toml(text: &str, catalogue: &KindCatalogue) -> Result<Vec<CircleDef>, ModelError> {
        let file: CirclesFile = toml::from_str(text)
            .map_err(|e| ModelError::new("circles", "invalid_circles", e.to_string()))?;
        let defs = file
            .circle
            .into_iter()
            .map(|d| d.validate(catalogue))
            .collect::<Result<Vec<_>, _>>()?;
        let mut ids: Vec<&str> = defs.iter().map(|d| d.id.as_str()).collect();
        ids.sort_unstable();
        if ids.windows(2).any(|w| w[0] == w[1]) {
            return Err(ModelError::new(
                "circles",
                "invalid_circles",
                "circle ids must be unique",
            ));
        }
        Ok(defs)
    }

    /// The budget in metres: minutes × speed.
    pub fn metres(&self) -> f64 {
        metres(self.minutes, self.speed_kmh)
    }

    /// True when facilities of `kind` serve this circle.
    pub fn serves_kind(&self, kind: &str) -> bool {
        self.kinds.iter().any(|k| k.as_str() == kind)
    }
}

/// Metres walked in `minutes` at `speed_kmh`.
pub fn metres(minutes: f64, speed_kmh: f64) -> f64 {
    minutes * speed_kmh * 1000.0 / 60.0
}

/// Minutes to walk `metres` at `speed_kmh`.
pub fn minutes(metres: f64, speed_kmh: f64) -> f64 {
    metres * 60.0 / (speed_kmh * 1000.0)
}
