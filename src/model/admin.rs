//! The administrative areas above grids: street offices (街道) and communities (社区).

use super::{AreaShape, CommunityCode, ModelError, StreetOfficeCode};

/// A street office (街道办事处) and its jurisdiction polygon.
#[derive(Debug, Clone, PartialEq)]
pub struct StreetOffice {
    /// Store id.
    pub id: i64,
    /// 9-digit code.
    pub code: StreetOfficeCode,
    /// Name, e.g. 新街口街道.
    pub name: String,
    /// Jurisdiction boundary.
    pub boundary: AreaShape,
    /// True for the project's illustrative demo layers (never official data).
    pub demo: bool,
}

/// A community (社区居委会) inside a street office.
#[derive(Debug, Clone, PartialEq)]
pub struct Community {
    /// Store id.
    pub id: i64,
    /// 12-digit code; its first 9 digits are the street office's code.
    pub code: CommunityCode,
    /// Name.
    pub name: String,
    /// The street office it belongs to.
    pub street_office_id: i64,
    /// Boundary.
    pub boundary: AreaShape,
    /// Demo flag.
    pub demo: bool,
}

/// Checks a display name: trimmed, 1..=128 characters.
///
/// ```
/// assert_eq!(gridcircle::model::parse_name(" 新街口街道 ", "name").unwrap(), "新街口街道");
/// assert!(gridcircle::model::parse_name("", "name").is_err());
/// ```
pub fn parse_name(text: &str, field: &str) -> Result<String, ModelError> {
    let t = text.trim();
    if t.is_empty() || t.chars().count() > 128 {
        return Err(ModelError::new(
            field,
            "invalid_name",
            "a name is 1 to 128 characters",
        ));
    }
    Ok(t.to_owned())
}
