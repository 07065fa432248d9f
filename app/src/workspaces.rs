//! /workspaces: the workspaces bound to the signed-in customer's account, binding a new one and
//! rotating a key. A new key reaches the page once, in a short-lived HttpOnly cookie the server
//! form sets and this page clears as it shows it (never in a URL).

use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

use crate::i18n::{Msg, t};
use crate::wallet::page::{Returned, field_error};

/// The cookie carrying `<workspace id>:<key>` from the form post to the page, once.
pub const NEW_KEY_COOKIE: &str = "bc_new_key";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkspaceRow {
    pub workspace_id: String,
    pub name: String,
    pub settlement: String,
    pub key_prefix: String,
    pub bound_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkspacesData {
    pub csrf_token: String,
    pub workspaces: Vec<WorkspaceRow>,
    /// A key just made, for the workspace named: shown this once.
    pub new_key: Option<(String, String)>,
}

#[cfg(feature = "ssr")]
async fn load_workspaces() -> Option<WorkspacesData> {
    let (store, account_id, csrf_token) = crate::wallet::data::signed_in().await?;
    let workspaces = store
        .workspaces(account_id)
        .await
        .ok()?
        .into_iter()
        .map(|w| WorkspaceRow {
            workspace_id: w.workspace_id,
            name: w.name,
            settlement: crate::wallet::data::code_of(&w.settlement),
            key_prefix: w.key_prefix,
            bound_at: crate::wallet::data::when(w.bound_at),
        })
        .collect();
    let parts = use_context::<http::request::Parts>()?;
    let new_key = parts
        .headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            let (name, value) = c.trim().split_once('=')?;
            (name == NEW_KEY_COOKIE).then(|| value.to_owned())
        })
        .and_then(|value| {
            let (workspace, key) = value.split_once(':')?;
            Some((workspace.to_owned(), key.to_owned()))
        });
    if new_key.is_some()
        && let Some(response) = use_context::<leptos_axum::ResponseOptions>()
    {
        response.insert_header(
            http::header::SET_COOKIE,
            http::HeaderValue::from_static(
                "bc_new_key=; Path=/workspaces; HttpOnly; SameSite=Strict; Max-Age=0",
            ),
        );
        response.insert_header(
            http::header::CACHE_CONTROL,
            http::HeaderValue::from_static("no-store"),
        );
    }
    Some(WorkspacesData {
        csrf_token,
        workspaces,
        new_key,
    })
}

#[cfg(not(feature = "ssr"))]
async fn load_workspaces() -> Option<WorkspacesData> {
    None
}

#[component]
pub fn WorkspacesPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| load_workspaces());
    let back = Returned::read();
    view! {
        <Title text=t(Msg::NavWorkspaces)/>
        <h1>{t(Msg::NavWorkspaces)}</h1>
        <Suspense fallback=|| ()>
            {move || {
                let back = back.clone();
                Suspend::new(async move {
                    let Some(d) = data.await else {
                        return view! {
                            <p class="notice">{t(Msg::SignInForWallet)}</p>
                            <a class="button" href="/signin" rel="external">{t(Msg::NavSignIn)}</a>
                        }.into_any();
                    };
                    let id_error = back.error_at("workspace_id");
                    let name_error = back.error_at("name");
                    let generic = back.field.is_none().then(|| back.error.as_deref().map(crate::account::error_message)).flatten();
                    view! {
                        {generic.map(|m| view! { <p class="form-error" role="alert" data-testid="form-error">{t(m)}</p> })}
                        {d.new_key.clone().map(|(workspace, key)| view! {
                            <section class="card notice" role="status" data-testid="new-key">
                                <h2>{t(Msg::NewKeyTitle)}" "{workspace}</h2>
                                <p>{t(Msg::NewKeyHelp)}</p>
                                <p><code class="api-key" data-testid="api-key">{key}</code></p>
                            </section>
                        })}
                        <section class="card">
                            <h2>{t(Msg::BindWorkspace)}</h2>
                            <form class="inline-form" method="post" action="/workspaces/bind" novalidate>
                                <input type="hidden" name="csrf" value=d.csrf_token.clone()/>
                                <div class="field" class:has-error=id_error.is_some()>
                                    <label for="f-workspace-id">{t(Msg::WorkspaceId)}</label>
                                    <input id="f-workspace-id" name="workspace_id" type="text" autocomplete="off" required
                                        aria-invalid=id_error.map(|_| "true")/>
                                    {field_error(id_error, "workspace_id")}
                                </div>
                                <div class="field" class:has-error=name_error.is_some()>
                                    <label for="f-workspace-name">{t(Msg::WorkspaceName)}</label>
                                    <input id="f-workspace-name" name="name" type="text" autocomplete="off" required
                                        aria-invalid=name_error.map(|_| "true")/>
                                    {field_error(name_error, "name")}
                                </div>
                                <button type="submit" class="button" data-testid="bind">{t(Msg::Bind)}</button>
                            </form>
                        </section>
                        <section class="card">
                            <h2>{t(Msg::YourWorkspaces)}</h2>
                            {if d.workspaces.is_empty() {
                                view! { <p class="hint">{t(Msg::NoWorkspaces)}</p> }.into_any()
                            } else {
                                let csrf = d.csrf_token.clone();
                                view! {
                                    <div class="table-scroll">
                                        <table data-testid="workspaces">
                                            <thead><tr>
                                                <th>{t(Msg::WorkspaceId)}</th><th>{t(Msg::WorkspaceName)}</th>
                                                <th>{t(Msg::Settlement)}</th><th>{t(Msg::ApiKey)}</th><th>{t(Msg::BoundAt)}</th><th></th>
                                            </tr></thead>
                                            <tbody>
                                                {d.workspaces.iter().map(|w| view! {
                                                    <tr>
                                                        <td>{w.workspace_id.clone()}</td>
                                                        <td>{w.name.clone()}</td>
                                                        <td>{t(if w.settlement == "cloud" { Msg::SettlementCloud } else { Msg::SettlementAccount })}</td>
                                                        <td><code>{w.key_prefix.clone()}"…"</code></td>
                                                        <td>{w.bound_at.clone()}</td>
                                                        <td>
                                                            <form method="post" action=format!("/workspaces/{}/key", w.workspace_id)>
                                                                <input type="hidden" name="csrf" value=csrf.clone()/>
                                                                <button type="submit" class="button secondary">{t(Msg::RotateKey)}</button>
                                                            </form>
                                                        </td>
                                                    </tr>
                                                }).collect_view()}
                                            </tbody>
                                        </table>
                                    </div>
                                }.into_any()
                            }}
                            <p class="hint">{t(Msg::UsageApiHelp)}</p>
                        </section>
                    }.into_any()
                })
            }}
        </Suspense>
    }
}
