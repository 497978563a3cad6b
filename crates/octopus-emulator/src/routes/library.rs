//! Space resources other than workers: machine policies, proxies and accounts (read-only
//! here), step templates (`/actiontemplates`, read and write).

use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery, State};
use serde_json::Value;

use crate::access::Grant;
use crate::error::empty_ok;
use crate::query::Query;
use crate::routes::{Answer, Shared, created, name_filter, object_body, ok, paged};
use crate::store::NameFilter;

const POLICY_PARAMETERS: &[&str] = &["skip", "take", "ids", "partialName", "name"];
/// Proxies and accounts: the template parameters of the 2023.1 root links.
const PROXY_PARAMETERS: &[&str] = &["skip", "take", "ids", "partialName"];
const ACCOUNT_PARAMETERS: &[&str] = &["skip", "take", "ids", "partialName", "accountType"];
const TEMPLATE_PARAMETERS: &[&str] = &["skip", "take", "ids", "partialName", "name"];

// ---- machine policies ------------------------------------------------------------------------

pub(crate) async fn list_policies(
    State(app): Shared,
    Path(space): Path<String>,
    RawQuery(raw): RawQuery,
) -> Answer {
    let query = Query::parse(raw.as_deref());
    let store = app.store();
    let policies = store.machine_policies(&space, &name_filter(&query))?;
    let path = format!("/api/{}/machinepolicies", store.space(&space)?.id);
    paged("MachinePolicy", path, POLICY_PARAMETERS, &query, policies)
}

pub(crate) async fn all_policies(State(app): Shared, Path(space): Path<String>) -> Answer {
    ok(&Value::Array(
        app.store()
            .machine_policies(&space, &NameFilter::default())?,
    ))
}

pub(crate) async fn get_policy(
    State(app): Shared,
    Path((space, id)): Path<(String, String)>,
) -> Answer {
    ok(&app.store().machine_policy(&space, &id)?)
}

// ---- proxies ---------------------------------------------------------------------------------

pub(crate) async fn list_proxies(
    State(app): Shared,
    Path(space): Path<String>,
    RawQuery(raw): RawQuery,
) -> Answer {
    let query = Query::parse(raw.as_deref());
    let store = app.store();
    let proxies = store.proxies(&space, &name_filter(&query))?;
    let path = format!("/api/{}/proxies", store.space(&space)?.id);
    paged("Proxy", path, PROXY_PARAMETERS, &query, proxies)
}

pub(crate) async fn all_proxies(State(app): Shared, Path(space): Path<String>) -> Answer {
    ok(&Value::Array(
        app.store().proxies(&space, &NameFilter::default())?,
    ))
}

pub(crate) async fn get_proxy(
    State(app): Shared,
    Path((space, id)): Path<(String, String)>,
) -> Answer {
    ok(&app.store().proxy(&space, &id)?)
}

// ---- accounts --------------------------------------------------------------------------------

pub(crate) async fn list_accounts(
    State(app): Shared,
    Path(space): Path<String>,
    RawQuery(raw): RawQuery,
) -> Answer {
    let query = Query::parse(raw.as_deref());
    let store = app.store();
    let mut accounts = store.accounts(&space, &name_filter(&query))?;
    if let Some(types) = query.list("accountType") {
        accounts.retain(|account| {
            account["AccountType"]
                .as_str()
                .is_some_and(|t| types.iter().any(|wanted| wanted.eq_ignore_ascii_case(t)))
        });
    }
    let path = format!("/api/{}/accounts", store.space(&space)?.id);
    paged("Account", path, ACCOUNT_PARAMETERS, &query, accounts)
}

pub(crate) async fn all_accounts(
    State(app): Shared,
    Path(space): Path<String>,
    RawQuery(raw): RawQuery,
) -> Answer {
    let query = Query::parse(raw.as_deref());
    let filter = NameFilter {
        ids: query.list("ids"),
        ..NameFilter::default()
    };
    ok(&Value::Array(app.store().accounts(&space, &filter)?))
}

pub(crate) async fn get_account(
    State(app): Shared,
    Path((space, id)): Path<(String, String)>,
) -> Answer {
    ok(&app.store().account(&space, &id)?)
}

// ---- action templates ------------------------------------------------------------------------

pub(crate) async fn list_templates(
    State(app): Shared,
    Path(space): Path<String>,
    RawQuery(raw): RawQuery,
) -> Answer {
    let query = Query::parse(raw.as_deref());
    let store = app.store();
    let templates = store.action_templates(&space, &name_filter(&query))?;
    let path = format!("/api/{}/actiontemplates", store.space(&space)?.id);
    paged(
        "ActionTemplate",
        path,
        TEMPLATE_PARAMETERS,
        &query,
        templates,
    )
}

pub(crate) async fn all_templates(
    State(app): Shared,
    Path(space): Path<String>,
    RawQuery(raw): RawQuery,
) -> Answer {
    let query = Query::parse(raw.as_deref());
    ok(&Value::Array(
        app.store().action_templates(&space, &name_filter(&query))?,
    ))
}

pub(crate) async fn get_template(
    State(app): Shared,
    Path((space, id)): Path<(String, String)>,
) -> Answer {
    ok(&app.store().action_template(&space, &id)?)
}

pub(crate) async fn create_template(
    State(app): Shared,
    Path(space): Path<String>,
    Extension(grant): Extension<Grant>,
    body: Bytes,
) -> Answer {
    let body = object_body(&body)?;
    created(
        &app.store()
            .create_action_template(&space, &body, &grant.username)?,
    )
}

pub(crate) async fn update_template(
    State(app): Shared,
    Path((space, id)): Path<(String, String)>,
    Extension(grant): Extension<Grant>,
    body: Bytes,
) -> Answer {
    let body = object_body(&body)?;
    ok(&app
        .store()
        .update_action_template(&space, &id, &body, &grant.username)?)
}

pub(crate) async fn delete_template(
    State(app): Shared,
    Path((space, id)): Path<(String, String)>,
) -> Answer {
    app.store().delete_action_template(&space, &id)?;
    Ok(empty_ok())
}
