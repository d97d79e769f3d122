//! Roles, tokens, scopes and the jurisdiction check (issue 8).
//!
//! A caller proves who they are with a bearer token (`Authorization: Bearer gc_…`): 32 random
//! bytes, hex-encoded behind a `gc_` prefix. The store keeps only its SHA-256, with the token's
//! [`Role`] and [`Scope`]. What each role may write is decided here, by [`authorise`], from the
//! write's [`Target`] and the scope's polygon: pure functions, so the rules are tested without a
//! server.
//!
//! | role | scope | may write |
//! |---|---|---|
//! | `admin` | — | everything; reads the audit log |
//! | `street_office` | its street office | communities and grids whose old and new boundary lie in the office's polygon; building chiefs there |
//! | `community` | its community | grids whose old and new boundary lie in the community's polygon; building chiefs there |
//! | `organisation` | its owner name | the facilities it owns (before and after the write) |
//! | `planner` | — | service circle definitions |
//! | anonymous | — | nothing |
//!
//! Personal data (phones) is decided in the HTTP layer's `http::grids::people` (`may_see_personal_data`), from the
//! same [`Principal`].

mod jurisdiction;

use std::fmt;
use std::str::FromStr;

use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};

pub use jurisdiction::{Outside, TOLERANCE_M, point_within, within_scope};

use crate::model::{AreaShape, LonLat};

/// The prefix of every token, so a leaked one is recognisable (secret scanners, logs).
pub const TOKEN_PREFIX: &str = "gc_";

/// A role a token carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including the audit log.
    Admin,
    /// A street office (街道): communities and grids inside its polygon.
    StreetOffice,
    /// A community (社区): grids inside its polygon.
    Community,
    /// An organisation sharing facilities: only the facilities it owns.
    Organisation,
    /// Planners: circle definitions, analytics and personal data.
    Planner,
}

impl Role {
    /// Every role, in the order help texts list them.
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::StreetOffice,
        Role::Community,
        Role::Organisation,
        Role::Planner,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::StreetOffice => "street_office",
            Role::Community => "community",
            Role::Organisation => "organisation",
            Role::Planner => "planner",
        }
    }

    /// True for roles whose token names a scope.
    pub fn needs_scope(self) -> bool {
        matches!(
            self,
            Role::StreetOffice | Role::Community | Role::Organisation
        )
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s || (s == "organization" && *r == Role::Organisation))
            .ok_or_else(|| {
                format!(
                    "unknown role {s:?}; roles: {}",
                    Role::ALL.map(Role::as_str).join(", ")
                )
            })
    }
}

/// What a token's holder is responsible for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Scope {
    /// No limit by place or owner (admin, planner).
    Everything,
    /// A street office, by id.
    StreetOffice(i64),
    /// A community, by id.
    Community(i64),
    /// An organisation, by the `owner` name its facilities carry.
    Owner(String),
}

impl Scope {
    /// The stored text: the id, the owner name, or None.
    pub fn stored(&self) -> Option<String> {
        match self {
            Scope::Everything => None,
            Scope::StreetOffice(id) | Scope::Community(id) => Some(id.to_string()),
            Scope::Owner(name) => Some(name.clone()),
        }
    }

    /// The scope of a stored token row.
    pub fn from_stored(role: Role, stored: Option<&str>) -> Result<Scope, String> {
        let id = |s: Option<&str>| -> Result<i64, String> {
            s.and_then(|t| t.parse().ok())
                .ok_or_else(|| format!("a {role} token's scope is an id, got {stored:?}"))
        };
        Ok(match role {
            Role::Admin | Role::Planner => Scope::Everything,
            Role::StreetOffice => Scope::StreetOffice(id(stored)?),
            Role::Community => Scope::Community(id(stored)?),
            Role::Organisation => {
                let name = stored.map(str::trim).unwrap_or("");
                if name.is_empty() {
                    return Err("an organisation token's scope is its owner name".into());
                }
                Scope::Owner(name.to_owned())
            }
        })
    }
}

/// An authenticated caller: the token's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's id (for the audit log and `token revoke`).
    pub token_id: i64,
    /// Its role.
    pub role: Role,
    /// Its scope.
    pub scope: Scope,
    /// Who it was issued to.
    pub label: String,
}

/// A freshly generated token: the secret (shown once) and its stored hash.
#[derive(Debug, Clone)]
pub struct NewToken {
    /// `gc_` + 64 hex digits; shown to the operator once, never stored.
    pub secret: String,
    /// SHA-256 of the secret, hex.
    pub hash: String,
}

/// A new token from the operating system's random generator (256 bits).
pub fn generate_token() -> NewToken {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret = format!("{TOKEN_PREFIX}{}", hex::encode(bytes));
    let hash = hash_token(&secret);
    NewToken { secret, hash }
}

/// The stored form of a token: SHA-256 of the whole string, hex.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// True when `text` has the shape of a token (so garbage never reaches the store).
pub fn looks_like_token(text: &str) -> bool {
    text.strip_prefix(TOKEN_PREFIX)
        .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A stored token, as `token list` shows it (never the secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenRecord {
    /// Id.
    pub id: i64,
    /// Role.
    pub role: Role,
    /// Stored scope text.
    pub scope: Option<String>,
    /// Who it was issued to.
    pub label: String,
    /// When (RFC 3339).
    pub created_at: String,
    /// When it was revoked, if it was.
    pub revoked_at: Option<String>,
}

/// One audit record to append.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    /// The token used, if any.
    pub token_id: Option<i64>,
    /// Its role.
    pub role: Option<Role>,
    /// Who: the `X-Actor` name, else the token's label.
    pub actor: String,
    /// What: `create`, `replace`, `delete`, `renumber`, `put`, `token_create`…
    pub action: String,
    /// The layer or table: `facilities`, `grids`, `circles`, `building_chiefs`, `auth_tokens`…
    pub layer: String,
    /// The record's id in its layer.
    pub feature_id: Option<String>,
    /// The record before (None on create).
    pub before: Option<serde_json::Value>,
    /// The record after (None on delete).
    pub after: Option<serde_json::Value>,
}

/// A stored audit record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditRecord {
    /// Sequence number.
    pub id: i64,
    /// When (RFC 3339, UTC, milliseconds).
    pub at: String,
    /// Token id.
    pub token_id: Option<i64>,
    /// Role.
    pub role: Option<String>,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// Layer.
    pub layer: String,
    /// Record id.
    pub feature_id: Option<String>,
    /// Before.
    pub before: Option<serde_json::Value>,
    /// After.
    pub after: Option<serde_json::Value>,
}

/// The boundary layers, for [`Target::Boundary`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoundaryKind {
    /// A grid.
    Grid,
    /// A community.
    Community,
    /// A street office.
    StreetOffice,
}

/// What a write touches, as far as permission goes.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// A facility: its owner before (None: created) and after (None: deleted); an owner is
    /// itself optional.
    Facility {
        /// Owner before the write; `None` when the facility is being created.
        before: Option<Option<&'a str>>,
        /// Owner after the write; `None` when it is being deleted.
        after: Option<Option<&'a str>>,
    },
    /// A grid, community or street office boundary, before and after.
    Boundary {
        /// Which layer.
        kind: BoundaryKind,
        /// Boundary before (None: created).
        before: Option<&'a AreaShape>,
        /// Boundary after (None: deleted).
        after: Option<&'a AreaShape>,
    },
    /// A building chief, at the building's point.
    BuildingChief(LonLat),
    /// A service circle definition.
    Circle,
}

/// Why a write is refused (403).
#[derive(Debug, Clone, PartialEq)]
pub enum Denied {
    /// The role may not make this kind of write at all.
    Role {
        /// The caller's role.
        role: Role,
        /// What the write was.
        what: &'static str,
        /// The roles that may.
        allowed: &'static str,
    },
    /// A boundary or point lies outside the scope's polygon.
    Outside {
        /// before or after.
        which: &'static str,
        /// How it lies outside.
        outside: Outside,
    },
    /// The facility is not the organisation's.
    NotOwner {
        /// The organisation.
        owner: String,
        /// The facility's owner (before or after).
        found: Option<String>,
    },
    /// The token's street office or community no longer exists.
    ScopeGone,
}

impl fmt::Display for Denied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Denied::Role {
                role,
                what,
                allowed,
            } => write!(f, "a {role} token may not write {what}; {allowed} may"),
            Denied::Outside { which, outside } => write!(
                f,
                "the {which} geometry lies outside this token's jurisdiction: {:.1} m² beyond it, up to {:.1} m (tolerance {} m)",
                outside.area_m2, outside.reach_m, TOLERANCE_M
            ),
            Denied::NotOwner { owner, found } => write!(
                f,
                "this token writes only facilities owned by {owner:?}; this one is owned by {}",
                found
                    .as_deref()
                    .map_or("nobody".to_owned(), |o| format!("{o:?}"))
            ),
            Denied::ScopeGone => {
                f.write_str("this token's street office or community no longer exists")
            }
        }
    }
}

impl Denied {
    /// The machine-readable code of the 403 answer.
    pub fn code(&self) -> &'static str {
        match self {
            Denied::Role { .. } => "forbidden_role",
            Denied::Outside { .. } => "outside_jurisdiction",
            Denied::NotOwner { .. } => "not_owner",
            Denied::ScopeGone => "scope_gone",
        }
    }
}

/// May `principal` make the write `target`? `scope_area` is the polygon of the principal's
/// street office or community (None when it has none, or it no longer exists).
pub fn authorise(
    principal: &Principal,
    target: &Target<'_>,
    scope_area: Option<&AreaShape>,
) -> Result<(), Denied> {
    let role = principal.role;
    let deny = |what, allowed| {
        Err(Denied::Role {
            role,
            what,
            allowed,
        })
    };
    let area = || scope_area.ok_or(Denied::ScopeGone);
    match (role, target) {
        (Role::Admin, _) => Ok(()),
        (Role::Planner, Target::Circle) => Ok(()),
        (_, Target::Circle) => deny("service circles", "admin and planner"),
        (Role::Organisation, Target::Facility { before, after }) => {
            let Scope::Owner(owner) = &principal.scope else {
                return Err(Denied::ScopeGone);
            };
            for o in [before, after].into_iter().flatten() {
                if *o != Some(owner.as_str()) {
                    return Err(Denied::NotOwner {
                        owner: owner.clone(),
                        found: o.map(str::to_owned),
                    });
                }
            }
            Ok(())
        }
        (_, Target::Facility { .. }) => deny("facilities", "admin and the owning organisation"),
        (
            Role::StreetOffice | Role::Community,
            Target::Boundary {
                kind,
                before,
                after,
            },
        ) => {
            let allowed = match role {
                Role::StreetOffice => {
                    matches!(kind, BoundaryKind::Grid | BoundaryKind::Community)
                }
                _ => *kind == BoundaryKind::Grid,
            };
            if !allowed {
                return match kind {
                    BoundaryKind::StreetOffice => deny("street offices", "admin"),
                    _ => deny("communities", "admin and street_office"),
                };
            }
            let scope = area()?;
            for (which, shape) in [("old", before), ("new", after)] {
                if let Some(shape) = shape {
                    within_scope(scope, shape, TOLERANCE_M)
                        .map_err(|outside| Denied::Outside { which, outside })?;
                }
            }
            Ok(())
        }
        (_, Target::Boundary { kind, .. }) => match kind {
            BoundaryKind::Grid => deny("grids", "admin, street_office and community"),
            BoundaryKind::Community => deny("communities", "admin and street_office"),
            BoundaryKind::StreetOffice => deny("street offices", "admin"),
        },
        (Role::StreetOffice | Role::Community, Target::BuildingChief(p)) => {
            point_within(area()?, *p, TOLERANCE_M).map_err(|outside| Denied::Outside {
                which: "building's",
                outside,
            })
        }
        (_, Target::BuildingChief(_)) => deny(
            "building chiefs",
            "admin, street_office and community (in their area)",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(x0: f64, y0: f64, d: f64) -> AreaShape {
        let p = geo::Polygon::new(
            geo::LineString::from(vec![
                (x0, y0),
                (x0 + d, y0),
                (x0 + d, y0 + d),
                (x0, y0 + d),
                (x0, y0),
            ]),
            vec![],
        );
        AreaShape::from_multi_polygon(geo::MultiPolygon(vec![p]), "geometry").unwrap()
    }

    fn who(role: Role, scope: Scope) -> Principal {
        Principal {
            token_id: 1,
            role,
            scope,
            label: "t".into(),
        }
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let a = generate_token();
        let b = generate_token();
        assert_ne!(a.secret, b.secret);
        assert!(looks_like_token(&a.secret));
        assert_eq!(a.hash, hash_token(&a.secret));
        assert_eq!(a.hash.len(), 64);
        assert!(!a.hash.contains(&a.secret[3..]));
        assert!(!looks_like_token("gc_xyz"));
        assert!(!looks_like_token(&a.secret[1..]));
    }

    #[test]
    fn roles_parse_and_scopes_round_trip() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
        }
        assert!("root".parse::<Role>().is_err());
        let s = Scope::from_stored(Role::Community, Some("7")).unwrap();
        assert_eq!(s, Scope::Community(7));
        assert_eq!(s.stored().as_deref(), Some("7"));
        assert!(Scope::from_stored(Role::StreetOffice, Some("x")).is_err());
        assert!(Scope::from_stored(Role::Organisation, Some(" ")).is_err());
        assert_eq!(
            Scope::from_stored(Role::Admin, None).unwrap(),
            Scope::Everything
        );
    }

    #[test]
    fn boundaries_must_stay_inside_the_jurisdiction() {
        let office = square(118.77, 32.03, 0.01);
        let inside = square(118.772, 32.032, 0.002);
        let across = square(118.779, 32.032, 0.002);
        let p = who(Role::StreetOffice, Scope::StreetOffice(1));
        let grid = |before, after| Target::Boundary {
            kind: BoundaryKind::Grid,
            before,
            after,
        };
        assert!(authorise(&p, &grid(None, Some(&inside)), Some(&office)).is_ok());
        assert!(authorise(&p, &grid(Some(&inside), Some(&inside)), Some(&office)).is_ok());
        let e = authorise(&p, &grid(None, Some(&across)), Some(&office)).unwrap_err();
        assert_eq!(e.code(), "outside_jurisdiction");
        // Moving a neighbour's grid in is refused on its old boundary.
        let e = authorise(&p, &grid(Some(&across), Some(&inside)), Some(&office)).unwrap_err();
        assert!(matches!(e, Denied::Outside { which: "old", .. }));
        // The office's own boundary is within tolerance of itself.
        assert!(authorise(&p, &grid(None, Some(&office)), Some(&office)).is_ok());
        // Street offices: admin only.
        let so = Target::Boundary {
            kind: BoundaryKind::StreetOffice,
            before: None,
            after: Some(&inside),
        };
        assert_eq!(
            authorise(&p, &so, Some(&office)).unwrap_err().code(),
            "forbidden_role"
        );
        assert!(authorise(&who(Role::Admin, Scope::Everything), &so, None).is_ok());
        // A community token may not write communities; a vanished scope refuses everything.
        let c = who(Role::Community, Scope::Community(2));
        let community = Target::Boundary {
            kind: BoundaryKind::Community,
            before: None,
            after: Some(&inside),
        };
        assert!(authorise(&c, &community, Some(&office)).is_err());
        assert_eq!(
            authorise(&c, &grid(None, Some(&inside)), None).unwrap_err(),
            Denied::ScopeGone
        );
    }

    #[test]
    fn organisations_write_only_their_facilities() {
        let org = who(Role::Organisation, Scope::Owner("某单位".into()));
        let f = |before, after| Target::Facility { before, after };
        assert!(authorise(&org, &f(None, Some(Some("某单位"))), None).is_ok());
        assert!(authorise(&org, &f(Some(Some("某单位")), None), None).is_ok());
        assert!(authorise(&org, &f(None, Some(None)), None).is_err());
        assert!(authorise(&org, &f(Some(Some("别家")), Some(Some("某单位"))), None).is_err());
        assert!(authorise(&org, &f(Some(Some("某单位")), Some(Some("别家"))), None).is_err());
        let planner = who(Role::Planner, Scope::Everything);
        assert!(authorise(&planner, &f(None, Some(None)), None).is_err());
        assert!(authorise(&planner, &Target::Circle, None).is_ok());
        assert!(authorise(&org, &Target::Circle, None).is_err());
    }
}
