//! Paging: `all_pages` follows `Page.Next` across pages (with and without a virtual
//! directory in the links) and stops with `PagingLoop` instead of returning duplicates.

use std::collections::HashSet;

use octopus_emulator::{Scenario, SpaceSeed, WorkerSeed};
use octoshare_core::domain::{self, SpaceRef};
use octoshare_core::{ApiError, Credentials, SpaceId, Worker};
use serde_json::{Value, json};

use crate::support::{CannedServer, Reply, client, client_for_url, emulator};

fn space_with_workers(name: &str, n_workers: usize) -> SpaceSeed {
    let mut space = SpaceSeed::new(name).pool("Shared Pool");
    for index in 0..n_workers {
        space = space.worker(
            WorkerSeed::polling(
                &format!("worker-{index:03}"),
                &format!("poll://w{index:019}/"),
                &format!("{index:040X}"),
            )
            .in_pool("Shared Pool"),
        );
    }
    space
}

#[tokio::test]
async fn pool_workers_are_read_across_three_pages() {
    let emulator = emulator(Scenario::new().space(space_with_workers("Default", 75)));
    let client = client(&emulator);
    let space = SpaceId::from(emulator.space_id("Default").unwrap());
    let pools = client.worker_pools(&space);
    let pool = domain::lookup_pool(
        &client,
        &SpaceRef::new(space.clone(), "Default"),
        "shared pool ",
    )
    .await
    .expect("pool exists");

    let workers = pools.workers(&pool.id).await.unwrap();

    assert_eq!(workers.len(), 75);
    let unique: HashSet<_> = workers.iter().map(|worker| worker.id.clone()).collect();
    assert_eq!(unique.len(), 75, "no duplicates");
    let page_requests: Vec<_> = emulator
        .requests()
        .into_iter()
        .filter(|request| request.method == "GET" && request.path.ends_with("/workers"))
        .collect();
    assert_eq!(page_requests.len(), 3, "{page_requests:#?}");
}

#[tokio::test]
async fn all_pages_reads_every_page_of_a_collection() {
    let emulator = emulator(Scenario::new().space(space_with_workers("Default", 61)));
    let client = client(&emulator);
    let space = emulator.space_id("Default").unwrap();

    let workers: Vec<Worker> = client
        .all_pages(&format!("/api/{space}/workers?skip=0&take=30"))
        .await
        .unwrap();

    assert_eq!(workers.len(), 61);
    assert_eq!(client.request_counts().get, 3);
}

#[tokio::test]
async fn spaces_list_paged_reads_every_page() {
    let mut scenario = Scenario::new();
    for index in 0..65 {
        scenario = scenario.space(SpaceSeed::new(&format!("Space {index:02}")));
    }
    let emulator = emulator(scenario);
    let client = client(&emulator);

    let paged = client.spaces().list_paged().await.unwrap();
    let all = client.spaces().all().await.unwrap();

    assert_eq!(paged.len(), 65);
    assert_eq!(paged, all, "paged listing and /all agree");
    assert_eq!(emulator.count("GET"), 4, "3 pages + /all");
}

fn page(items: &[u32], next: Option<&str>) -> Reply {
    let mut links = json!({ "Self": "/api/things" });
    if let Some(next) = next {
        links["Page.Next"] = Value::from(next);
    }
    Reply::json(
        200,
        &json!({ "ItemType": "Thing", "TotalResults": 6, "ItemsPerPage": 2, "Items": items, "Links": links })
            .to_string(),
    )
}

#[tokio::test]
async fn links_with_and_without_the_virtual_directory_both_resolve() {
    let server = CannedServer::start(|request, _| match request.target.as_str() {
        "/octopus/api/things?skip=0&take=2" => page(&[1, 2], Some("/api/things?skip=2&take=2")),
        "/octopus/api/things?skip=2&take=2" => {
            page(&[3, 4], Some("/octopus/api/things?skip=4&take=2"))
        }
        "/octopus/api/things?skip=4&take=2" => page(&[5, 6], None),
        _ => Reply::json(404, r#"{"ErrorMessage":"Not found"}"#),
    });
    let client = client_for_url(
        &format!("{}/octopus/", server.url()),
        Credentials::api_key("API-KEY"),
    );

    let items: Vec<u32> = client.all_pages("/api/things?skip=0&take=2").await.unwrap();

    assert_eq!(items, [1, 2, 3, 4, 5, 6]);
    let targets: Vec<String> = server
        .requests()
        .into_iter()
        .map(|request| request.target)
        .collect();
    assert!(
        targets
            .iter()
            .all(|target| target.starts_with("/octopus/api/")),
        "{targets:?}"
    );
}

#[tokio::test]
async fn a_next_link_to_the_same_page_is_a_paging_loop() {
    let server = CannedServer::always(page(&[1, 2], Some("/api/things?skip=0&take=2")));
    let client = client_for_url(&server.url(), Credentials::api_key("API-KEY"));

    let err = client
        .all_pages::<u32>("/api/things?skip=0&take=2")
        .await
        .unwrap_err();

    assert!(matches!(err, ApiError::PagingLoop { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("paging loop while listing /api/things?skip=0&take=2"),
        "{err}"
    );
    assert_eq!(
        server.requests().len(),
        1,
        "stopped before reading the page again"
    );
}

#[tokio::test]
async fn a_next_link_cycle_is_a_paging_loop() {
    let server = CannedServer::start(|request, _| match request.target.as_str() {
        "/api/things?skip=0&take=2" => page(&[1, 2], Some("/api/things?take=2&skip=2")),
        _ => page(&[3, 4], Some("/api/things?skip=0&take=2")),
    });
    let client = client_for_url(&server.url(), Credentials::api_key("API-KEY"));

    let err = client
        .all_pages::<u32>("/api/things?skip=0&take=2")
        .await
        .unwrap_err();

    assert!(matches!(err, ApiError::PagingLoop { .. }), "{err:?}");
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn a_next_link_that_never_advances_is_a_paging_loop() {
    // Different URLs every time, but `skip` does not move forward.
    let server = CannedServer::start(|_, index| {
        page(
            &[1, 2],
            Some(&format!("/api/things?skip=0&take=2&n={}", index + 1)),
        )
    });
    let client = client_for_url(&server.url(), Credentials::api_key("API-KEY"));

    let err = client
        .all_pages::<u32>("/api/things?skip=0&take=2")
        .await
        .unwrap_err();

    assert!(matches!(err, ApiError::PagingLoop { .. }), "{err:?}");
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn an_empty_page_with_a_next_link_is_a_paging_loop() {
    let server = CannedServer::start(|_, index| {
        page(
            &[],
            Some(&format!("/api/things?skip={}&take=2", (index + 1) * 2)),
        )
    });
    let client = client_for_url(&server.url(), Credentials::api_key("API-KEY"));

    let err = client
        .all_pages::<u32>("/api/things?skip=0&take=2")
        .await
        .unwrap_err();

    assert!(matches!(err, ApiError::PagingLoop { .. }), "{err:?}");
}

#[tokio::test]
async fn a_next_link_to_another_host_is_refused() {
    let server = CannedServer::always(page(&[1], Some("http://evil.example/api/things?skip=2")));
    let client = client_for_url(&server.url(), Credentials::api_key("API-KEY"));

    let err = client
        .all_pages::<u32>("/api/things?skip=0&take=2")
        .await
        .unwrap_err();

    assert!(
        err.to_string().starts_with(
            "GET /api/things?skip=0&take=2 returned a Page.Next link to http://evil.example/api/things?skip=2, another origin (host evil.example instead of 127.0.0.1, port 80 instead of "
        ),
        "{err}"
    );
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn a_next_link_to_another_port_says_so_and_sends_nothing_there() {
    let other = CannedServer::always(page(&[2], None));
    let next = format!("http://127.0.0.1:{}/api/things?skip=1&take=1", other.port());
    let server = CannedServer::always(page(&[1], Some(&next)));
    let client = client_for_url(&server.url(), Credentials::api_key("API-KEY"));

    let err = client
        .all_pages::<u32>("/api/things?skip=0&take=1")
        .await
        .unwrap_err();

    let ApiError::OtherOrigin {
        referrer,
        target,
        difference,
        ..
    } = &err
    else {
        panic!("{err:?}");
    };
    assert_eq!(
        referrer,
        "GET /api/things?skip=0&take=1 returned a Page.Next link"
    );
    assert_eq!(target, &next);
    assert_eq!(
        difference,
        &format!("port {} instead of {}", other.port(), server.port())
    );
    assert!(!err.to_string().contains("cannot be read"), "{err}");
    assert!(err.is_unreachable());
    assert_eq!(server.requests().len(), 1);
    assert!(
        other.requests().is_empty(),
        "nothing was sent to the other port"
    );
}

#[tokio::test]
async fn an_absurd_number_of_pages_is_a_paging_loop() {
    // Every page is new and `skip` advances, but the collection never ends.
    let server = CannedServer::start(|_, index| {
        page(
            &[1, 2],
            Some(&format!("/api/things?skip={}&take=2", (index + 1) * 2)),
        )
    });
    let client = octoshare_core::Client::builder(
        octoshare_core::ServerUrl::parse(&server.url()).unwrap(),
        Credentials::api_key("API-KEY"),
    )
    .max_pages(5)
    .build()
    .unwrap();

    let err = client
        .all_pages::<u32>("/api/things?skip=0&take=2")
        .await
        .unwrap_err();

    assert!(matches!(err, ApiError::PagingLoop { .. }), "{err:?}");
    assert_eq!(server.requests().len(), 5);
}
