//! Paged collections, `/all` arrays, filters and query parsing.

use octopus_emulator::{Scenario, SpaceSeed, WorkerSeed};
use serde_json::Value;

use crate::support::*;

const ENVELOPE: [&str; 7] = [
    "ItemType",
    "TotalResults",
    "ItemsPerPage",
    "NumberOfPages",
    "LastPageNumber",
    "Items",
    "Links",
];

fn seven_spaces() -> Scenario {
    ["Gamma", "alpha", "Delta", "Beta", "Eta", "Epsilon", "Zeta"]
        .into_iter()
        .fold(Scenario::new(), |scenario, name| {
            scenario.space(SpaceSeed::new(name))
        })
}

fn names(page: &Value) -> Vec<String> {
    page["Items"]
        .as_array()
        .unwrap_or_else(|| panic!("no Items in {page}"))
        .iter()
        .map(|item| item["Name"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn collection_envelope_and_links_follow_octopus_order_across_three_pages() {
    let emulator = start(seven_spaces());
    let mut seen = Vec::new();
    for (page_number, skip) in [0, 3, 6].into_iter().enumerate() {
        let page = get_json(&emulator, &format!("/api/spaces?skip={skip}&take=3")).await;
        assert_eq!(keys(&page), ENVELOPE);
        assert_eq!(page["ItemType"], "Space");
        assert_eq!(page["TotalResults"], 7);
        assert_eq!(page["ItemsPerPage"], 3);
        assert_eq!(page["NumberOfPages"], 3);
        assert_eq!(page["LastPageNumber"], 2);
        let links = &page["Links"];
        let expected_links: &[&str] = match page_number {
            0 => &[
                "Self",
                "Template",
                "Page.All",
                "Page.Next",
                "Page.Current",
                "Page.Last",
            ],
            1 => &[
                "Self",
                "Template",
                "Page.All",
                "Page.Previous",
                "Page.Next",
                "Page.Current",
                "Page.Last",
            ],
            _ => &[
                "Self",
                "Template",
                "Page.All",
                "Page.Previous",
                "Page.Current",
                "Page.Last",
            ],
        };
        assert_eq!(keys(links), expected_links, "page {page_number}");
        assert_eq!(links["Self"], format!("/api/spaces?skip={skip}&take=3"));
        assert_eq!(links["Page.Current"], links["Self"]);
        assert_eq!(
            links["Template"],
            "/api/spaces{?skip,ids,take,partialName,name}"
        );
        assert_eq!(links["Page.All"], "/api/spaces?skip=0&take=2147483647");
        assert_eq!(links["Page.Last"], "/api/spaces?skip=6&take=3");
        if page_number < 2 {
            assert_eq!(
                links["Page.Next"],
                format!("/api/spaces?skip={}&take=3", skip + 3)
            );
        }
        if page_number > 0 {
            assert_eq!(
                links["Page.Previous"],
                format!("/api/spaces?skip={}&take=3", skip - 3)
            );
        }
        seen.extend(names(&page));
    }
    // Sorted by name, case-insensitively, across pages.
    assert_eq!(
        seen,
        ["alpha", "Beta", "Delta", "Epsilon", "Eta", "Gamma", "Zeta"]
    );
}

#[tokio::test]
async fn page_links_keep_filters_in_template_order_with_canonical_names() {
    let mut space = SpaceSeed::new("Default").default_space().pool(TF_POOL);
    for n in 0..5 {
        space = space.worker(polling(&format!("tf-worker-{n}")));
    }
    let emulator = start(Scenario::new().space(space));
    let page = get_json(
        &emulator,
        "/api/Spaces-1/workers?take=2&WORKERPOOLIDS=WorkerPools-2&partialname=tf%20worker,x&isDisabled=False&skip=0",
    )
    .await;
    assert_eq!(page["TotalResults"], 0);
    assert_eq!(
        page["Links"]["Self"],
        "/api/Spaces-1/workers?skip=0&take=2&partialName=tf%20worker,x&isDisabled=False&workerPoolIds=WorkerPools-2"
    );

    let page = get_json(
        &emulator,
        "/api/Spaces-1/workers?partialName=TF-&take=2&skip=2",
    )
    .await;
    assert_eq!(page["TotalResults"], 5);
    assert_eq!(names(&page), ["tf-worker-2", "tf-worker-3"]);
    assert_eq!(
        page["Links"]["Page.Next"],
        "/api/Spaces-1/workers?skip=4&take=2&partialName=TF-"
    );
    assert_eq!(
        page["Links"]["Template"],
        "/api/Spaces-1/workers{?skip,take,name,ids,partialName,isDisabled,healthStatuses,commStyles,workerPoolIds,thumbprint,shellNames}"
    );
}

#[tokio::test]
async fn take_defaults_to_30_and_any_take_is_echoed_in_items_per_page() {
    let mut space = SpaceSeed::new("Default").default_space().pool(TF_POOL);
    for n in 0..35 {
        space = space.worker(polling(&format!("w{n:02}")));
    }
    let emulator = start(Scenario::new().space(space));

    let first = get_json(&emulator, "/api/Spaces-1/workers").await;
    assert_eq!(first["ItemsPerPage"], 30);
    assert_eq!(first["Items"].as_array().map(Vec::len), Some(30));
    assert_eq!(first["NumberOfPages"], 2);
    assert_eq!(first["LastPageNumber"], 1);
    assert_eq!(
        first["Links"]["Page.Next"],
        "/api/Spaces-1/workers?skip=30&take=30"
    );

    let all = get_json(&emulator, "/api/Spaces-1/workers?skip=0&take=2147483647").await;
    assert_eq!(all["ItemsPerPage"], 2147483647);
    assert_eq!(all["Items"].as_array().map(Vec::len), Some(35));
    assert_eq!(all["NumberOfPages"], 1);
    assert!(all["Links"].get("Page.Next").is_none());
}

#[tokio::test]
async fn empty_collection_reports_one_page_and_no_next_link() {
    let emulator = start(two_spaces());
    let page = get_json(&emulator, "/api/Spaces-1/workers").await;
    assert_eq!(keys(&page), ENVELOPE);
    assert_eq!(page["TotalResults"], 0);
    assert_eq!(page["NumberOfPages"], 1);
    assert_eq!(page["LastPageNumber"], 0);
    assert_eq!(page["Items"], serde_json::json!([]));
    assert!(page["Links"].get("Page.Next").is_none());
}

#[tokio::test]
async fn all_routes_return_bare_arrays() {
    let scenario = Scenario::new().space(
        SpaceSeed::new("Default")
            .default_space()
            .pool(TF_POOL)
            .worker(polling("w1"))
            .action_template(serde_json::json!({"Name": "Hello", "ActionType": "Octopus.Script"})),
    );
    let emulator = start(scenario);
    for (path, expected) in [
        ("/api/spaces/all", 1),
        ("/api/Spaces-1/workers/all", 1),
        ("/api/Spaces-1/workerpools/all", 2),
        ("/api/Spaces-1/machinepolicies/all", 1),
        ("/api/Spaces-1/actiontemplates/all", 1),
    ] {
        let body = get_json(&emulator, path).await;
        assert_eq!(
            body.as_array().map(Vec::len),
            Some(expected),
            "{path}: {body}"
        );
    }
    let by_thumbprint = get_json(
        &emulator,
        &format!(
            "/api/Spaces-1/workers/all?thumbprint={}",
            THUMBPRINT.to_lowercase()
        ),
    )
    .await;
    assert_eq!(by_thumbprint.as_array().map(Vec::len), Some(1));
    let by_other = get_json(&emulator, "/api/Spaces-1/workers/all?thumbprint=00").await;
    assert_eq!(by_other, serde_json::json!([]));
}

fn filter_scenario() -> Scenario {
    Scenario::new().space(
        SpaceSeed::new("Default")
            .default_space()
            .pool(TF_POOL)
            .pool("Other Pool")
            .worker(polling("alpha-1"))
            .worker(polling("alpha-2").health("Unavailable").disabled(true))
            .worker(
                WorkerSeed::polling(
                    "beta-1",
                    "poll://zyxwvutsrqponmlkjihg/",
                    "11223344556677889900AABBCCDDEEFF00112233",
                )
                .in_pool("Other Pool")
                .health("Unhealthy"),
            )
            .worker(
                WorkerSeed::listening(
                    "gamma-1",
                    "https://gamma:10933/",
                    "FFEEDDCCBBAA00998877665544332211FFEEDDCC",
                )
                .in_pool("Other Pool")
                .in_pool(TF_POOL),
            ),
    )
}

async fn worker_names(emulator: &octopus_emulator::Emulator, query: &str) -> Vec<String> {
    names(&get_json(emulator, &format!("/api/Spaces-1/workers?{query}")).await)
}

#[tokio::test]
async fn worker_filters_match_octopus_semantics() {
    let emulator = start(filter_scenario());
    assert_eq!(worker_names(&emulator, "name=ALPHA-1").await, ["alpha-1"]);
    assert_eq!(
        worker_names(&emulator, "name=alpha").await,
        Vec::<String>::new()
    );
    assert_eq!(
        worker_names(&emulator, "partialName=Pha").await,
        ["alpha-1", "alpha-2"]
    );
    assert_eq!(
        worker_names(&emulator, "ids=Workers-1,Workers-3").await,
        ["alpha-1", "beta-1"]
    );
    assert_eq!(
        worker_names(&emulator, "ids=Workers-1&ids=Workers-4").await,
        ["alpha-1", "gamma-1"]
    );
    assert_eq!(
        worker_names(&emulator, "healthStatuses=Unavailable,Unhealthy").await,
        ["alpha-2", "beta-1"]
    );
    assert_eq!(
        worker_names(&emulator, "commStyles=TentaclePassive").await,
        ["gamma-1"]
    );
    assert_eq!(
        worker_names(&emulator, "workerPoolIds=WorkerPools-3").await,
        ["beta-1", "gamma-1"]
    );
    assert_eq!(
        worker_names(
            &emulator,
            "thumbprint=11223344556677889900aabbccddeeff00112233"
        )
        .await,
        ["beta-1"]
    );
    // Only health-checked workers report a shell.
    assert_eq!(
        worker_names(&emulator, "shellNames=Bash&isDisabled=false").await,
        ["alpha-1", "gamma-1"]
    );
}

#[tokio::test]
async fn query_names_and_boolean_values_are_case_insensitive() {
    let emulator = start(filter_scenario());
    assert_eq!(
        worker_names(&emulator, "IsDisabled=True").await,
        ["alpha-2"]
    );
    assert_eq!(
        worker_names(&emulator, "isdisabled=TRUE").await,
        ["alpha-2"]
    );
    assert_eq!(worker_names(&emulator, "isDisabled=False").await.len(), 3);
    assert_eq!(
        worker_names(&emulator, "workerpoolIds=WorkerPools-3").await,
        ["beta-1", "gamma-1"]
    );
    assert_eq!(
        worker_names(&emulator, "PARTIALNAME=gamma").await,
        ["gamma-1"]
    );
    let bad = get(&emulator, "/api/Spaces-1/workers?isDisabled=perhaps").await;
    assert_eq!(bad.status, 400);
    assert_eq!(
        bad.json()["ErrorMessage"],
        "There was a problem with your request."
    );
    let bad_take = get(&emulator, "/api/Spaces-1/workers?take=-1").await;
    assert_eq!(bad_take.status, 400);
}

#[tokio::test]
async fn space_filters_by_ids_name_and_partial_name() {
    let emulator = start(seven_spaces());
    let by_name = get_json(&emulator, "/api/spaces?name=BETA").await;
    assert_eq!(names(&by_name), ["Beta"]);
    let partial = get_json(
        &emulator,
        "/api/spaces?partialName=ta&skip=0&take=2147483647",
    )
    .await;
    assert_eq!(names(&partial), ["Beta", "Delta", "Eta", "Zeta"]);
    let ids = get_json(&emulator, "/api/spaces?ids=Spaces-1,Spaces-2").await;
    assert_eq!(names(&ids), ["alpha", "Gamma"]);
    let all = get_json(&emulator, "/api/spaces/all?partialName=eta").await;
    assert_eq!(all.as_array().map(Vec::len), Some(3));
}

#[tokio::test]
async fn pool_workers_route_is_a_paged_worker_collection_of_that_pool() {
    let emulator = start(filter_scenario());
    let page = get_json(
        &emulator,
        "/api/Spaces-1/workerpools/WorkerPools-2/workers?take=1",
    )
    .await;
    assert_eq!(keys(&page), ENVELOPE);
    assert_eq!(page["ItemType"], "Worker");
    assert_eq!(page["TotalResults"], 3);
    assert_eq!(names(&page), ["alpha-1"]);
    assert_eq!(
        page["Links"]["Page.Next"],
        "/api/Spaces-1/workerpools/WorkerPools-2/workers?skip=1&take=1"
    );
    let healthy = get_json(
        &emulator,
        "/api/Spaces-1/workerpools/WorkerPools-2/workers?healthStatuses=Healthy&isDisabled=false",
    )
    .await;
    assert_eq!(names(&healthy), ["alpha-1", "gamma-1"]);
    let pools = get_json(&emulator, "/api/Spaces-1/workerpools?partialName=pool").await;
    assert_eq!(pools["ItemType"], "WorkerPool");
    // Sorted by SortOrder: the default pool first, then seeded pools in scenario order.
    assert_eq!(
        names(&pools),
        ["Default Worker Pool", TF_POOL, "Other Pool"]
    );
}
