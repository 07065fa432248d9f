//! The account's server functions: sign up, sign in, sign out, profile, password, and the
//! operators' sign-in and sign-out at /ops. Each answers with where to go next.

use leptos::prelude::*;

use crate::error::AppError;

#[cfg(feature = "ssr")]
async fn start_session(
    principal: backend::auth::sessions::Principal,
    next: &str,
) -> Result<(), AppError> {
    use crate::server_side::{go_to, set_cookie, site, store};
    let session = store()?.start_session(principal).await?;
    set_cookie(&backend::auth::sessions::session_cookie(
        &session,
        site()?.secure_cookies,
    ));
    go_to(next);
    Ok(())
}

#[cfg(feature = "ssr")]
fn clear_session() -> Result<(), AppError> {
    use crate::server_side::{set_cookie, site};
    set_cookie(&backend::auth::sessions::cleared_session_cookie(
        site()?.secure_cookies,
    ));
    Ok(())
}

/// anonymous; limited per client address: opens the account and signs it in.
#[server(prefix = "/fn", endpoint = "sign_up")]
pub async fn sign_up(
    username: String,
    email: String,
    #[server(default)] phone: String,
    password: String,
    #[server(default)] next: String,
) -> Result<(), AppError> {
    let typed = [
        ("username", username.clone()),
        ("email", email.clone()),
        ("phone", phone.clone()),
    ];
    let result = async move {
        use crate::server_side::{client, store};
        let request = backend::auth::customers::SignUp {
            username: username.trim().to_owned(),
            email,
            phone: Some(phone).filter(|p| !p.trim().is_empty()),
            password,
            // The language the customer signed up in is the language of their mail.
            language: Some(crate::request_lang().code().to_owned()),
        };
        let customer = store()?.sign_up_from(&request, &client()).await?;
        start_session(
            backend::auth::sessions::Principal::Customer(customer.id),
            crate::url::local_path(&next, "/account?welcome=1"),
        )
        .await
    }
    .await;
    crate::server_side::keep_typed(result, &typed)
}

/// anonymous: a customer signs in (by username or email).
#[server(prefix = "/fn", endpoint = "sign_in")]
pub async fn sign_in(
    login: String,
    password: String,
    #[server(default)] next: String,
) -> Result<(), AppError> {
    let typed = [("login", login.clone())];
    let result = async move {
        use crate::server_side::{client, store};
        let customer = store()?
            .sign_in_customer(&login, &password, &client())
            .await?;
        start_session(
            backend::auth::sessions::Principal::Customer(customer.id),
            crate::url::local_path(&next, "/account"),
        )
        .await
    }
    .await;
    crate::server_side::keep_typed(result, &typed)
}

/// customer + CSRF: ends this session.
#[server(prefix = "/fn", endpoint = "sign_out")]
pub async fn sign_out(#[server(default)] csrf: String) -> Result<(), AppError> {
    use crate::server_side::{acting_customer, go_to, store};
    let me = acting_customer(&csrf).await?;
    store()?.end_session(&me.session_id).await?;
    clear_session()?;
    go_to("/signin?signed_out=1");
    Ok(())
}

/// customer + CSRF: email, phone, contact name, company.
#[server(prefix = "/fn", endpoint = "update_profile")]
pub async fn update_profile(
    #[server(default)] csrf: String,
    email: String,
    #[server(default)] phone: String,
    #[server(default)] contact_name: String,
    #[server(default)] company: String,
) -> Result<(), AppError> {
    let typed: [(&str, String); 0] = [];
    let result = async move {
        use crate::server_side::{acting_customer, go_to, store};
        let me = acting_customer(&csrf).await?;
        let update = backend::auth::customers::ProfileUpdate {
            email,
            phone: Some(phone),
            contact_name: Some(contact_name),
            company: Some(company),
        };
        store()?.update_profile(me.customer_id, &update).await?;
        go_to("/account?saved=profile");
        Ok(())
    }
    .await;
    crate::server_side::keep_typed(result, &typed)
}

/// customer + CSRF: ends every other session of the customer.
#[server(prefix = "/fn", endpoint = "change_password")]
pub async fn change_password(
    #[server(default)] csrf: String,
    current_password: String,
    new_password: String,
) -> Result<(), AppError> {
    use crate::server_side::{acting_customer, client, go_to, store};
    let me = acting_customer(&csrf).await?;
    match store()?
        .change_password(
            me.customer_id,
            &current_password,
            &new_password,
            Some(&me.session_id),
            &client(),
        )
        .await
    {
        Ok(()) => {
            go_to("/account?saved=password");
            Ok(())
        }
        // The password rules are about the new password, `new_password` on this form.
        Err(e @ backend::auth::AuthError::WeakPassword(_)) => {
            Err(AppError::from(e).at("new_password"))
        }
        Err(e) => Err(e.into()),
    }
}

/// anonymous: an operator signs in at /ops.
#[server(prefix = "/fn", endpoint = "ops_sign_in")]
pub async fn ops_sign_in(login: String, password: String) -> Result<(), AppError> {
    let typed = [("login", login.clone())];
    let result = async move {
        use crate::server_side::{client, store};
        let operator = store()?
            .sign_in_operator(&login, &password, &client())
            .await?;
        start_session(
            backend::auth::sessions::Principal::Operator(operator.id),
            "/ops",
        )
        .await
    }
    .await;
    crate::server_side::keep_typed(result, &typed)
}

/// operator + CSRF: audited.
#[server(prefix = "/fn", endpoint = "ops_sign_out")]
pub async fn ops_sign_out(#[server(default)] csrf: String) -> Result<(), AppError> {
    use crate::server_side::{acting_operator, client, go_to, store};
    let me = acting_operator(&csrf).await?;
    let store = store()?;
    store
        .audit(
            me.operator_id,
            "operator.sign_out",
            None,
            "signed out at /ops",
            &client(),
        )
        .await?;
    store.end_session(&me.session_id).await?;
    clear_session()?;
    go_to("/ops");
    Ok(())
}
