//! Sessions and their tokens ([`SessionRecords`](tessera_core::SessionRecords)): creation, verification, rotation and theft, grace, expiry, data, anti-CSRF, theft reports and device binding.

/// The tests of this section, for the store `$open` opens.
#[allow(unused_macros)] // test files that share `common` without running the suite
macro_rules! session_records_tests {
    ($open:expr) => {
        crate::common::suite::suite_prelude!();

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn create_then_verify_without_store() {
            let Some((store, _guard)) = $open.await else { return };
            let h = Harness::new(store, config());
            let created = h
                .sessions
                .create_new_session(
                    NewSession::new("user-1").access_token_payload(object(json!({"role": "admin"}))),
                )
                .await
                .unwrap();
            let calls = h.calls();
            for _ in 0..10 {
                let verified = h
                    .sessions
                    .get_session(&created.access_token.token, None, VerifyOptions::default())
                    .await
                    .unwrap();
                assert_eq!(verified.user_id, "user-1");
                assert_eq!(verified.handle, created.session.handle);
                assert_eq!(
                    verified.access_token_payload,
                    object(json!({"role": "admin"}))
                );
                assert!(verified.new_access_token.is_none());
            }
            assert_eq!(h.calls(), calls, "verification must not touch the store");
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn refresh_rotates_both_tokens() {
            let Some((store, _guard)) = $open.await else { return };
            let h = Harness::new(store, config());
            let created = h
                .sessions
                .create_new_session(NewSession::new("u"))
                .await
                .unwrap();
            h.clock.advance(Duration::from_secs(60));
            let refreshed = h
                .sessions
                .refresh_session(&created.refresh_token.token, None)
                .await
                .unwrap();
            assert_ne!(refreshed.refresh_token.token, created.refresh_token.token);
            assert_ne!(refreshed.access_token.token, created.access_token.token);
            assert_eq!(refreshed.session.handle, created.session.handle);
            assert!(refreshed.refresh_token.expiry > created.refresh_token.expiry);
            let verified = h
                .sessions
                .get_session(
                    &refreshed.access_token.token,
                    None,
                    VerifyOptions::default(),
                )
                .await
                .unwrap();
            assert_eq!(verified.user_id, "u");
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn reuse_after_child_used_is_theft() {
            let Some((store, _guard)) = $open.await else { return };
            let h = Harness::new(store, config());
            let created = h
                .sessions
                .create_new_session(NewSession::new("victim"))
                .await
                .unwrap();
            let handle = created.session.handle.clone();
            let first = created.refresh_token.token.clone();
            let child = h.sessions.refresh_session(&first, None).await.unwrap();
            // Using the child commits it.
            let grandchild = h
                .sessions
                .refresh_session(&child.refresh_token.token, None)
                .await
                .unwrap();
            h.clock.advance(GRACE + Duration::from_secs(1));
            let replay = h.sessions.refresh_session(&first, None).await;
            assert!(is_theft(&replay, "victim", &handle), "{replay:?}");
            // The session is gone: the victim's newest token no longer works either.
            let after = h
                .sessions
                .refresh_session(&grandchild.refresh_token.token, None)
                .await;
            assert!(is_unauthorised(&after), "{after:?}");
            assert!(is_unauthorised(&h.sessions.get_session_info(&handle).await));
        }

        /// A detected theft leaves a report that outlives the revocation it caused: which token came
        /// back, how, how long after which use, the grace window, where the other copy had got to,
        /// and every token the session had; the sweep removes it once the retention has passed.
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn theft_report_outlives_the_revocation_until_its_retention() {
            let Some((store, _guard)) = $open.await else { return };
            let config = SessionConfig {
                theft_report_retention: Duration::from_secs(3600),
                ..config()
            };
            let h = Harness::new(store, config);
            let bystander = h
                .sessions
                .create_new_session(NewSession::new("bystander"))
                .await
                .unwrap();
            let created = h
                .sessions
                .create_new_session(NewSession::new("victim"))
                .await
                .unwrap();
            let handle = created.session.handle.clone();
            let first = created.refresh_token.token.clone();
            h.clock.advance(Duration::from_secs(5));
            let child = h.sessions.refresh_session(&first, None).await.unwrap();
            h.clock.advance(Duration::from_secs(5));
            let grandchild = h
                .sessions
                .refresh_session(&child.refresh_token.token, None)
                .await
                .unwrap();
            h.clock.advance(GRACE + Duration::from_secs(11));
            let replay = h.sessions.refresh_session(&first, None).await;
            assert!(is_theft(&replay, "victim", &handle), "{replay:?}");
            // The bystander's session and its tokens are untouched and report nothing.
            let query = |user: &str| tessera_core::TheftQuery {
                user_id: Some(user.to_owned()),
                limit: 10,
                ..Default::default()
            };
            assert!(h.sessions.theft_reports(&query("bystander")).await.unwrap().is_empty());
            assert_eq!(h.sessions.session_tokens(&bystander.session.handle).await.unwrap().len(), 1);

            let reports = h.sessions.theft_reports(&query("victim")).await.unwrap();
            assert_eq!(reports.len(), 1, "{reports:?}");
            let report = &reports[0];
            assert!(report.id > 0);
            assert_eq!(
                (report.session_handle.as_str(), report.tenant_id.as_str()),
                (handle.as_str(), "public")
            );
            assert_eq!(report.kind, tessera_core::TheftKind::Refresh);
            assert!(report.revoked);
            assert_eq!(report.presented_hash2, hash2(&first));
            assert_eq!(report.grace, Duration::from_secs(30));
            // Dead since the child was used (to refresh), 41 s before the replay.
            assert_eq!(report.dead_for(), Some(Duration::from_secs(41)));
            assert_eq!(report.newest_hash2, Some(hash2(&grandchild.refresh_token.token)));
            assert_eq!(
                report.newest_issued_at.map(|at| report.detected_at.since(at)),
                Some(Duration::from_secs(41))
            );
            let lineage: Vec<(String, Option<String>, Option<String>)> = report
                .tokens
                .iter()
                .map(|t| (t.hash2.clone(), t.parent.clone(), t.killed_by.clone()))
                .collect();
            let (t1, t2, t3) = (
                hash2(&first),
                hash2(&child.refresh_token.token),
                hash2(&grandchild.refresh_token.token),
            );
            assert_eq!(
                lineage,
                [
                    (t1.clone(), None, Some(t2.clone())),
                    (t2.clone(), Some(t1), None),
                    (t3.clone(), Some(t2), None),
                ]
            );
            assert_eq!(
                report.explanation(),
                "Token 1 was presented by a refresh 41 s after token 2 had been used; the grace \
                 window is 30 s, so the session was revoked as stolen. The other copy had reached \
                 token 3, minted 41 s earlier."
            );
            // The session's own rows are gone; the report is what remains of it.
            assert!(is_unauthorised(&h.sessions.get_session_info(&handle).await));
            assert!(h.store.session_tokens(&handle).await.unwrap().is_empty());

            h.clock.advance(Duration::from_secs(3599));
            h.sessions.sweep_expired().await.unwrap();
            assert_eq!(h.sessions.theft_reports(&query("victim")).await.unwrap().len(), 1);
            h.clock.advance(Duration::from_secs(2));
            h.sessions.sweep_expired().await.unwrap();
            assert!(h.sessions.theft_reports(&query("victim")).await.unwrap().is_empty());
        }

        /// Reports are listed newest first, by user, by session and a page at a time; a stale
        /// access token's first use is reported as such, and with revocation on theft off the
        /// report says the session was kept.
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn theft_reports_are_listed_by_user_session_and_page() {
            let Some((store, _guard)) = $open.await else { return };
            let config = SessionConfig {
                revoke_on_theft: false,
                ..config()
            };
            let h = Harness::new(store, config);
            let mut handles = Vec::new();
            for user in ["ann", "bob", "ann"] {
                let created = h
                    .sessions
                    .create_new_session(NewSession::new(user))
                    .await
                    .unwrap();
                let child = h
                    .sessions
                    .refresh_session(&created.refresh_token.token, None)
                    .await
                    .unwrap();
                let stolen_access = child.access_token.token.clone();
                let grandchild = h
                    .sessions
                    .refresh_session(&child.refresh_token.token, None)
                    .await
                    .unwrap();
                h.sessions
                    .get_session(&grandchild.access_token.token, None, VerifyOptions::default())
                    .await
                    .unwrap();
                h.clock.advance(GRACE + Duration::from_secs(1));
                let replay = h
                    .sessions
                    .get_session(&stolen_access, None, VerifyOptions::default())
                    .await;
                assert!(is_theft(&replay, user, &created.session.handle), "{replay:?}");
                handles.push(created.session.handle);
            }
            let list = |query: tessera_core::TheftQuery| {
                let sessions = h.sessions.clone();
                async move {
                    sessions
                        .theft_reports(&query)
                        .await
                        .unwrap()
                        .into_iter()
                        .map(|r| r.session_handle)
                        .collect::<Vec<_>>()
                }
            };
            let all = tessera_core::TheftQuery {
                limit: 10,
                ..Default::default()
            };
            assert_eq!(
                list(all.clone()).await,
                [handles[2].clone(), handles[1].clone(), handles[0].clone()]
            );
            let ann = tessera_core::TheftQuery {
                user_id: Some("ann".into()),
                ..all.clone()
            };
            assert_eq!(list(ann.clone()).await, [handles[2].clone(), handles[0].clone()]);
            let reports = h.sessions.theft_reports(&ann).await.unwrap();
            assert!(reports.iter().all(|r| r.kind == tessera_core::TheftKind::AccessToken
                && !r.revoked
                && r.tokens.len() == 3));
            assert!(reports[0].explanation().contains("by the first use of an access token"));
            let first_page = tessera_core::TheftQuery { limit: 1, ..all.clone() };
            let newest = h.sessions.theft_reports(&first_page).await.unwrap();
            let next_page = tessera_core::TheftQuery {
                before_id: Some(newest[0].id),
                ..first_page
            };
            assert_eq!(list(next_page).await, [handles[1].clone()]);
            let by_session = tessera_core::TheftQuery {
                session_handle: Some(handles[1].clone()),
                ..all
            };
            assert_eq!(list(by_session).await, [handles[1].clone()]);
            // Not revoked: the sessions and their tokens are still there.
            assert_eq!(h.sessions.session_tokens(&handles[1]).await.unwrap().len(), 3);
        }

        /// A live session's picture: its tokens in issue order, each with its parent, and for the
        /// dead ones the use that marked them (a refresh of the child, or the first use of its
        /// access token).
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn a_live_session_pictures_its_tokens() {
            let Some((store, _guard)) = $open.await else { return };
            let h = Harness::new(store, config());
            let created = h
                .sessions
                .create_new_session(NewSession::new("u"))
                .await
                .unwrap();
            h.clock.advance(Duration::from_secs(1));
            let child = h
                .sessions
                .refresh_session(&created.refresh_token.token, None)
                .await
                .unwrap();
            h.clock.advance(Duration::from_secs(1));
            // The child's access token is used: that kills the first token, by the child.
            h.sessions
                .get_session(&child.access_token.token, None, VerifyOptions::default())
                .await
                .unwrap();
            let tokens = h.sessions.session_tokens(&created.session.handle).await.unwrap();
            let (t1, t2) = (hash2(&created.refresh_token.token), hash2(&child.refresh_token.token));
            assert_eq!(tokens.len(), 2);
            assert_eq!((tokens[0].hash2.as_str(), tokens[0].parent.as_deref()), (t1.as_str(), None));
            assert_eq!(tokens[0].killed_by.as_deref(), Some(t2.as_str()));
            assert_eq!(
                tokens[0].dead_since.map(|dead| dead.since(tokens[1].issued_at)),
                Some(Duration::from_secs(1))
            );
            assert_eq!((tokens[1].parent.as_deref(), tokens[1].dead_since), (Some(t1.as_str()), None));
            assert!(is_unauthorised(&h.sessions.session_tokens("no-such-session").await));
        }

        /// The grace window includes its end: a parent replayed exactly `grace` after its child was used
        /// is forgiven (an honest tab may take that long), one microsecond later it is theft; with a grace
        /// of zero only the same microsecond is forgiven.
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn grace_window_ends_just_after_its_length() {
            let Some((store, _guard)) = $open.await else { return };
            for grace in [Duration::ZERO, GRACE] {
                let config = SessionConfig {
                    refresh_token_rotation_grace_period: grace,
                    ..config()
                };
                for (after, theft) in [(grace, false), (grace + Duration::from_micros(1), true)] {
                    let h = Harness::new(store.clone(), config.clone());
                    let created = h
                        .sessions
                        .create_new_session(NewSession::new("victim"))
                        .await
                        .unwrap();
                    let first = created.refresh_token.token.clone();
                    let child = h.sessions.refresh_session(&first, None).await.unwrap();
                    h.sessions
                        .refresh_session(&child.refresh_token.token, None)
                        .await
                        .unwrap();
                    h.clock.advance(after);
                    let replay = h.sessions.refresh_session(&first, None).await;
                    assert_eq!(
                        is_theft(&replay, "victim", &created.session.handle),
                        theft,
                        "grace {grace:?}, replayed {after:?} later: {replay:?}"
                    );
                }
            }
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn replay_within_grace_is_accepted() {
            let Some((store, _guard)) = $open.await else { return };
            let h = Harness::new(store, config());
            let created = h
                .sessions
                .create_new_session(NewSession::new("u"))
                .await
                .unwrap();
            let first = created.refresh_token.token.clone();
            let child = h.sessions.refresh_session(&first, None).await.unwrap();
            h.sessions
                .refresh_session(&child.refresh_token.token, None)
                .await
                .unwrap();
            h.clock.advance(GRACE - Duration::from_secs(1));
            // A tab that sent the parent while the child was being used.
            let late = h.sessions.refresh_session(&first, None).await.unwrap();
            // Nothing the client holds has been used since its child was minted: it stays usable.
            h.clock.advance(Duration::from_secs(3600));
            h.sessions
                .refresh_session(&late.refresh_token.token, None)
                .await
                .unwrap();
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn lost_response_retry_is_not_theft() {
            let Some((store, _guard)) = $open.await else { return };
            let h = Harness::new(store, config());
            let created = h
                .sessions
                .create_new_session(NewSession::new("u"))
                .await
                .unwrap();
            let token = created.refresh_token.token.clone();
            for _ in 0..3 {
                // The response never arrives; the client retries with the same token much later.
                h.sessions.refresh_session(&token, None).await.unwrap();
                h.clock.advance(Duration::from_secs(7200));
            }
            let last = h.sessions.refresh_session(&token, None).await.unwrap();
            h.sessions
                .refresh_session(&last.refresh_token.token, None)
                .await
                .unwrap();
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn parallel_siblings_are_not_theft() {
            let Some((store, _guard)) = $open.await else { return };
            let h = Harness::new(store, config());
            let created = h
                .sessions
                .create_new_session(NewSession::new("u"))
                .await
                .unwrap();
            let parent = created.refresh_token.token.clone();
            // Two tabs refresh with the same token; one tab uses its child at once.
            let tab_a = h.sessions.refresh_session(&parent, None).await.unwrap();
            let tab_b = h.sessions.refresh_session(&parent, None).await.unwrap();
            h.clock.advance(Duration::from_millis(200));
            h.sessions
                .refresh_session(&tab_a.refresh_token.token, None)
                .await
                .unwrap();
            // Tab B's response arrived last, so its token is the one in the cookie jar, used an hour later.
            h.clock.advance(Duration::from_secs(3600));
            let from_b = h
                .sessions
                .refresh_session(&tab_b.refresh_token.token, None)
                .await
                .unwrap();
            h.clock.advance(Duration::from_secs(3600));
            h.sessions
                .refresh_session(&from_b.refresh_token.token, None)
                .await
                .unwrap();
        }

        /// The first verification of a refreshed access token commits its refresh token, without any
        /// database check asked for: replaying the refresh token it replaced is then theft.
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn access_token_use_commits_child() {
            let Some((store, _guard)) = $open.await else { return };
            let h = Harness::new(store, config());
            let created = h
                .sessions
                .create_new_session(NewSession::new("u"))
                .await
                .unwrap();
            let first = created.refresh_token.token.clone();
            let child = h.sessions.refresh_session(&first, None).await.unwrap();
            let verified = h
                .sessions
                .get_session(&child.access_token.token, None, VerifyOptions::default())
                .await
                .unwrap();
            assert!(verified.parent_refresh_token_hash1.is_none());
            h.clock.advance(GRACE + Duration::from_micros(1));
            let replay = h.sessions.refresh_session(&first, None).await;
            assert!(
                is_theft(&replay, "u", &created.session.handle),
                "{replay:?}"
            );
        }

        /// One store call per refresh cycle: the first verification of a refreshed access token goes to
        /// the store and hands back a token without `parentRefreshTokenHash1`, which then verifies in
        /// memory. The refreshed token itself keeps going to the store (a request sent before the
        /// replacement arrived), and is served.
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn first_use_hands_back_a_token_that_stays_off_the_store() {
            let Some((store, _guard)) = $open.await else { return };
            let h = Harness::new(
                store,
                SessionConfig {
                    access_token_validity: Duration::from_secs(600),
                    ..config()
                },
            );
            let created = h
                .sessions
                .create_new_session(NewSession::new("u").access_token_payload(object(json!({"plan": 1}))))
                .await
                .unwrap();
            let child = h
                .sessions
                .refresh_session(&created.refresh_token.token, None)
                .await
                .unwrap();
            h.clock.advance(Duration::from_secs(10));
            let calls = h.calls();
            let mut first = h
                .sessions
                .get_session(&child.access_token.token, None, VerifyOptions::default())
                .await
                .unwrap();
            assert_eq!(h.calls(), calls + 1, "one presentation");
            let reissued = first.new_access_token.take().expect("a token without the claim");
            assert_eq!(first.access_token_payload, object(json!({"plan": 1})));
            // A full lifetime from the first use.
            assert_eq!(
                reissued.expiry,
                tessera_core::Timestamp::from_secs(
                    (reissued.created_at + Duration::from_secs(600)).as_secs()
                )
            );
            let calls = h.calls();
            for _ in 0..5 {
                let again = h
                    .sessions
                    .get_session(&reissued.token, None, VerifyOptions::default())
                    .await
                    .unwrap();
                assert!(again.new_access_token.is_none());
                assert!(again.parent_refresh_token_hash1.is_none());
            }
            assert_eq!(h.calls(), calls, "no store call for the handed-back token");
            let late = h
                .sessions
                .get_session(&child.access_token.token, None, VerifyOptions::default())
                .await
                .unwrap();
            assert!(late.new_access_token.is_some());
            assert_eq!(h.calls(), calls + 1);
        }

        /// A copy of a refreshed access token, replayed after the client moved on, is theft at that
        /// verification: it presents a refresh token the client has moved past.
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn stale_first_use_access_token_is_theft() {
            let Some((store, _guard)) = $open.await else { return };
            let h = Harness::new(store, config());
            let created = h
                .sessions
                .create_new_session(NewSession::new("victim"))
                .await
                .unwrap();
            let child = h
                .sessions
                .refresh_session(&created.refresh_token.token, None)
                .await
                .unwrap();
            // The attacker copies the jar before the victim's first call with it.
            let stolen_access = child.access_token.token.clone();
            let grandchild = h
                .sessions
                .refresh_session(&child.refresh_token.token, None)
                .await
                .unwrap();
            h.sessions
                .get_session(
                    &grandchild.access_token.token,
                    None,
                    VerifyOptions::default(),
                )
                .await
                .unwrap();
            h.clock.advance(GRACE + Duration::from_micros(1));
            let replay = h
                .sessions
                .get_session(&stolen_access, None, VerifyOptions::default())
                .await;
            assert!(
                is_theft(&replay, "victim", &created.session.handle),
                "{replay:?}"
            );
            let after = h
                .sessions
                .refresh_session(&grandchild.refresh_token.token, None)
                .await;
            assert!(is_unauthorised(&after), "revoked: {after:?}");
        }

        /// A use proves the jar moved past every token minted more than the grace window before it:
        /// a sibling left behind by a lost response is dead once something newer is used.
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn a_token_minted_long_before_a_later_use_is_dead() {
            let Some((store, _guard)) = $open.await else { return };
            let h = Harness::new(store, config());
            let created = h
                .sessions
                .create_new_session(NewSession::new("victim"))
                .await
                .unwrap();
            let parent = created.refresh_token.token.clone();
            // The response to this refresh was lost (or stolen by whoever made the request).
            let lost = h.sessions.refresh_session(&parent, None).await.unwrap();
            h.clock.advance(GRACE + Duration::from_secs(1));
            let retried = h.sessions.refresh_session(&parent, None).await.unwrap();
            h.sessions
                .refresh_session(&retried.refresh_token.token, None)
                .await
                .unwrap();
            h.clock.advance(GRACE + Duration::from_secs(1));
            let replay = h
                .sessions
                .refresh_session(&lost.refresh_token.token, None)
                .await;
            assert!(
                is_theft(&replay, "victim", &created.session.handle),
                "{replay:?}"
            );
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn unknown_refresh_token_is_unauthorised() {
            let Some((store, _guard)) = $open.await else { return };
            let h = Harness::new(store, config());
            h.sessions
                .create_new_session(NewSession::new("u"))
                .await
                .unwrap();
            for token in ["", "nope", &"x".repeat(100_000), "\u{0}\u{1}ÿ"] {
                let result = h
                    .sessions
                    .refresh_session(&RefreshToken::new(token), None)
                    .await;
                assert!(is_unauthorised(&result), "{result:?}");
            }
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn expired_access_token_needs_refresh() {
            let Some((store, _guard)) = $open.await else { return };
            let h = Harness::new(store, config());
            let created = h
                .sessions
                .create_new_session(NewSession::new("u"))
                .await
                .unwrap();
            h.clock.advance(Duration::from_secs(3599));
            assert!(h
                .sessions
                .get_session(&created.access_token.token, None, VerifyOptions::default())
                .await
                .is_ok());
            h.clock.advance(Duration::from_secs(1));
            let result = h
                .sessions
                .get_session(&created.access_token.token, None, VerifyOptions::default())
                .await;
            assert!(is_try_refresh(&result), "{result:?}");
            let refreshed = h
                .sessions
                .refresh_session(&created.refresh_token.token, None)
                .await
                .unwrap();
            assert!(h
                .sessions
                .get_session(
                    &refreshed.access_token.token,
                    None,
                    VerifyOptions::default()
                )
                .await
                .is_ok());
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn expired_refresh_token_is_unauthorised() {
            let Some((store, _guard)) = $open.await else { return };
            let config = SessionConfig {
                refresh_token_validity: Duration::from_secs(86_400),
                ..config()
            };
            let h = Harness::new(store, config);
            let created = h
                .sessions
                .create_new_session(NewSession::new("u"))
                .await
                .unwrap();
            h.clock.advance(Duration::from_secs(86_400));
            let result = h
                .sessions
                .refresh_session(&created.refresh_token.token, None)
                .await;
            assert!(is_unauthorised(&result), "{result:?}");
            assert!(is_unauthorised(
                &h.sessions.get_session_info(&created.session.handle).await
            ));
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn refresh_slides_expiry() {
            let Some((store, _guard)) = $open.await else { return };
            let config = SessionConfig {
                refresh_token_validity: Duration::from_secs(86_400),
                ..config()
            };
            let h = Harness::new(store, config);
            let created = h
                .sessions
                .create_new_session(NewSession::new("u"))
                .await
                .unwrap();
            let mut token = created.refresh_token.token;
            for _ in 0..5 {
                h.clock.advance(Duration::from_secs(80_000));
                token = h
                    .sessions
                    .refresh_session(&token, None)
                    .await
                    .unwrap()
                    .refresh_token
                    .token;
            }
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn session_data_round_trip() {
            let Some((store, _guard)) = $open.await else { return };
            let h = Harness::new(store, config());
            let created = h
                .sessions
                .create_new_session(NewSession::new("u").session_data(json!({"cart": [1, 2]})))
                .await
                .unwrap();
            let handle = &created.session.handle;
            assert_eq!(
                h.sessions.get_session_data(handle).await.unwrap(),
                json!({"cart": [1, 2]})
            );
            let data = json!({"cart": [], "note": "ünïcode ✓", "nested": {"deep": [null, true, 1.5]}});
            h.sessions
                .update_session_data(handle, data.clone())
                .await
                .unwrap();
            assert_eq!(h.sessions.get_session_data(handle).await.unwrap(), data);
            let info = h.sessions.get_session_info(handle).await.unwrap();
            assert_eq!(info.session_data, data);
            assert_eq!(info.user_id, "u");
            assert_eq!(info.created_at, crate::common::START);
            assert!(is_unauthorised(
                &h.sessions.update_session_data("missing", json!({})).await
            ));
            assert!(is_unauthorised(
                &h.sessions.get_session_data("missing").await
            ));
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn payload_update_reaches_new_tokens() {
            let Some((store, _guard)) = $open.await else { return };
            let h = Harness::new(store, config());
            let created = h
                .sessions
                .create_new_session(NewSession::new("u").access_token_payload(object(json!({"v": 1}))))
                .await
                .unwrap();
            let handle = &created.session.handle;
            h.sessions
                .update_access_token_payload(handle, object(json!({"v": 2})))
                .await
                .unwrap();
            // A database check notices the stale payload and mints a replacement.
            let verified = h
                .sessions
                .get_session(
                    &created.access_token.token,
                    None,
                    VerifyOptions {
                        check_database: true,
                        ..VerifyOptions::default()
                    },
                )
                .await
                .unwrap();
            assert_eq!(verified.access_token_payload, object(json!({"v": 2})));
            let reissued = verified.new_access_token.expect("a re-minted access token");
            let again = h
                .sessions
                .get_session(&reissued.token, None, VerifyOptions::default())
                .await
                .unwrap();
            assert_eq!(again.access_token_payload, object(json!({"v": 2})));
            let refreshed = h
                .sessions
                .refresh_session(&created.refresh_token.token, None)
                .await
                .unwrap();
            assert_eq!(
                refreshed.session.access_token_payload,
                object(json!({"v": 2}))
            );
            let reserved = h
                .sessions
                .update_access_token_payload(handle, object(json!({"sub": "someone-else"})))
                .await;
            assert!(
                matches!(reserved, Err(SessionError::General(_))),
                "{reserved:?}"
            );
            assert!(is_unauthorised(
                &h.sessions
                    .update_access_token_payload("missing", Map::new())
                    .await
            ));
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn regenerate_keeps_expiry() {
            let Some((store, _guard)) = $open.await else { return };
            let h = Harness::new(store, config());
            let created = h
                .sessions
                .create_new_session(NewSession::new("u"))
                .await
                .unwrap();
            h.clock.advance(Duration::from_secs(600));
            let regenerated = h
                .sessions
                .regenerate_access_token(
                    &created.access_token.token,
                    Some(object(json!({"r": true}))),
                )
                .await
                .unwrap();
            let token = regenerated
                .access_token
                .expect("the old token had not expired");
            assert_eq!(token.expiry, created.access_token.expiry);
            let verified = h
                .sessions
                .get_session(&token.token, None, VerifyOptions::default())
                .await
                .unwrap();
            assert_eq!(verified.access_token_payload, object(json!({"r": true})));
            h.clock.advance(Duration::from_secs(3600));
            let late = h
                .sessions
                .regenerate_access_token(&created.access_token.token, None)
                .await
                .unwrap();
            assert!(late.access_token.is_none());
            assert_eq!(
                late.session.access_token_payload,
                object(json!({"r": true}))
            );
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn anti_csrf_is_enforced() {
            let Some((store, _guard)) = $open.await else { return };
            let h = Harness::new(store, config());
            let created = h
                .sessions
                .create_new_session(NewSession::new("u").anti_csrf(true))
                .await
                .unwrap();
            let csrf = created.anti_csrf_token.clone().expect("an anti-CSRF token");
            let check = VerifyOptions {
                do_anti_csrf_check: true,
                ..VerifyOptions::default()
            };
            let at = &created.access_token.token;
            assert!(h.sessions.get_session(at, Some(&csrf), check).await.is_ok());
            assert!(is_try_refresh(
                &h.sessions.get_session(at, None, check).await
            ));
            let wrong = AntiCsrfToken::new("wrong");
            assert!(is_try_refresh(
                &h.sessions.get_session(at, Some(&wrong), check).await
            ));
            // Refresh needs the token too; a forged cross-site refresh cannot even trigger theft handling.
            let rt = &created.refresh_token.token;
            // A forged cross-site refresh (no or wrong token) is refused without telling the client to
            // drop its tokens: it must not be able to sign the user out either.
            for supplied in [None, Some(&wrong)] {
                let forged = h.sessions.refresh_session(rt, supplied).await;
                assert!(
                    matches!(
                        forged,
                        Err(SessionError::Unauthorised {
                            clear_tokens: false,
                            ..
                        })
                    ),
                    "{forged:?}"
                );
            }
            let refreshed = h.sessions.refresh_session(rt, Some(&csrf)).await.unwrap();
            let new_csrf = refreshed.anti_csrf_token.expect("a new anti-CSRF token");
            assert_ne!(new_csrf, csrf);
            assert!(h
                .sessions
                .get_session(&refreshed.access_token.token, Some(&new_csrf), check)
                .await
                .is_ok());
            let plain = h
                .sessions
                .create_new_session(NewSession::new("u"))
                .await
                .unwrap();
            assert!(plain.anti_csrf_token.is_none());
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn sweep_removes_expired_sessions() {
            let Some((store, _guard)) = $open.await else { return };
            let config = SessionConfig {
                refresh_token_validity: Duration::from_secs(100),
                ..config()
            };
            let h = Harness::new(store, config);
            let old = h
                .sessions
                .create_new_session(NewSession::new("u"))
                .await
                .unwrap();
            h.clock.advance(Duration::from_secs(60));
            let young = h
                .sessions
                .create_new_session(NewSession::new("u"))
                .await
                .unwrap();
            h.clock.advance(Duration::from_secs(50));
            assert_eq!(h.sessions.sweep_expired().await.unwrap(), 1);
            assert_eq!(h.sessions.sweep_expired().await.unwrap(), 0);
            assert!(
                h.store
                    .refresh_token(&tessera_core::hash2_from_hash1(
                        &tessera_core::refresh_token_hash1(&old.refresh_token.token)
                    ))
                    .await
                    .unwrap()
                    .is_none(),
                "an expired session's tokens go with it"
            );
            h.sessions
                .get_session_info(&young.session.handle)
                .await
                .unwrap();
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn theft_can_be_reported_without_revoking() {
            let Some((store, _guard)) = $open.await else { return };
            let h = Harness::new(
                store,
                SessionConfig {
                    revoke_on_theft: false,
                    ..config()
                },
            );
            let created = h
                .sessions
                .create_new_session(NewSession::new("u"))
                .await
                .unwrap();
            let child = h
                .sessions
                .refresh_session(&created.refresh_token.token, None)
                .await
                .unwrap();
            let grandchild = h
                .sessions
                .refresh_session(&child.refresh_token.token, None)
                .await
                .unwrap();
            h.clock.advance(GRACE + Duration::from_secs(1));
            let replay = h
                .sessions
                .refresh_session(&created.refresh_token.token, None)
                .await;
            assert!(is_theft(&replay, "u", &created.session.handle));
            h.sessions
                .refresh_session(&grandchild.refresh_token.token, None)
                .await
                .unwrap();
        }

        /// Verification refuses tokens over `MAX_ACCESS_TOKEN_LEN`, so the engine must never mint one:
        /// not at creation, not on a later refresh (whose token also carries a parent hash), not after a
        /// payload update. Sizes step across the limit so that the last size accepted is exercised.
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn oversized_tokens_are_never_minted() {
            let Some((store, _guard)) = $open.await else { return };
            let h = Harness::new(store, config());
            // A user id longer than every store's column is refused as such, before anything else.
            let long_user = "u".repeat(6000);
            let refused = h
                .sessions
                .create_new_session(NewSession::new(long_user.clone()))
                .await;
            assert!(
                matches!(&refused, Err(SessionError::General(tessera_core::GeneralError::InvalidArgument(m))) if m.contains("512")),
                "{refused:?}"
            );
            let longest_user = "u".repeat(tessera_core::MAX_USER_ID_BYTES);
            h.sessions
                .create_new_session(NewSession::new(longest_user))
                .await
                .unwrap();
            assert!(h
                .sessions
                .get_all_session_handles_for_user(&long_user, None)
                .await
                .unwrap()
                .is_empty());
            let limit = tessera_core::MAX_ACCESS_TOKEN_LEN;
            let (mut accepted, mut refused) = (0, 0);
            for filler in (limit * 3 / 4 - 2000..limit * 3 / 4 + 200).step_by(13) {
                let payload = object(json!({ "filler": "x".repeat(filler) }));
                let created = h
                    .sessions
                    .create_new_session(
                        NewSession::new("u")
                            .anti_csrf(true)
                            .access_token_payload(payload),
                    )
                    .await;
                let created = match created {
                    Err(_) => {
                        assert!(is_too_large(&created), "{created:?}");
                        refused += 1;
                        continue;
                    }
                    Ok(created) => created,
                };
                accepted += 1;
                let csrf = created.anti_csrf_token.clone();
                let refreshed = h
                    .sessions
                    .refresh_session(&created.refresh_token.token, csrf.as_ref())
                    .await
                    .unwrap();
                assert!(refreshed.access_token.token.expose().len() <= limit);
                h.sessions
                    .get_session(
                        &refreshed.access_token.token,
                        refreshed.anti_csrf_token.as_ref(),
                        VerifyOptions::default(),
                    )
                    .await
                    .unwrap();
            }
            assert!(accepted > 0 && refused > 0, "{accepted} {refused}");
            // A payload update that would overflow is refused and changes nothing.
            let created = h
                .sessions
                .create_new_session(NewSession::new("u").access_token_payload(object(json!({"a": 1}))))
                .await
                .unwrap();
            let handle = &created.session.handle;
            let huge = object(json!({ "filler": "x".repeat(limit) }));
            assert!(is_too_large(
                &h.sessions
                    .update_access_token_payload(handle, huge.clone())
                    .await
            ));
            assert!(is_too_large(
                &h.sessions
                    .regenerate_access_token(&created.access_token.token, Some(huge))
                    .await
            ));
            let info = h.sessions.get_session_info(handle).await.unwrap();
            assert_eq!(info.access_token_payload, object(json!({"a": 1})));
        }

        /// A session bound to a device key keeps the key in the store; its refreshes need a proof from
        /// that key answering a challenge for the token presented. Without one the refresh token is a
        /// copy: theft, and the session is revoked at that request.
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn a_bound_session_refreshes_only_with_its_device() {
            let Some((store, _guard)) = $open.await else { return };
            use tessera_core::testing::TestDevice;
            let h = Harness::new(store, config());
            let other = h.sibling(config());
            let device = TestDevice::es256().unwrap();
            let created = h
                .sessions
                .create_new_session(NewSession::new("u"))
                .await
                .unwrap();
            let handle = created.session.handle.clone();
            let challenge = h
                .sessions
                .device_challenge(&created.refresh_token.token)
                .await
                .unwrap();
            assert_eq!(challenge.session_handle, handle);
            assert!(!challenge.bound);
            // A registration proof must answer this token's challenge.
            let foreign = device.registration("not-a-challenge").unwrap();
            assert_eq!(
                device_refused(
                    &h.sessions
                        .bind_device(&created.refresh_token.token, &foreign)
                        .await
                ),
                Some("challenge")
            );
            let registration = device.registration(&challenge.challenge).unwrap();
            let bound = h
                .sessions
                .bind_device(&created.refresh_token.token, &registration)
                .await
                .unwrap();
            // The key is in the store: another process over it sees the binding.
            let info = other.get_session_info(&handle).await.unwrap();
            assert_eq!(
                info.device_thumbprint.as_deref(),
                Some(bound.thumbprint.as_str())
            );
            // A retried registration is accepted; another device cannot take the session over.
            h.sessions
                .bind_device(&created.refresh_token.token, &registration)
                .await
                .unwrap();
            let intruder = TestDevice::es256().unwrap();
            let fresh = h
                .sessions
                .device_challenge(&created.refresh_token.token)
                .await
                .unwrap();
            assert!(fresh.bound);
            let takeover = intruder.registration(&fresh.challenge).unwrap();
            assert_eq!(
                device_refused(
                    &h.sessions
                        .bind_device(&created.refresh_token.token, &takeover)
                        .await
                ),
                Some("unauthorised")
            );
            // Renewal: the intruder's signature is refused, the device's accepted (by another process:
            // challenges are recognised by every process over the store).
            let stolen_proof = intruder.renewal(&fresh.challenge).unwrap();
            assert_eq!(
                device_refused(
                    &other
                        .refresh_bound_session(
                            &created.refresh_token.token,
                            &stolen_proof,
                            Default::default()
                        )
                        .await
                ),
                Some("proof")
            );
            let renewal = device.renewal(&fresh.challenge).unwrap();
            let refreshed = other
                .refresh_bound_session(&created.refresh_token.token, &renewal, Default::default())
                .await
                .unwrap();
            assert_eq!(refreshed.session.handle, handle);
            // The challenge named the token it rotated: replaying the proof is refused.
            let replay = other
                .refresh_bound_session(&refreshed.refresh_token.token, &renewal, Default::default())
                .await;
            assert_eq!(device_refused(&replay), Some("challenge"));
            // A copy of the cookie jar refreshing the usual way, without a proof: theft, at once.
            let copied = h
                .sessions
                .refresh_session(&refreshed.refresh_token.token, None)
                .await;
            assert!(is_theft(&copied, "u", &handle), "{copied:?}");
            assert!(is_unauthorised(&other.get_session_info(&handle).await));
            // Unbound sessions refresh as always.
            let plain = h
                .sessions
                .create_new_session(NewSession::new("v"))
                .await
                .unwrap();
            h.sessions
                .refresh_session(&plain.refresh_token.token, None)
                .await
                .unwrap();
            assert_eq!(
                h.sessions
                    .get_session_info(&plain.session.handle)
                    .await
                    .unwrap()
                    .device_thumbprint,
                None
            );
        }

        /// Challenges expire; a proof for another session's challenge, with `alg: none`, or for an unbound
        /// session is refused, and none of them changes the session.
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn device_proofs_are_refused_when_stale_foreign_or_unsigned() {
            let Some((store, _guard)) = $open.await else { return };
            use tessera_core::testing::TestDevice;
            let h = Harness::new(store, config());
            let device = TestDevice::es256().unwrap();
            let mine = h
                .sessions
                .create_new_session(NewSession::new("u"))
                .await
                .unwrap();
            let theirs = h
                .sessions
                .create_new_session(NewSession::new("w"))
                .await
                .unwrap();
            // Renewing an unbound session with a proof: refused, nothing to check it against.
            let challenge = h
                .sessions
                .device_challenge(&mine.refresh_token.token)
                .await
                .unwrap();
            assert_eq!(
                device_refused(
                    &h.sessions
                        .refresh_bound_session(
                            &mine.refresh_token.token,
                            &device.renewal(&challenge.challenge).unwrap(),
                            Default::default()
                        )
                        .await
                ),
                Some("unauthorised")
            );
            // Another session's challenge does not bind this one.
            let their_challenge = h
                .sessions
                .device_challenge(&theirs.refresh_token.token)
                .await
                .unwrap();
            let misdirected = device.registration(&their_challenge.challenge).unwrap();
            assert_eq!(
                device_refused(
                    &h.sessions
                        .bind_device(&mine.refresh_token.token, &misdirected)
                        .await
                ),
                Some("challenge")
            );
            // `alg: none`, unsigned.
            let header = json!({"alg": "none", "typ": "dbsc+jwt", "jwk": device.jwk()});
            let unsigned = format!(
                "{}.{}.",
                base64_url(&header.to_string()),
                base64_url(&json!({"jti": challenge.challenge}).to_string())
            );
            assert_eq!(
                device_refused(
                    &h.sessions
                        .bind_device(&mine.refresh_token.token, &unsigned)
                        .await
                ),
                Some("proof")
            );
            // An expired challenge.
            h.clock
                .advance(tessera_core::DEVICE_CHALLENGE_LIFETIME + Duration::from_millis(1));
            let late = device.registration(&challenge.challenge).unwrap();
            assert_eq!(
                device_refused(
                    &h.sessions
                        .bind_device(&mine.refresh_token.token, &late)
                        .await
                ),
                Some("challenge")
            );
            let info = h
                .sessions
                .get_session_info(&mine.session.handle)
                .await
                .unwrap();
            assert_eq!(info.device_thumbprint, None);
            // A challenge made without a store read for a pair that does not belong together (another
            // session's handle) answers nothing; for the pair just issued, it binds.
            let mismatched = h
                .sessions
                .device_challenge_for(&theirs.session.handle, &mine.refresh_token.token)
                .await
                .unwrap();
            assert_eq!(
                device_refused(
                    &h.sessions
                        .bind_device(
                            &mine.refresh_token.token,
                            &device.registration(&mismatched).unwrap()
                        )
                        .await
                ),
                Some("challenge")
            );
            let challenge = h
                .sessions
                .device_challenge_for(&mine.session.handle, &mine.refresh_token.token)
                .await
                .unwrap();
            h.sessions
                .bind_device(
                    &mine.refresh_token.token,
                    &device.registration(&challenge).unwrap(),
                )
                .await
                .unwrap();
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn handles_exclude_expired() {
            let Some((store, _guard)) = $open.await else {
                return;
            };
            let config = SessionConfig {
                refresh_token_validity: Duration::from_secs(100),
                ..config()
            };
            let h = Harness::new(store, config);
            let old = h
                .sessions
                .create_new_session(NewSession::new("u"))
                .await
                .unwrap();
            h.clock.advance(Duration::from_secs(50));
            let young = h
                .sessions
                .create_new_session(NewSession::new("u"))
                .await
                .unwrap();
            h.clock.advance(Duration::from_secs(60));
            assert_eq!(
                h.sessions
                    .get_all_session_handles_for_user("u", None)
                    .await
                    .unwrap(),
                vec![young.session.handle]
            );
            assert!(is_unauthorised(
                &h.sessions.get_session_info(&old.session.handle).await
            ));
        }

        /// A user's sessions are read in one call, oldest first, in one tenant or all; another
        /// user's and expired ones are left out.
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn a_users_sessions_are_read_oldest_first() {
            let Some((store, _guard)) = $open.await else {
                return;
            };
            let config = SessionConfig {
                refresh_token_validity: Duration::from_secs(100),
                ..config()
            };
            let h = Harness::new(store, config);
            let expiring = h.sessions.create_new_session(NewSession::new("u")).await.unwrap();
            h.clock.advance(Duration::from_secs(50));
            let public = h.sessions.create_new_session(NewSession::new("u")).await.unwrap();
            h.clock.advance(Duration::from_secs(1));
            let other_tenant = h
                .sessions
                .create_new_session(NewSession::new("u").tenant_id("t1").session_data(json!({"n": 1})))
                .await
                .unwrap();
            h.sessions.create_new_session(NewSession::new("someone-else")).await.unwrap();
            let handles = |infos: Vec<tessera_core::SessionInfo>| {
                infos.into_iter().map(|info| info.handle).collect::<Vec<_>>()
            };
            let all = h.sessions.get_all_sessions_for_user("u", None).await.unwrap();
            assert_eq!(all[2].session_data, json!({"n": 1}));
            assert_eq!(all[2].tenant_id, "t1");
            assert_eq!(
                handles(all),
                vec![
                    expiring.session.handle.clone(),
                    public.session.handle.clone(),
                    other_tenant.session.handle.clone()
                ]
            );
            h.clock.advance(Duration::from_secs(60));
            assert_eq!(
                handles(h.sessions.get_all_sessions_for_user("u", None).await.unwrap()),
                vec![public.session.handle.clone(), other_tenant.session.handle]
            );
            assert_eq!(
                handles(h.sessions.get_all_sessions_for_user("u", Some("public")).await.unwrap()),
                vec![public.session.handle]
            );
            assert!(h.sessions.get_all_sessions_for_user("nobody", None).await.unwrap().is_empty());
        }
    };
}
#[allow(unused_imports)]
pub(crate) use session_records_tests;
