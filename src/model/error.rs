//! The one error a model constructor returns: what is wrong, and with which field.

/// A value that could not become a model type.
///
/// `field` names the input field (a JSON property name, `geometry`, a CLI column…) so that
/// the HTTP layer can tell the caller exactly what to fix.
///
/// ```
/// use gridcircle::model::LonLat;
/// let err = LonLat::new(200.0, 32.0).unwrap_err();
/// assert_eq!(err.field, "lon");
/// assert_eq!(err.code, "out_of_range");
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ModelError {
    /// The input field at fault.
    pub field: String,
    /// A short machine-readable code, e.g. `out_of_range`, `self_intersection`.
    pub code: &'static str,
    /// A sentence for a person.
    pub message: String,
}

impl ModelError {
    /// Builds an error for `field` with a code and a human message.
    pub fn new(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        ModelError {
            field: field.into(),
            code,
            message: message.into(),
        }
    }

    /// The same error, reported under a longer field path (`properties.` + field).
    pub fn under(mut self, prefix: &str) -> Self {
        self.field = format!("{prefix}{}", self.field);
        self
    }
}
