//! Revocations ([`RevocationLog`](tessera_core::RevocationLog)): by handle, by user, walking every session, and the log other processes follow.

/// The tests of this section, for the store `$open` opens.
#[allow(unused_macros)] // test files that share `common` without running the suite
macro_rules! revocation_log_tests {
    ($open:expr) => {
        crate::common::suite::suite_prelude!();

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn check_database_sees_revocation() {
            let Some((store, _guard)) = $open.await else {
                return;
            };
            let h = Harness::new(store, config());
            let created = h
                .sessions
                .create_new_session(NewSession::new("u"))
                .await
                .unwrap();
            let strict = VerifyOptions {
                check_database: true,
                ..VerifyOptions::default()
            };
            h.sessions
                .get_session(&created.access_token.token, None, strict)
                .await
                .unwrap();
            assert!(h
                .sessions
                .revoke_session(&created.session.handle)
                .await
                .unwrap());
            let result = h
                .sessions
                .get_session(&created.access_token.token, None, strict)
                .await;
            assert!(is_unauthorised(&result), "{result:?}");
            // The revoking engine refuses it without the database too: it holds the revocation.
            let result = h
                .sessions
                .get_session(&created.access_token.token, None, VerifyOptions::default())
                .await;
            assert!(is_unauthorised(&result), "{result:?}");
        }

        /// Revocations by one process (one session, a user's sessions, a theft) reach another through
        /// the store's revocation log; once read, the other refuses those access tokens without reading
        /// the store per verification.
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn revocations_reach_other_processes_through_the_log() {
            let Some((store, _guard)) = $open.await else {
                return;
            };
            let h = Harness::new(store, config());
            let other = h.sibling(config());
            let create = |user: &'static str| {
                let sessions = h.sessions.clone();
                async move {
                    sessions
                        .create_new_session(NewSession::new(user))
                        .await
                        .unwrap()
                }
            };
            let one = create("one").await;
            let all_a = create("all").await;
            let all_b = create("all").await;
            let stolen = create("stolen").await;
            let kept = create("kept").await;
            let verify = |engine: &tessera_core::Sessions, token: &tessera_core::AccessToken| {
                let engine = engine.clone();
                let token = token.clone();
                async move {
                    engine
                        .get_session(&token, None, VerifyOptions::default())
                        .await
                }
            };
            assert_eq!(other.follow_revocations().await.unwrap(), 0);
            for created in [&one, &all_a, &all_b, &stolen, &kept] {
                verify(&other, &created.access_token.token).await.unwrap();
            }
            h.sessions
                .revoke_session(&one.session.handle)
                .await
                .unwrap();
            h.sessions
                .revoke_all_sessions_for_user("all", None)
                .await
                .unwrap();
            // Theft: the child was used, then the parent comes back after the grace window.
            let child = h
                .sessions
                .refresh_session(&stolen.refresh_token.token, None)
                .await
                .unwrap();
            h.sessions
                .refresh_session(&child.refresh_token.token, None)
                .await
                .unwrap();
            h.clock.advance(GRACE + Duration::from_secs(1));
            let theft = h
                .sessions
                .refresh_session(&stolen.refresh_token.token, None)
                .await;
            assert!(
                is_theft(&theft, "stolen", &stolen.session.handle),
                "{theft:?}"
            );

            // Not read yet: the other process still verifies them statelessly.
            verify(&other, &one.access_token.token).await.unwrap();
            assert_eq!(other.follow_revocations().await.unwrap(), 4);
            let calls = h.calls();
            for revoked in [&one, &all_a, &all_b, &stolen] {
                let result = verify(&other, &revoked.access_token.token).await;
                assert!(is_unauthorised(&result), "{result:?}");
            }
            verify(&other, &kept.access_token.token).await.unwrap();
            assert_eq!(h.calls(), calls, "verification read the store");
            // Nothing new: the next read finds nothing, and nothing is read twice.
            assert_eq!(other.follow_revocations().await.unwrap(), 0);
            assert_eq!(other.revocation_status().revoked_sessions, 4);

            // Once every access token of the revoked sessions has expired, the entries are dropped from
            // memory and from the store's log.
            h.clock
                .advance(config().access_token_validity + Duration::from_secs(120));
            other.follow_revocations().await.unwrap();
            assert_eq!(other.revocation_status().revoked_sessions, 0);
            h.sessions.sweep_expired().await.unwrap();
            let fresh = h.sibling(config());
            assert_eq!(fresh.follow_revocations().await.unwrap(), 0);
            // After the sweep emptied the log, new entries still come after the old positions: a
            // follower that read the old ones sees the new one.
            let late = create("late").await;
            verify(&other, &late.access_token.token).await.unwrap();
            h.sessions
                .revoke_session(&late.session.handle)
                .await
                .unwrap();
            assert_eq!(other.follow_revocations().await.unwrap(), 1);
            let result = verify(&other, &late.access_token.token).await;
            assert!(is_unauthorised(&result), "{result:?}");
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn revoke_one_many_and_all() {
            let Some((store, _guard)) = $open.await else {
                return;
            };
            let h = Harness::new(store, config());
            let mut handles = Vec::new();
            for user in ["a", "a", "a", "b"] {
                let created = h
                    .sessions
                    .create_new_session(NewSession::new(user))
                    .await
                    .unwrap();
                handles.push(created.session.handle);
            }
            let other_tenant = h
                .sessions
                .create_new_session(NewSession::new("a").tenant_id("t2"))
                .await
                .unwrap();
            assert!(h.sessions.revoke_session(&handles[0]).await.unwrap());
            assert!(!h.sessions.revoke_session(&handles[0]).await.unwrap());
            let revoked = h
                .sessions
                .revoke_multiple_sessions(&[handles[1].clone(), "missing".to_owned()])
                .await
                .unwrap();
            assert_eq!(revoked, vec![handles[1].clone()]);
            let mut all_a = h
                .sessions
                .get_all_session_handles_for_user("a", None)
                .await
                .unwrap();
            all_a.sort();
            let mut expected = vec![handles[2].clone(), other_tenant.session.handle.clone()];
            expected.sort();
            assert_eq!(all_a, expected);
            assert_eq!(
                h.sessions
                    .get_all_session_handles_for_user("a", Some("public"))
                    .await
                    .unwrap(),
                vec![handles[2].clone()]
            );
            let revoked = h
                .sessions
                .revoke_all_sessions_for_user("a", Some("public"))
                .await
                .unwrap();
            assert_eq!(revoked, vec![handles[2].clone()]);
            assert_eq!(
                h.sessions
                    .get_all_session_handles_for_user("a", None)
                    .await
                    .unwrap(),
                vec![other_tenant.session.handle.clone()]
            );
            assert_eq!(
                h.sessions
                    .revoke_all_sessions_for_user("a", None)
                    .await
                    .unwrap(),
                vec![other_tenant.session.handle]
            );
            assert_eq!(
                h.sessions
                    .get_all_session_handles_for_user("b", None)
                    .await
                    .unwrap(),
                vec![handles[3].clone()]
            );
        }

        /// Every session of the store, in any tenant, walked a page at a time and revoked (an app being
        /// removed): none refreshes afterwards, and each is in the revocation log.
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn every_session_is_walked_and_revoked() {
            let Some((store, _guard)) = $open.await else {
                return;
            };
            let h = Harness::new(Arc::clone(&store), config());
            let mut created = Vec::new();
            for (user, tenant) in [("a", "public"), ("b", "public"), ("a", "t2")] {
                let session = h
                    .sessions
                    .create_new_session(NewSession::new(user).tenant_id(tenant))
                    .await
                    .unwrap();
                created.push(session);
            }
            let mut handles: Vec<String> =
                created.iter().map(|s| s.session.handle.clone()).collect();
            handles.sort();
            let first = store.session_handles("", 2).await.unwrap();
            assert_eq!(first, handles[..2]);
            let rest = store.session_handles(&first[1], 2).await.unwrap();
            assert_eq!(rest, handles[2..]);
            assert!(store
                .session_handles(&handles[2], 2)
                .await
                .unwrap()
                .is_empty());

            assert_eq!(h.sessions.revoke_every_session().await.unwrap(), 3);
            assert!(store.session_handles("", 10).await.unwrap().is_empty());
            for session in &created {
                let refreshed = h
                    .sessions
                    .refresh_session(&session.refresh_token.token, None)
                    .await;
                assert!(is_unauthorised(&refreshed), "{refreshed:?}");
            }
            let mut logged: Vec<String> = store
                .revocations(0, tessera_core::Timestamp::EPOCH, 10)
                .await
                .unwrap()
                .into_iter()
                .map(|r| r.session_handle)
                .collect();
            logged.sort();
            assert_eq!(logged, handles);
            assert_eq!(h.sessions.revoke_every_session().await.unwrap(), 0);
        }
    };
}
#[allow(unused_imports)]
pub(crate) use revocation_log_tests;
