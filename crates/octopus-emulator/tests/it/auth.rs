//! Authentication (API key header/query, bearer token) and authorisation (read-only key).

use serde_json::{Value, json};

use crate::support::*;

const MISSING: &str = "You must be logged in to request this resource or provide a valid API key. Your account may have been disabled, please contact your Octopus administrator.";
const INVALID: &str = "The API key you provided was not valid. Please double-check your API key and try again. For instructions on finding your API key, please visit: https://oc.to/HowToCreateApiKey";

async fn anonymous(url: &str, header: Option<(&str, &str)>) -> Reply {
    let mut request = client().get(url);
    if let Some((name, value)) = header {
        request = request.header(name, value);
    }
    send(request, None).await
}

#[tokio::test]
async fn missing_credentials_and_a_wrong_key_get_different_401_bodies() {
    let emulator = start(two_spaces());
    let url = format!("{}/api/spaces", emulator.url());

    let missing = anonymous(&url, None).await;
    assert_eq!(missing.status, 401);
    assert_eq!(
        missing.json(),
        json!({"ErrorMessage": MISSING, "Errors": []})
    );

    let empty_header = anonymous(&url, Some(("X-Octopus-ApiKey", ""))).await;
    assert_eq!(
        (
            empty_header.status,
            empty_header.json()["ErrorMessage"].clone()
        ),
        (401, json!(MISSING))
    );

    let wrong = anonymous(
        &url,
        Some(("X-Octopus-ApiKey", "API-WRONGKEY0000000000000000000")),
    )
    .await;
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.json(), json!({"ErrorMessage": INVALID, "Errors": []}));

    // Auth failures are logged like any other request.
    let statuses: Vec<u16> = emulator.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [401, 401, 401]);
}

#[tokio::test]
async fn api_key_is_accepted_in_header_query_and_bearer_token() {
    let emulator = start(two_spaces());
    let header = anonymous(
        &format!("{}/api/spaces", emulator.url()),
        Some(("x-octopus-apikey", &emulator.api_key())),
    )
    .await;
    assert_eq!(header.status, 200);

    let query = anonymous(
        &format!(
            "{}/api/spaces?ApiKey={}",
            emulator.url(),
            emulator.api_key()
        ),
        None,
    )
    .await;
    assert_eq!(query.status, 200);
    // The key is not echoed into page links.
    assert_eq!(query.json()["Links"]["Self"], "/api/spaces?skip=0&take=30");

    let bearer = anonymous(
        &format!("{}/api/spaces", emulator.url()),
        Some((
            "Authorization",
            &format!("Bearer {}", emulator.access_token()),
        )),
    )
    .await;
    assert_eq!(bearer.status, 200);

    let wrong_bearer = anonymous(
        &format!("{}/api/spaces", emulator.url()),
        Some(("Authorization", "Bearer not-a-token")),
    )
    .await;
    assert_eq!(wrong_bearer.status, 401);

    assert!(emulator.api_key().starts_with("API-"));
    assert!(
        emulator.api_key()[4..]
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    );
}

#[tokio::test]
async fn read_only_key_reads_but_every_write_is_403() {
    let emulator = start(two_spaces());
    let client = client();
    let key = emulator.read_only_api_key();
    let read = send(
        client
            .get(format!("{}/api/Spaces-1/workers", emulator.url()))
            .header("X-Octopus-ApiKey", &key),
        None,
    )
    .await;
    assert_eq!(read.status, 200);

    let write = send(
        client
            .post(format!("{}/api/Spaces-1/workers", emulator.url()))
            .header("X-Octopus-ApiKey", &key),
        Some(&worker_body("w", "WorkerPools-1")),
    )
    .await;
    assert_eq!(write.status, 403);
    assert_eq!(
        write.json(),
        json!({
            "ErrorMessage": "You do not have permission to perform this action. Please contact your Octopus administrator. Missing permission: WorkerEdit",
            "Errors": [],
            "HelpText": "This action requires permission to edit workers and worker pools."
        })
    );
    assert!(emulator.workers("Spaces-1").is_empty());

    let template = send(
        client
            .post(format!("{}/api/Spaces-1/actiontemplates", emulator.url()))
            .header("X-Octopus-ApiKey", &key),
        Some(&json!({"Name": "t", "ActionType": "Octopus.Script"})),
    )
    .await;
    assert_eq!(template.status, 403);
    let message: Value = template.json()["ErrorMessage"].clone();
    assert!(
        message
            .as_str()
            .is_some_and(|m| m.ends_with("Missing permission: ActionTemplateCreate"))
    );

    let delete = send(
        client
            .delete(format!("{}/api/Spaces-1/workers/Workers-1", emulator.url()))
            .header("X-Octopus-ApiKey", &key),
        None,
    )
    .await;
    assert_eq!(delete.status, 403);
}

#[tokio::test]
async fn scenario_can_replace_the_built_in_credentials() {
    let scenario = two_spaces().api_key("API-CUSTOM0000000000000000000001");
    let emulator = start(scenario);
    assert_eq!(emulator.api_key(), "API-CUSTOM0000000000000000000001");
    assert_eq!(get(&emulator, "/api/spaces").await.status, 200);
    let old = anonymous(
        &format!("{}/api/spaces", emulator.url()),
        Some(("X-Octopus-ApiKey", octopus_emulator::DEFAULT_API_KEY)),
    )
    .await;
    assert_eq!(old.status, 401);
}
