//! Tenants and apps ([`TenantRegistry`](tessera_core::TenantRegistry)).

/// The tests of this section, for the store `$open` opens.
#[allow(unused_macros)] // test files that share `common` without running the suite
macro_rules! tenant_registry_tests {
    ($open:expr) => {
        crate::common::suite::suite_prelude!();

        /// Tenants: created once (then updated), listed with `public` first, `public` always there and
        /// never deletable; deleting a tenant revokes its sessions and no other tenant's, and its access
        /// tokens are refused at once here and by another process through the revocation log.
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn tenants_are_created_listed_and_deleted_with_their_sessions() {
            let Some((store, _guard)) = $open.await else { return };
            let h = Harness::new(store, config());
            let other = h.sibling(config());
            let sessions = &h.sessions;
            assert!(sessions
                .create_or_update_tenant("acme", object(json!({"firstFactors": ["emailpassword"]})))
                .await
                .unwrap());
            assert!(!sessions
                .create_or_update_tenant("acme", object(json!({"firstFactors": ["thirdparty"]})))
                .await
                .unwrap());
            assert!(sessions
                .create_or_update_tenant("globex", Map::new())
                .await
                .unwrap());
            assert!(!sessions
                .create_or_update_tenant("public", Map::new())
                .await
                .unwrap());
            let acme = sessions.tenant("acme").await.unwrap().unwrap();
            assert_eq!(acme.config, object(json!({"firstFactors": ["thirdparty"]})));
            assert!(sessions.tenant("public").await.unwrap().is_some());
            assert!(sessions.tenant("initech").await.unwrap().is_none());
            let ids: Vec<String> = sessions
                .tenants()
                .await
                .unwrap()
                .into_iter()
                .map(|t| t.tenant_id)
                .collect();
            assert_eq!(ids, ["public", "acme", "globex"]);
            for bad in ["", "recipe", "appid-x", "a b"] {
                assert!(
                    sessions
                        .create_or_update_tenant(bad, Map::new())
                        .await
                        .is_err(),
                    "{bad:?}"
                );
            }

            let in_tenant = |tenant: &str| {
                let mut new = NewSession::new("u");
                new.tenant_id = tenant.to_owned();
                new
            };
            let acme_session = sessions
                .create_new_session(in_tenant("acme"))
                .await
                .unwrap();
            let globex_session = sessions
                .create_new_session(in_tenant("globex"))
                .await
                .unwrap();
            let public_session = sessions
                .create_new_session(NewSession::new("u"))
                .await
                .unwrap();
            other
                .get_session(
                    &acme_session.access_token.token,
                    None,
                    VerifyOptions::default(),
                )
                .await
                .unwrap();

            assert!(sessions.delete_tenant("acme").await.unwrap());
            assert!(!sessions.delete_tenant("acme").await.unwrap());
            assert!(sessions.delete_tenant("public").await.is_err());
            assert!(sessions.tenant("acme").await.unwrap().is_none());
            let verify = |engine: &tessera_core::Sessions, tokens: &tessera_core::SessionTokens| {
                let engine = engine.clone();
                let token = tokens.access_token.token.clone();
                async move {
                    engine
                        .get_session(&token, None, VerifyOptions::default())
                        .await
                }
            };
            assert!(is_unauthorised(&verify(sessions, &acme_session).await));
            assert!(is_unauthorised(
                &sessions
                    .refresh_session(&acme_session.refresh_token.token, None)
                    .await
            ));
            other.follow_revocations().await.unwrap();
            assert!(is_unauthorised(&verify(&other, &acme_session).await));
            for survivor in [&globex_session, &public_session] {
                verify(sessions, survivor).await.unwrap();
                verify(&other, survivor).await.unwrap();
            }
            let handles = sessions
                .get_all_session_handles_for_user("u", None)
                .await
                .unwrap();
            assert_eq!(handles.len(), 2);
            assert!(!handles.contains(&acme_session.session.handle));
        }

        /// The app registry: an app is created once (a second put replaces its configuration and
        /// keeps its creation time), listed by id, and removed once.
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn apps_are_registered_listed_and_removed() {
            let Some((store, _guard)) = $open.await else { return };
            let app = |id: &str, config: Value, created_ms| tessera_core::AppRecord {
                app_id: id.to_owned(),
                config: object(config),
                created_at: tessera_core::Timestamp::from_millis(created_ms),
            };
            assert!(store.apps().await.unwrap().is_empty());
            assert!(store.put_app(&app("zeta", json!({"a": 1}), 1_000)).await.unwrap());
            assert!(store.put_app(&app("alpha", json!({}), 2_000)).await.unwrap());
            assert!(!store.put_app(&app("zeta", json!({"a": 2}), 3_000)).await.unwrap());
            assert_eq!(
                store.apps().await.unwrap(),
                vec![app("alpha", json!({}), 2_000), app("zeta", json!({"a": 2}), 1_000)]
            );
            assert!(store.delete_app("zeta").await.unwrap());
            assert!(!store.delete_app("zeta").await.unwrap());
            assert_eq!(store.apps().await.unwrap(), vec![app("alpha", json!({}), 2_000)]);
        }
    };
}
#[allow(unused_imports)]
pub(crate) use tenant_registry_tests;
