//! Extractors and request facts every route group shares: who is calling ([`Caller`]: actor,
//! token, `If-Match`), what personal data they may see, ETags, and feature ids in paths.
//!
//! Phones of grid chiefs, grid workers and building chiefs are personal data. Every answer that
//! shows a person goes through [`person_json`], which asks [`may_see_personal_data`]: the one
//! place that decides, from the caller's token (issue 8) and where the person serves: admins
//! and planners everywhere, street offices and communities within their scope, nobody else.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde_json::{Value, json};

use crate::auth::{Principal, Role, Scope};
use crate::http::error::{ApiError, ApiResult};
use crate::model::Person;
use crate::readmodel::Snapshot;
use crate::store::ChangeBy;

/// The header naming who makes a change, recorded in the boundary history.
pub const ACTOR_HEADER: &str = "x-actor";

/// The caller of a request: who they say they are (for the history), their token's principal
/// (if they sent one) and whether they may see personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// From `X-Actor` (trimmed, 1–64 characters), else the token's label, else `anonymous`.
    pub actor: String,
    /// The authenticated token's principal, if any.
    pub principal: Option<Principal>,
    personal_data: bool,
    /// The `If-Match` header, if sent: the version a write is based on (see [`etag_matches`]).
    pub if_match: Option<String>,
}

/// The ETag of version `version` of a feature: `"v3"`.
pub fn etag(version: i64) -> String {
    format!("\"v{version}\"")
}

/// True when an `If-Match` value names version `version` (`*` matches any existing feature;
/// a weak `W/` prefix is accepted, the versions being exact).
pub fn etag_matches(if_match: &str, version: i64) -> bool {
    let want = etag(version);
    if_match
        .split(',')
        .map(str::trim)
        .any(|t| t == "*" || t.trim_start_matches("W/") == want)
}

/// An ETag hashing a record's stored attributes (`prefix` names the kind of record), for
/// records without a version column: the same on every replica holding the same record, and
/// different after any write. The store's compare-and-swap checks the same attributes.
pub fn content_etag(prefix: char, attributes: &str) -> String {
    use sha2::{Digest, Sha256};
    format!(
        "\"{prefix}{}\"",
        &hex::encode(Sha256::digest(attributes.as_bytes()))[..16]
    )
}

/// 412 unless the caller's If-Match (if any) names `current` (or `*`); `what` names the
/// record in the message. Without If-Match a write is still conditional: on the record the
/// request read.
pub fn check_if_match(caller: &Caller, current: &str, what: &str) -> ApiResult<()> {
    let Some(list) = &caller.if_match else {
        return Ok(());
    };
    if list
        .split(',')
        .map(str::trim)
        .any(|t| t == "*" || t.trim_start_matches("W/") == current)
    {
        return Ok(());
    }
    Err(ApiError::new(
        axum::http::StatusCode::PRECONDITION_FAILED,
        "version_mismatch",
        format!("{what} has ETag {current}, not If-Match {list}: read it again"),
    ))
}

/// The ETag of a community or street office: its code, name, parent, flag and boundary.
pub fn area_etag(
    id: i64,
    code: &str,
    name: &str,
    parent: Option<i64>,
    demo: bool,
    boundary: &crate::model::AreaShape,
) -> String {
    let mut text = format!("{id} {code} {name:?} {parent:?} {demo}");
    for p in &boundary.shape().0 {
        for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
            for c in &ring.0 {
                text.push_str(&format!(" {:x},{:x}", c.x.to_bits(), c.y.to_bits()));
            }
            text.push('|');
        }
    }
    content_etag('a', &text)
}

/// Where a person serves, for [`may_see_personal_data`]: a community and its street office.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    /// The community.
    pub community_id: i64,
    /// Its street office.
    pub street_office_id: Option<i64>,
}

impl Caller {
    /// An anonymous caller.
    #[cfg(test)]
    pub fn anonymous() -> Self {
        Caller {
            actor: "anonymous".into(),
            principal: None,
            personal_data: false,
            if_match: None,
        }
    }

    /// The same caller answering about people who serve in community `community_id`.
    pub fn at_community(&self, snapshot: &Snapshot, community_id: i64) -> Caller {
        let place = Place {
            community_id,
            street_office_id: snapshot
                .communities
                .get(community_id)
                .map(|c| c.street_office_id),
        };
        Caller {
            personal_data: may_see_personal_data(self.principal.as_ref(), Some(place)),
            ..self.clone()
        }
    }

    /// The same caller answering about the chief of building `building_id` (its grid's
    /// community decides).
    pub fn at_building(&self, snapshot: &Snapshot, building_id: i64) -> Caller {
        let community = snapshot
            .buildings
            .layer
            .index_of(building_id)
            .and_then(|i| snapshot.grids.building_grid[i])
            .map(|gi| snapshot.grids.layer.items()[gi].community_id);
        match community {
            Some(c) => self.at_community(snapshot, c),
            None => Caller {
                personal_data: may_see_personal_data(self.principal.as_ref(), None),
                ..self.clone()
            },
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

/// The one decision on personal data: may `principal` see the phones of people serving at
/// `place` (None: the place is not known, e.g. a building in no grid)? Admins and planners
/// everywhere; a street office for its communities; a community for itself; organisations and
/// anonymous callers never.
pub fn may_see_personal_data(principal: Option<&Principal>, place: Option<Place>) -> bool {
    let Some(p) = principal else {
        return false;
    };
    match (p.role, &p.scope, place) {
        (Role::Admin | Role::Planner, _, _) => true,
        (Role::StreetOffice, Scope::StreetOffice(id), Some(place)) => {
            place.street_office_id == Some(*id)
        }
        (Role::Community, Scope::Community(id), Some(place)) => place.community_id == *id,
        _ => false,
    }
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
        let principal = parts.extensions.get::<Principal>().cloned();
        let actor = match (&principal, parts.headers.contains_key(ACTOR_HEADER)) {
            (Some(p), false) => format!("token:{} {}", p.token_id, p.label),
            _ => actor,
        };
        let if_match = parts
            .headers
            .get(axum::http::header::IF_MATCH)
            .map(|v| v.to_str().unwrap_or("\u{0}").to_owned());
        Ok(Caller {
            actor,
            personal_data: may_see_personal_data(principal.as_ref(), None),
            principal,
            if_match,
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

/// Parses a feature id from the path: ids are whole numbers.
pub fn parse_id(raw: &str) -> ApiResult<i64> {
    raw.parse().map_err(|_| {
        ApiError::not_found(format!(
            "no feature with id {raw:?} (ids are whole numbers)"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags() {
        assert_eq!(etag(3), "\"v3\"");
        assert!(etag_matches("\"v3\"", 3));
        assert!(etag_matches("W/\"v3\"", 3));
        assert!(etag_matches("\"v1\", \"v3\"", 3));
        assert!(etag_matches("*", 7));
        assert!(!etag_matches("\"v2\"", 3));
        assert!(!etag_matches("3", 3));
    }

    #[test]
    fn anonymous_callers_see_names_only() {
        let p = Person::new("王芳", Some("13800000000")).unwrap();
        let shown = person_json(&p, &Caller::anonymous()).to_string();
        assert!(shown.contains("王芳") && !shown.contains("13800000000"));
        let trusted = Caller {
            actor: "t".into(),
            principal: None,
            personal_data: true,
            if_match: None,
        };
        assert!(
            person_json(&p, &trusted)
                .to_string()
                .contains("13800000000")
        );
    }

    #[test]
    fn personal_data_by_role_and_place() {
        let who = |role, scope| Principal {
            token_id: 1,
            role,
            scope,
            label: "t".into(),
        };
        let here = Some(Place {
            community_id: 2,
            street_office_id: Some(1),
        });
        let admin = who(Role::Admin, Scope::Everything);
        let planner = who(Role::Planner, Scope::Everything);
        let office = who(Role::StreetOffice, Scope::StreetOffice(1));
        let other_office = who(Role::StreetOffice, Scope::StreetOffice(9));
        let community = who(Role::Community, Scope::Community(2));
        let other_community = who(Role::Community, Scope::Community(3));
        let org = who(Role::Organisation, Scope::Owner("x".into()));
        assert!(!may_see_personal_data(None, here));
        assert!(may_see_personal_data(Some(&admin), None));
        assert!(may_see_personal_data(Some(&planner), here));
        assert!(may_see_personal_data(Some(&office), here));
        assert!(!may_see_personal_data(Some(&office), None));
        assert!(!may_see_personal_data(Some(&other_office), here));
        assert!(may_see_personal_data(Some(&community), here));
        assert!(!may_see_personal_data(Some(&other_community), here));
        assert!(!may_see_personal_data(Some(&org), here));
    }
}
