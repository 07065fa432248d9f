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
/// The cookie carrying the AWS Marketplace subscription from the fulfillment URL to this page
/// (never in a URL: whoever saw it could settle their workspaces on the buyer's AWS bill).
pub const AWS_OFFER_COOKIE: &str = "bc_aws_offer";

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
    /// The workspace a console link (`/bind?token=…`) offers to bind, or why the link is refused.
    pub offer: Option<Result<String, AppError>>,
    /// The AWS Marketplace subscription the buyer arrived with: (AWS account id, instance).
    pub aws_offer: Option<(String, String)>,
    /// The offered workspace is bound to another account: it can only be moved here (change
    /// binding, both accounts verified as one enterprise).
    pub offer_bound_elsewhere: bool,
    /// Workspaces moved onto and off this account: (workspace, moved in, other account, when).
    pub moves: Vec<(String, bool, String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewKey {
    pub workspace_id: String,
    pub api_key: String,
}

/// The signed-in customer's workspaces (and, after a plain form post, the key just made); none for
/// anyone else.
#[leptos::server(prefix = "/fn", endpoint = "workspaces")]
pub async fn load_workspaces(
    #[server(default)] console_token: Option<String>,
) -> Result<Option<WorkspacesData>, AppError> {
    let Some(me) = crate::server_side::customer().await? else {
        return Ok(None);
    };
    let offer = console_token.filter(|t| !t.is_empty()).map(|token| {
        let claims = crate::server_side::store()?.verify_console_token(&token)?;
        claims.with_role(&[backend::console::ConsoleRole::Owner])?;
        Ok(claims.ws)
    });
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
    let cookie = |wanted: &str| {
        parts
            .iter()
            .flat_map(|p| p.headers.get_all(http::header::COOKIE).iter())
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .find_map(|c| {
                let (name, value) = c.trim().split_once('=')?;
                (name == wanted).then(|| value.to_owned())
            })
    };
    let aws_offer = match cookie(AWS_OFFER_COOKIE) {
        Some(instance) => crate::server_side::store()?
            .cloud_subscription(backend::cloud::Cloud::Aws, &instance)
            .await
            .map_err(backend::cloud::CloudError::from)?
            .map(|account| (account, instance)),
        None => None,
    };
    let new_key = cookie(NEW_KEY_COOKIE).and_then(|value| {
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
    let store = crate::server_side::store()?;
    let offer_bound_elsewhere = match &offer {
        Some(Ok(ws)) => store
            .bound_workspace(ws)
            .await?
            .is_some_and(|w| w.account_id != me.account_id),
        _ => false,
    };
    let moves = store
        .workspace_moves(me.account_id)
        .await?
        .into_iter()
        .map(|m| {
            (
                m.workspace_id,
                m.direction == backend::change_binding::MoveDirection::In,
                m.other_account,
                crate::wallet::data::when(m.moved_at),
            )
        })
        .collect();
    Ok(Some(WorkspacesData {
        csrf_token: me.csrf_token,
        workspaces,
        new_key,
        offer,
        aws_offer,
        offer_bound_elsewhere,
        moves,
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
    #[server(default)] console_token: String,
) -> Result<NewKey, AppError> {
    let typed = [
        ("workspace_id", workspace_id.clone()),
        ("name", name.clone()),
    ];
    let result = async move {
        let me = crate::server_side::acting_customer(&csrf).await?;
        let made = crate::server_side::store()?
            .bind_workspace(
                me.account_id,
                workspace_id.trim(),
                &name,
                Some(console_token.as_str()),
            )
            .await?;
        show_key(made)
    }
    .await;
    crate::server_side::keep_typed(result, &typed)
}

/// customer + CSRF: moves a workspace bound to another account of the same verified enterprise
/// onto this one, with the console's owner token (change binding); shows its new key once.
#[leptos::server(prefix = "/fn", endpoint = "change_binding")]
pub async fn change_binding(
    #[server(default)] csrf: String,
    #[server(default)] workspace_id: String,
    #[server(default)] console_token: String,
) -> Result<NewKey, AppError> {
    let me = crate::server_side::acting_customer(&csrf).await?;
    let made = crate::server_side::store()?
        .change_binding(me.account_id, workspace_id.trim(), &console_token)
        .await?;
    show_key(made)
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

/// customer + CSRF: unbinds a workspace with nothing left to settle.
#[leptos::server(prefix = "/fn", endpoint = "unbind_workspace")]
pub async fn unbind_workspace(
    #[server(default)] csrf: String,
    workspace_id: String,
) -> Result<(), AppError> {
    let me = crate::server_side::acting_customer(&csrf).await?;
    crate::server_side::store()?
        .unbind_workspace(me.account_id, &workspace_id)
        .await?;
    if crate::server_side::is_plain_form_post() {
        crate::server_side::plain_post_goes_to("/workspaces");
    }
    Ok(())
}

#[component]
pub fn WorkspacesPage() -> impl IntoView {
    let bind = ServerAction::<BindWorkspace>::new();
    let moving = ServerAction::<ChangeBinding>::new();
    let rotate = ServerAction::<RotateWorkspaceKey>::new();
    let unbind = ServerAction::<UnbindWorkspace>::new();
    let (bound, rotated, unbound) = (successes(bind), successes(rotate), successes(unbind));
    let moved = successes(moving);
    let epoch = crate::account::use_epoch();
    let query = leptos_router::hooks::use_query_map();
    // A console link (`/bind?token=…`); once the workspace is bound, the offer is done.
    let console_token = move || {
        query
            .with(|q| q.get("token"))
            .filter(|t| !t.is_empty() && bound.get() == 0 && moved.get() == 0)
    };
    // AWS Marketplace's fulfillment sends the buyer here (`?aws=ready`; the subscription
    // itself is in a cookie).
    let aws_arrival = move || query.with(|q| q.get("aws").as_deref() == Some("ready"));
    let settle = ServerAction::<crate::panel::ChangeSettlement>::new();
    let settle_error = last_error(settle);
    let data = Resource::new(
        move || {
            (
                epoch.track(),
                bound.get(),
                rotated.get(),
                (unbound.get(), moved.get()),
                console_token(),
            )
        },
        |(_, _, _, _, token)| load_workspaces(token),
    );
    let bind_error = last_error(bind);
    let rotate_error = last_error(rotate);
    // Made here, not inside the page's `Suspend`: a signal made there is disposed when the data
    // reloads after a bind, while the form that read it may still be on the page (a panic).
    let (id_error, name_error) = (
        error_at(bind_error, "workspace_id"),
        error_at(bind_error, "name"),
    );
    focus_first_error(bind_error);
    let form_error = Signal::derive(move || {
        bind_error
            .get()
            .and_then(|e| e.outside(&["workspace_id", "name"]))
            .or_else(|| rotate_error.get().map(|e| e.message()))
            .or_else(|| last_error(unbind).get().map(|e| e.message()))
            .or_else(|| last_error(moving).get().map(|e| e.message()))
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
    Effect::new(move |_| {
        if let Some(key) = last_success(moving).get() {
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
                    Ok(None) => {
                        if aws_arrival() {
                            let here = "/workspaces?aws=ready";
                            return view! {
                                <section class="card" data-testid="aws-offer">
                                    <h2>{t(Msg::AwsSubscriptionReady)}</h2>
                                    <p>{t(Msg::AwsSignInToChoose)}</p>
                                    <p>
                                        <leptos_router::components::A href=crate::account::with_next("/signin", here) attr:class="button">{t(Msg::NavSignIn)}</leptos_router::components::A>
                                        " "
                                        <leptos_router::components::A href=crate::account::with_next("/signup", here) attr:class="button secondary">{t(Msg::NavSignUp)}</leptos_router::components::A>
                                    </p>
                                </section>
                            }.into_any();
                        }
                        let Some(token) = console_token() else {
                            return crate::form::sign_in_first();
                        };
                        let here = format!("/bind?token={token}");
                        return view! {
                            <section class="card" data-testid="bind-offer">
                                <h2>{t(Msg::BindFromConsole)}</h2>
                                <p>{t(Msg::SignInToBind)}</p>
                                <p>
                                    <leptos_router::components::A href=crate::account::with_next("/signin", &here) attr:class="button">{t(Msg::NavSignIn)}</leptos_router::components::A>
                                    " "
                                    <leptos_router::components::A href=crate::account::with_next("/signup", &here) attr:class="button secondary">{t(Msg::NavSignUp)}</leptos_router::components::A>
                                </p>
                            </section>
                        }.into_any();
                    }
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
                    {let workspaces = d.workspaces.clone(); let csrf_aws = d.csrf_token.clone(); d.aws_offer.clone().map(move |(account, instance)| {
                        let empty = workspaces.is_empty();
                        let forms = workspaces.into_iter().map(|w| {
                            let testid = format!("aws-choose-{}", w.workspace_id);
                            let (csrf, account, instance) = (csrf_aws.clone(), account.clone(), instance.clone());
                            view! {
                                <li><ActionForm action=settle attr:class="inline-form">
                                    <input type="hidden" name="csrf" value=csrf/>
                                    <input type="hidden" name="workspace_id" value=w.workspace_id.clone()/>
                                    <input type="hidden" name="method" value="aws"/>
                                    <input type="hidden" name="account_id" value=account/>
                                    <input type="hidden" name="instance_id" value=instance/>
                                    <code>{w.workspace_id.clone()}</code>" "
                                    <button type="submit" class="button" data-testid=testid
                                        disabled=move || settle.pending().get() aria-busy=move || settle.pending().get().then_some("true")>
                                        {move || if settle.pending().get() { t(Msg::Working) } else { t(Msg::SettleThroughAws) }}
                                    </button>
                                </ActionForm></li>
                            }
                        }).collect_view();
                        view! {
                            <section class="card notice" data-testid="aws-offer">
                                <h2>{t(Msg::AwsSubscriptionReady)}</h2>
                                <p>{t(Msg::AwsChooseWorkspaces)}" "<code>{account.clone()}</code>" · "<code data-testid="aws-instance">{instance.clone()}</code></p>
                                {move || settle_error.get().map(|e| view! { <p class="form-error" role="alert">{t(e.message())}</p> })}
                                {if empty {
                                    view! { <p class="hint">{t(Msg::AwsNoWorkspaces)}</p> }.into_any()
                                } else {
                                    view! { <ul>{forms}</ul> }.into_any()
                                }}
                            </section>
                        }
                    })}
                    {let csrf_offer = d.csrf_token.clone(); let elsewhere = d.offer_bound_elsewhere; d.offer.clone().map(move |offer| match offer {
                        Err(e) => view! {
                            <section class="card" data-testid="bind-offer">
                                <h2>{t(Msg::BindFromConsole)}</h2>
                                <p class="form-error" role="alert">{t(e.message())}</p>
                            </section>
                        }.into_any(),
                        Ok(workspace_id) if elsewhere => {
                            let token = console_token().unwrap_or_default();
                            view! {
                                <section class="card" data-testid="move-offer">
                                    <h2>{t(Msg::ChangeBindingTitle)}" "<code>{workspace_id.clone()}</code></h2>
                                    <p>{t(Msg::ChangeBindingHelp)}</p>
                                    <ActionForm action=moving attr:class="inline-form">
                                        <input type="hidden" name="csrf" value=csrf_offer.clone()/>
                                        <input type="hidden" name="console_token" value=token/>
                                        <input type="hidden" name="workspace_id" value=workspace_id.clone()/>
                                        <Submit label=Msg::ChangeBindingButton pending=moving.pending() testid="change-binding"/>
                                    </ActionForm>
                                </section>
                            }.into_any()
                        }
                        Ok(workspace_id) => {
                            let token = console_token().unwrap_or_default();
                            view! {
                                <section class="card" data-testid="bind-offer">
                                    <h2>{t(Msg::BindFromConsole)}" "<code>{workspace_id.clone()}</code></h2>
                                    <p>{t(Msg::BindFromConsoleHelp)}</p>
                                    <ActionForm action=bind attr:class="inline-form" attr:novalidate="">
                                        <input type="hidden" name="csrf" value=csrf_offer/>
                                        <input type="hidden" name="console_token" value=token/>
                                        <input type="hidden" name="workspace_id" value=workspace_id.clone()/>
                                        <Field name="name" id="f-offer-name".to_owned() testid="offer-name" label=Msg::WorkspaceName required=true
                                            value=workspace_id.clone()
                                            error=name_error/>
                                        <Submit label=Msg::Bind pending=bind.pending() testid="bind-offered"/>
                                    </ActionForm>
                                </section>
                            }.into_any()
                        }
                    })}
                    <section class="card">
                        <h2>{t(Msg::BindWorkspace)}</h2>
                        <ActionForm action=bind attr:class="inline-form" attr:novalidate="">
                            <input type="hidden" name="csrf" value=csrf_bind/>
                            <Field name="workspace_id" id="f-workspace-id".to_owned() testid="workspace_id" label=Msg::WorkspaceId required=true
                                value=crate::form::typed(bind_error, "workspace_id").unwrap_or_default()
                                error=id_error/>
                            <Field name="name" id="f-workspace-name".to_owned() testid="name" label=Msg::WorkspaceName required=true
                                value=crate::form::typed(bind_error, "name").unwrap_or_default()
                                error=name_error/>
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
                                            {d.workspaces.clone().into_iter().map(|w| { let (csrf_rotate, csrf_unbind) = (csrf.clone(), csrf.clone()); let (id_rotate, id_unbind) = (w.workspace_id.clone(), w.workspace_id.clone()); view! {
                                                <tr>
                                                    <td><leptos_router::components::A href=format!("/workspaces/{}", crate::url::percent_encode(&w.workspace_id, false))>{w.workspace_id.clone()}</leptos_router::components::A></td>
                                                    <td>{w.name.clone()}</td>
                                                    <td>{t(match w.settlement {
                                                        billing::Settlement::Account => Msg::SettlementAccount,
                                                        billing::Settlement::Cloud => Msg::SettlementCloud,
                                                    })}</td>
                                                    <td><code>{w.key_prefix.clone()}"…"</code></td>
                                                    <td>{w.bound_at.clone()}</td>
                                                    <td>
                                                        <ActionForm action=rotate>
                                                            <input type="hidden" name="csrf" value=csrf_rotate/>
                                                            <input type="hidden" name="workspace_id" value=id_rotate/>
                                                            <Submit label=Msg::RotateKey pending=rotate.pending() secondary=true/>
                                                        </ActionForm>
                                                        <ActionForm action=unbind>
                                                            <input type="hidden" name="csrf" value=csrf_unbind/>
                                                            <input type="hidden" name="workspace_id" value=id_unbind/>
                                                            <Submit label=Msg::Unbind pending=unbind.pending() secondary=true/>
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
                    {(!d.moves.is_empty()).then(|| view! {
                        <section class="card" data-testid="moves">
                            <h2>{t(Msg::MovesTitle)}</h2>
                            <ul>
                                {d.moves.clone().into_iter().map(|(ws, moved_in, other, at)| view! {
                                    <li><code>{ws}</code>" "{t(if moved_in { Msg::MovedIn } else { Msg::MovedOut })}" "
                                        <strong>{other}</strong>" · "{at}</li>
                                }).collect_view()}
                            </ul>
                        </section>
                    })}
                }.into_any()
            })}
        </Transition>
    }
}
