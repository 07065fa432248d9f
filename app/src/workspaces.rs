//! /workspaces: the workspaces bound to the signed-in customer's account, binding a new one and
//! rotating a key. A new key is shown once: from the action's answer in the app, or (after a plain
//! form post) from a short-lived HttpOnly cookie this page clears as it shows it (never in a URL).

use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::form::{
    Field, FormError, Submit, error_at, focus_first_error, last_error, last_success, successes,
};
use crate::i18n::{Msg, t};

/// The cookie carrying `<workspace id>:<key>` from the form post to the page, once.
pub const NEW_KEY_COOKIE: &str = "bc_new_key";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkspaceRow {
    pub workspace_id: String,
    pub name: String,
    pub settlement: billing::Settlement,
    pub key_prefix: String,
    pub bound_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkspacesData {
    pub csrf_token: String,
    pub workspaces: Vec<WorkspaceRow>,
    /// A key just made (carried by a plain form post's cookie): shown this once.
    pub new_key: Option<NewKey>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewKey {
    pub workspace_id: String,
    pub api_key: String,
}

/// The signed-in customer's workspaces (and, after a plain form post, the key just made); none for
/// anyone else.
#[leptos::server(prefix = "/fn", endpoint = "workspaces")]
pub async fn load_workspaces() -> Result<Option<WorkspacesData>, AppError> {
    let Some(me) = crate::server_side::customer().await? else {
        return Ok(None);
    };
    let workspaces = crate::server_side::store()?
        .workspaces(me.account_id)
        .await?
        .into_iter()
        .map(|w| WorkspaceRow {
            workspace_id: w.workspace_id,
            name: w.name,
            settlement: w.settlement,
            key_prefix: w.key_prefix,
            bound_at: crate::wallet::data::when(w.bound_at),
        })
        .collect();
    let parts = use_context::<http::request::Parts>();
    let new_key = parts
        .iter()
        .flat_map(|p| p.headers.get_all(http::header::COOKIE).iter())
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            let (name, value) = c.trim().split_once('=')?;
            (name == NEW_KEY_COOKIE).then(|| value.to_owned())
        })
        .and_then(|value| {
            let (workspace, key) = value.split_once(':')?;
            Some(NewKey {
                workspace_id: workspace.to_owned(),
                api_key: key.to_owned(),
            })
        });
    if new_key.is_some() {
        crate::server_side::set_cookie(&format!(
            "{NEW_KEY_COOKIE}=; Path=/workspaces; HttpOnly; SameSite=Strict; Max-Age=0"
        ));
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.insert_header(
                http::header::CACHE_CONTROL,
                http::HeaderValue::from_static("no-store"),
            );
        }
    }
    Ok(Some(WorkspacesData {
        csrf_token: me.csrf_token,
        workspaces,
        new_key,
    }))
}

/// A key just made: the app shows it from the action's answer; a plain form post carries it to
/// the page in a cookie only /workspaces receives, for two minutes (never in a URL).
#[cfg(feature = "ssr")]
fn show_key(made: backend::workspaces::WorkspaceWithKey) -> Result<NewKey, AppError> {
    use crate::server_side::{is_plain_form_post, plain_post_goes_to, set_cookie, site};
    let key = NewKey {
        workspace_id: made.workspace.workspace_id,
        api_key: made.api_key,
    };
    if is_plain_form_post() {
        set_cookie(&format!(
            "{NEW_KEY_COOKIE}={}:{}; Path=/workspaces; HttpOnly; SameSite=Strict; Max-Age=120{}",
            key.workspace_id,
            key.api_key,
            if site()?.secure_cookies {
                "; Secure"
            } else {
                ""
            }
        ));
        plain_post_goes_to("/workspaces");
    }
    Ok(key)
}

/// customer + CSRF: binds a workspace and shows its key once.
#[leptos::server(prefix = "/fn", endpoint = "bind_workspace")]
pub async fn bind_workspace(
    #[server(default)] csrf: String,
    #[server(default)] workspace_id: String,
    #[server(default)] name: String,
) -> Result<NewKey, AppError> {
    let typed = [
        ("workspace_id", workspace_id.clone()),
        ("name", name.clone()),
    ];
    let result = async move {
        let me = crate::server_side::acting_customer(&csrf).await?;
        let made = crate::server_side::store()?
            .bind_workspace(me.account_id, workspace_id.trim(), &name)
            .await?;
        show_key(made)
    }
    .await;
    crate::server_side::keep_typed(result, &typed)
}

/// customer + CSRF: replaces a workspace's key and shows the new one once.
#[leptos::server(prefix = "/fn", endpoint = "rotate_workspace_key")]
pub async fn rotate_workspace_key(
    #[server(default)] csrf: String,
    workspace_id: String,
) -> Result<NewKey, AppError> {
    let me = crate::server_side::acting_customer(&csrf).await?;
    let made = crate::server_side::store()?
        .rotate_workspace_key(me.account_id, &workspace_id)
        .await?;
    show_key(made)
}

#[component]
pub fn WorkspacesPage() -> impl IntoView {
    let bind = ServerAction::<BindWorkspace>::new();
    let rotate = ServerAction::<RotateWorkspaceKey>::new();
    let (bound, rotated) = (successes(bind), successes(rotate));
    let epoch = crate::account::use_epoch();
    let data = Resource::new(
        move || (epoch.track(), bound.get(), rotated.get()),
        |_| load_workspaces(),
    );
    let bind_error = last_error(bind);
    let rotate_error = last_error(rotate);
    focus_first_error(bind_error);
    let form_error = Signal::derive(move || {
        bind_error
            .get()
            .and_then(|e| e.outside(&["workspace_id", "name"]))
            .or_else(|| rotate_error.get().map(|e| e.message()))
    });
    // The newest key made in the app (the answer of the action that ran last).
    let newest = RwSignal::new(None::<NewKey>);
    Effect::new(move |_| {
        if let Some(key) = last_success(bind).get() {
            newest.set(Some(key));
        }
    });
    Effect::new(move |_| {
        if let Some(key) = last_success(rotate).get() {
            newest.set(Some(key));
        }
    });
    let made_here = move || newest.get();
    view! {
        <Title text=t(Msg::NavWorkspaces)/>
        <h1>{t(Msg::NavWorkspaces)}</h1>
        <FormError message=form_error/>
        <Transition fallback=|| view! { <p class="loading" aria-busy="true">{t(Msg::Loading)}</p> }>
            {move || Suspend::new(async move {
                let d = match data.await {
                    Ok(Some(d)) => d,
                    Ok(None) => return crate::form::sign_in_first(),
                    Err(e) => return crate::form::load_failed(&e),
                };
                let from_cookie = d.new_key.clone();
                let csrf_bind = d.csrf_token.clone();
                view! {
                    {move || made_here().or_else(|| from_cookie.clone()).map(|k| view! {
                        <section class="card notice" role="status" data-testid="new-key">
                            <h2>{t(Msg::NewKeyTitle)}" "{k.workspace_id}</h2>
                            <p>{t(Msg::NewKeyHelp)}</p>
                            <p><code class="api-key" data-testid="api-key">{k.api_key}</code></p>
                        </section>
                    })}
                    <section class="card">
                        <h2>{t(Msg::BindWorkspace)}</h2>
                        <ActionForm action=bind attr:class="inline-form" attr:novalidate="">
                            <input type="hidden" name="csrf" value=csrf_bind/>
                            <Field name="workspace_id" id="f-workspace-id".to_owned() testid="workspace_id" label=Msg::WorkspaceId required=true
                                value=crate::form::typed(bind_error, "workspace_id").unwrap_or_default()
                                error=error_at(bind_error, "workspace_id")/>
                            <Field name="name" id="f-workspace-name".to_owned() testid="name" label=Msg::WorkspaceName required=true
                                value=crate::form::typed(bind_error, "name").unwrap_or_default()
                                error=error_at(bind_error, "name")/>
                            <Submit label=Msg::Bind pending=bind.pending() testid="bind"/>
                        </ActionForm>
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
                                            {d.workspaces.clone().into_iter().map(|w| { let csrf = csrf.clone(); view! {
                                                <tr>
                                                    <td>{w.workspace_id.clone()}</td>
                                                    <td>{w.name.clone()}</td>
                                                    <td>{t(match w.settlement {
                                                        billing::Settlement::Account => Msg::SettlementAccount,
                                                        billing::Settlement::Cloud => Msg::SettlementCloud,
                                                    })}</td>
                                                    <td><code>{w.key_prefix.clone()}"…"</code></td>
                                                    <td>{w.bound_at.clone()}</td>
                                                    <td>
                                                        <ActionForm action=rotate>
                                                            <input type="hidden" name="csrf" value=csrf/>
                                                            <input type="hidden" name="workspace_id" value=w.workspace_id.clone()/>
                                                            <Submit label=Msg::RotateKey pending=rotate.pending() secondary=true/>
                                                        </ActionForm>
                                                    </td>
                                                </tr>
                                            }}).collect_view()}
                                        </tbody>
                                    </table>
                                </div>
                            }.into_any()
                        }}
                        <p class="hint">{t(Msg::UsageApiHelp)}</p>
                    </section>
                }.into_any()
            })}
        </Transition>
    }
}
