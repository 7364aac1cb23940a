//! The conformance suite, once per store. A behaviour tested for one store is tested for all.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

mod common;

use std::sync::Arc;

use common::suite;
use tessera_core::SessionStore;

macro_rules! conformance {
    ($module:ident, $open:expr) => {
        mod $module {
            use super::*;
            conformance!(@tests $open;
                create_then_verify_without_store,
                check_database_sees_revocation,
                refresh_rotates_both_tokens,
                reuse_after_child_used_is_theft,
                replay_within_grace_is_accepted,
                grace_window_ends_just_after_its_length,
                lost_response_retry_is_not_theft,
                parallel_siblings_are_not_theft,
                access_token_use_commits_child,
                first_use_hands_back_a_token_that_stays_off_the_store,
                stale_first_use_access_token_is_theft,
                a_token_minted_long_before_a_later_use_is_dead,
                unknown_refresh_token_is_unauthorised,
                expired_access_token_needs_refresh,
                expired_refresh_token_is_unauthorised,
                refresh_slides_expiry,
                revoke_one_many_and_all,
                every_session_is_walked_and_revoked,
                handles_exclude_expired,
                session_data_round_trip,
                payload_update_reaches_new_tokens,
                regenerate_keeps_expiry,
                anti_csrf_is_enforced,
                key_rotation_keeps_old_tokens_valid,
                concurrent_rotation_creates_one_key,
                manual_rotation_reaches_every_process,
                tenants_are_created_listed_and_deleted_with_their_sessions,
                static_key_sessions,
                eddsa_signing,
                sweep_removes_expired_sessions,
                theft_can_be_reported_without_revoking,
                oversized_tokens_are_never_minted,
                jwks_is_served_from_memory,
                revocations_reach_other_processes_through_the_log,
                a_bound_session_refreshes_only_with_its_device,
                device_proofs_are_refused_when_stale_foreign_or_unsigned
            );
        }
    };
    (@tests $open:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let Some((store, _guard)) = $open.await else { return };
                suite::$name(store).await;
            }
        )*
    };
}

type Opened = Option<(Arc<dyn SessionStore>, Box<dyn std::any::Any + Send>)>;

async fn memory() -> Opened {
    Some((
        Arc::new(tessera_core::testing::MemoryStore::default()),
        Box::new(()),
    ))
}

async fn sqlite() -> Opened {
    let (store, dir) = common::sqlite_store().await;
    Some((store, Box::new(dir)))
}

conformance!(memory_store, memory());
conformance!(sqlite_store, sqlite());

#[cfg(feature = "postgres")]
async fn postgres() -> Opened {
    let (store, scratch) = common::postgres_store().await?;
    Some((store, Box::new(scratch)))
}

#[cfg(feature = "mysql")]
async fn mysql() -> Opened {
    let (store, scratch) = common::mysql_store().await?;
    Some((store, Box::new(scratch)))
}

#[cfg(feature = "postgres")]
conformance!(postgres_store, postgres());
#[cfg(feature = "mysql")]
conformance!(mysql_store, mysql());

/// The macro above names the suite's tests one by one: a test written in `common/suite.rs` but
/// left off the list would never run, on any store. This fails if the two disagree.
#[test]
fn every_suite_test_is_listed_and_every_listed_test_exists() {
    let suite = include_str!("common/suite.rs");
    let this_file = include_str!("conformance.rs");
    let start = this_file.find("conformance!(@tests $open;").unwrap();
    let end = start + this_file[start..].find(");").unwrap();
    let mut listed: Vec<&str> = this_file[start..end]
        .lines()
        .skip(1)
        .map(|line| line.trim().trim_end_matches(','))
        .filter(|name| !name.is_empty())
        .collect();
    let mut defined: Vec<&str> = suite
        .lines()
        .filter_map(|line| line.strip_prefix("pub async fn "))
        .filter_map(|rest| rest.split('(').next())
        .collect();
    listed.sort_unstable();
    defined.sort_unstable();
    assert!(
        defined.len() >= 30,
        "the suite's tests were not found: {defined:?}"
    );
    assert_eq!(listed, defined);
}
