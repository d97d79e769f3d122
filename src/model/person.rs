//! People attached to grids: grid chief (网格长), grid workers (网格员), building chiefs (楼栋长).

use super::ModelError;

/// A named person with an optional phone number. Phones are personal data: the HTTP layer
/// only shows them to roles allowed to see personal data.
///
/// ```
/// use gridcircle::model::Person;
/// let p = Person::new("王芳", Some("13800000000")).unwrap();
/// assert_eq!(p.name(), "王芳");
/// assert!(Person::new("  ", None).is_err());
/// assert!(Person::new("王芳", Some("call me")).is_err());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Person {
    name: String,
    phone: Option<String>,
}

impl Person {
    /// A non-empty name (≤ 64 chars) and a phone of digits, spaces, `+` and `-` (≤ 24 chars).
    pub fn new(name: &str, phone: Option<&str>) -> Result<Self, ModelError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 64 {
            return Err(ModelError::new(
                "name",
                "invalid_name",
                "a name is 1 to 64 characters",
            ));
        }
        let phone = match phone.map(str::trim).filter(|p| !p.is_empty()) {
            None => None,
            Some(p) => {
                let ok = p.len() <= 24
                    && p.chars().any(|c| c.is_ascii_digit())
                    && p.chars()
                        .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' '));
                if !ok {
                    return Err(ModelError::new(
                        "phone",
                        "invalid_phone",
                        "a phone number has digits, spaces, '+' and '-' only",
                    ));
                }
                Some(p.to_owned())
            }
        };
        Ok(Person {
            name: name.to_owned(),
            phone,
        })
    }

    /// The person's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The phone number: personal data.
    pub fn phone(&self) -> Option<&str> {
        self.phone.as_deref()
    }
}
