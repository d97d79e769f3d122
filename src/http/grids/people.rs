//! Who is calling, and what personal data they may see.
//!
//! Phones of grid chiefs, grid workers and building chiefs are personal data. Every answer that
//! shows a person goes through [`person_json`], which asks [`may_see_personal_data`]: the one
//! place that decides. Until roles exist (issue 8) every caller is anonymous and sees names
//! only.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde_json::{Value, json};

use crate::http::error::ApiError;
use crate::model::Person;
use crate::store::ChangeBy;

/// The header naming who makes a change, recorded in the boundary history.
pub const ACTOR_HEADER: &str = "x-actor";

/// The caller of a request: who they say they are (for the history) and whether they may see
/// personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// From `X-Actor` (trimmed, 1–64 characters), or `anonymous`.
    pub actor: String,
    personal_data: bool,
}

impl Caller {
    /// An anonymous caller.
    #[cfg(test)]
    pub fn anonymous() -> Self {
        Caller {
            actor: "anonymous".into(),
            personal_data: false,
        }
    }

    /// True when answers to this caller may include phone numbers.
    pub fn sees_personal_data(&self) -> bool {
        self.personal_data
    }

    /// The history record of a change this caller makes.
    pub fn change(&self) -> ChangeBy {
        ChangeBy::new(self.actor.clone())
    }
}

/// The one decision on personal data. No caller is authenticated yet, so none may see it;
/// issue 8 (roles) decides here from the request's credentials.
pub fn may_see_personal_data(_parts: &Parts) -> bool {
    false
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let actor = match parts.headers.get(ACTOR_HEADER) {
            None => "anonymous".to_owned(),
            Some(v) => {
                let text = v.to_str().ok().map(str::trim).unwrap_or("");
                if text.is_empty()
                    || text.chars().count() > 64
                    || text.chars().any(char::is_control)
                {
                    return Err(ApiError::bad_request(
                        "bad_actor",
                        Some("X-Actor"),
                        "X-Actor names who makes the change: 1 to 64 visible ASCII characters",
                    ));
                }
                text.to_owned()
            }
        };
        Ok(Caller {
            actor,
            personal_data: may_see_personal_data(parts),
        })
    }
}

/// A person as the caller may see them: the name always, the phone only with
/// [`Caller::sees_personal_data`].
pub fn person_json(person: &Person, caller: &Caller) -> Value {
    if caller.sees_personal_data() {
        json!({ "name": person.name(), "phone": person.phone() })
    } else {
        json!({ "name": person.name() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anonymous_callers_see_names_only() {
        let p = Person::new("王芳", Some("13800000000")).unwrap();
        let shown = person_json(&p, &Caller::anonymous()).to_string();
        assert!(shown.contains("王芳") && !shown.contains("13800000000"));
        let trusted = Caller {
            actor: "t".into(),
            personal_data: true,
        };
        assert!(
            person_json(&p, &trusted)
                .to_string()
                .contains("13800000000")
        );
    }
}
