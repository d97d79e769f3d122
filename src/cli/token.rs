//! `gridcircle token`: bearer tokens for writes (create, revoke, list).

use anyhow::Context;
use clap::Subcommand;

use crate::model::KindCatalogue;
use crate::store::Store;

/// What `gridcircle token` does.
#[derive(Debug, Subcommand)]
pub(super) enum TokenCommand {
    /// Create a token and print it once (stdout; the description goes to stderr).
    #[command(
        after_help = "Roles and scopes:\n  admin                               everything, and GET /audit\n  street_office --scope <id|9-digit code>   communities and grids inside the street office\n  community --scope <id|12-digit code>      grids inside the community\n  organisation --scope <owner name>         the facilities with that owner\n  planner                             service circles, analytics and personal data\n\nExamples:\n  gridcircle token create --role admin --label ops\n  gridcircle token create --role street_office --scope 320102001 --label 新街口街道\n  gridcircle token create --role organisation --scope 某单位 --label 某单位后勤"
    )]
    Create {
        /// The store.
        #[arg(long, default_value = "gridcircle.gpkg", env = "GRIDCIRCLE_DB")]
        db: String,
        /// admin, street_office, community, organisation or planner.
        #[arg(long)]
        role: crate::auth::Role,
        /// street_office: the office's id or code; community: the community's id or code;
        /// organisation: the owner name its facilities carry.
        #[arg(long)]
        scope: Option<String>,
        /// Who the token is for (shown in the audit log).
        #[arg(long)]
        label: Option<String>,
    },
    /// Revoke a token by its id (from `token list` or `token create`): refused from now on.
    Revoke {
        /// The store.
        #[arg(long, default_value = "gridcircle.gpkg", env = "GRIDCIRCLE_DB")]
        db: String,
        /// The token's id.
        id: i64,
    },
    /// List tokens (ids, roles, scopes, labels; never the tokens).
    List {
        /// The store.
        #[arg(long, default_value = "gridcircle.gpkg", env = "GRIDCIRCLE_DB")]
        db: String,
    },
}

impl TokenCommand {
    /// The store this action works on (`--db`), for the caller to resolve.
    pub(super) fn db_mut(&mut self) -> &mut String {
        match self {
            TokenCommand::Create { db, .. }
            | TokenCommand::Revoke { db, .. }
            | TokenCommand::List { db } => db,
        }
    }

    /// Creates, revokes or lists tokens in the store.
    pub(super) async fn run(self, catalogue: &KindCatalogue) -> anyhow::Result<()> {
        use crate::auth::{Role, Scope, generate_token};
        let open = |db: &str| {
            anyhow::ensure!(super::store_exists(db), "no store at {db}");
            Ok(())
        };
        match self {
            TokenCommand::Create {
                db,
                role,
                scope,
                label,
            } => {
                open(&db)?;
                let store = Store::open(&db).await?;
                let scope = match (role, scope.as_deref().map(str::trim)) {
                    (Role::Admin | Role::Planner, None) => Scope::Everything,
                    (Role::Admin | Role::Planner, Some(_)) => {
                        anyhow::bail!("a {role} token has no --scope")
                    }
                    (_, None | Some("")) => anyhow::bail!("a {role} token needs --scope"),
                    (Role::Organisation, Some(owner)) => Scope::Owner(owner.to_owned()),
                    (Role::StreetOffice | Role::Community, Some(text)) => {
                        let data = store.load(catalogue).await?;
                        let found = if role == Role::StreetOffice {
                            data.street_offices
                                .iter()
                                .find(|s| s.id.to_string() == text || s.code.to_string() == text)
                                .map(|s| (s.id, s.name.clone()))
                        } else {
                            data.communities
                                .iter()
                                .find(|c| c.id.to_string() == text || c.code.to_string() == text)
                                .map(|c| (c.id, c.name.clone()))
                        };
                        let (id, name) = found.with_context(|| {
                            format!(
                                "no {} with id or code {text:?} in {db}",
                                role.as_str().replace('_', " ")
                            )
                        })?;
                        eprintln!("scope: {} {id} ({name})", role.as_str().replace('_', " "));
                        if role == Role::StreetOffice {
                            Scope::StreetOffice(id)
                        } else {
                            Scope::Community(id)
                        }
                    }
                };
                let label = label.unwrap_or_else(|| role.as_str().to_owned());
                let token = generate_token();
                let id = store
                    .create_token(&token.hash, role, &scope, &label)
                    .await?;
                store.close().await;
                eprintln!(
                    "token {id}: role {role}, label {label:?}. It is shown only now (the store keeps its SHA-256); revoke with `gridcircle token revoke {id}`."
                );
                println!("{}", token.secret);
                Ok(())
            }
            TokenCommand::Revoke { db, id } => {
                open(&db)?;
                let store = Store::open(&db).await?;
                let done = store.revoke_token(id).await?;
                store.close().await;
                anyhow::ensure!(done, "no unrevoked token with id {id}");
                eprintln!("token {id} revoked");
                Ok(())
            }
            TokenCommand::List { db } => {
                open(&db)?;
                let store = Store::open(&db).await?;
                for t in store.tokens().await? {
                    println!(
                        "{}\t{}\t{}\t{}\t{}\t{}",
                        t.id,
                        t.role,
                        t.scope.as_deref().unwrap_or("-"),
                        t.label,
                        t.created_at,
                        t.revoked_at
                            .as_deref()
                            .map_or("active".to_owned(), |r| format!("revoked {r}"))
                    );
                }
                store.close().await;
                Ok(())
            }
        }
    }
}
