//! Facility kinds and the catalogue that maps OSM tags to kinds and kinds to service circles.
//! The catalogue is data (`data/kinds.toml`), edited by planners, not code.

use std::collections::HashMap;
use std::sync::Arc;

use super::ModelError;

/// One kind of facility, e.g. `toilet` (厕所), serving one or more service circles.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FacilityKind {
    /// Stable identifier used in the API (`kind=toilet`).
    pub id: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// OSM tags (`key=value`) that make an OSM object a facility of this kind.
    #[serde(default)]
    pub osm: Vec<String>,
    /// Names of the service circles (政务, 生活, 健康, 文体, 平安) this kind serves.
    #[serde(default)]
    pub circles: Vec<String>,
}

/// The set of known kinds, with a lookup from OSM tags.
///
/// ```
/// use gridcircle::model::KindCatalogue;
/// let cat = KindCatalogue::bundled();
/// assert_eq!(cat.get("toilet").unwrap().name_zh, "厕所");
/// let tags = [("amenity", "toilets")];
/// assert_eq!(cat.kind_for_tags(tags.iter().copied()).unwrap().id, "toilet");
/// assert_eq!(cat.parse_kind("spaceport", "kind").unwrap_err().code, "unknown_kind");
/// ```
#[derive(Debug, Clone)]
pub struct KindCatalogue {
    kinds: Vec<FacilityKind>,
    by_id: HashMap<String, usize>,
    by_tag: HashMap<(String, String), usize>,
}

/// A kind id that is known to exist in the catalogue it was checked against.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct KindId(Arc<str>);

impl KindId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(serde::Deserialize)]
struct CatalogueFile {
    kind: Vec<FacilityKind>,
}

impl KindCatalogue {
    /// The catalogue shipped in `data/kinds.toml`, compiled into the binary.
    pub fn bundled() -> Self {
        Self::from_toml(include_str!("../../data/kinds.toml"))
            .expect("bundled data/kinds.toml is valid")
    }

    /// Parses a catalogue file. Kind ids must be unique, and an OSM tag may map to one kind only.
    pub fn from_toml(text: &str) -> Result<Self, ModelError> {
        let file: CatalogueFile = toml::from_str(text)
            .map_err(|e| ModelError::new("kinds", "invalid_catalogue", e.to_string()))?;
        let mut by_id = HashMap::new();
        let mut by_tag = HashMap::new();
        for (i, kind) in file.kind.iter().enumerate() {
            if kind.id.is_empty() || !kind.id.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
                return Err(ModelError::new(
                    "kinds",
                    "invalid_catalogue",
                    format!("bad kind id {:?}", kind.id),
                ));
            }
            if by_id.insert(kind.id.clone(), i).is_some() {
                return Err(ModelError::new(
                    "kinds",
                    "invalid_catalogue",
                    format!("duplicate kind {}", kind.id),
                ));
            }
            for tag in &kind.osm {
                let (k, v) = tag.split_once('=').ok_or_else(|| {
                    ModelError::new(
                        "kinds",
                        "invalid_catalogue",
                        format!("tag {tag:?} is not key=value"),
                    )
                })?;
                if by_tag.insert((k.to_owned(), v.to_owned()), i).is_some() {
                    return Err(ModelError::new(
                        "kinds",
                        "invalid_catalogue",
                        format!("tag {tag} maps to two kinds"),
                    ));
                }
            }
        }
        Ok(KindCatalogue {
            kinds: file.kind,
            by_id,
            by_tag,
        })
    }

    /// All kinds, in file order.
    pub fn kinds(&self) -> &[FacilityKind] {
        &self.kinds
    }

    /// The kind with this id.
    pub fn get(&self, id: &str) -> Option<&FacilityKind> {
        self.by_id.get(id).map(|&i| &self.kinds[i])
    }

    /// Checks that `id` is a known kind.
    pub fn parse_kind(&self, id: &str, field: &str) -> Result<KindId, ModelError> {
        match self.get(id) {
            Some(kind) => Ok(KindId(Arc::from(kind.id.as_str()))),
            None => Err(ModelError::new(
                field,
                "unknown_kind",
                format!(
                    "unknown facility kind {id:?}; known kinds: {}",
                    self.kinds
                        .iter()
                        .map(|k| k.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        }
    }

    /// The first kind matched by any of the tags, in tag order.
    pub fn kind_for_tags<'a>(
        &self,
        tags: impl Iterator<Item = (&'a str, &'a str)>,
    ) -> Option<&FacilityKind> {
        let mut best: Option<usize> = None;
        for (k, v) in tags {
            if let Some(&i) = self.by_tag.get(&(k.to_owned(), v.to_owned())) {
                // Prefer the kind listed first in the catalogue so the result does not
                // depend on tag order in the file.
                best = Some(best.map_or(i, |b| b.min(i)));
            }
        }
        best.map(|i| &self.kinds[i])
    }
}
