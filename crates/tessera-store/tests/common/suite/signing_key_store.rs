//! Signing keys ([`SigningKeyStore`](tessera_core::SigningKeyStore)): rotation, one key per slot across processes, static keys, algorithms.

/// The tests of this section, for the store `$open` opens.
#[allow(unused_macros)] // test files that share `common` without running the suite
macro_rules! signing_key_store_tests {
    ($open:expr) => {
        crate::common::suite::suite_prelude!();

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn key_rotation_keeps_old_tokens_valid() {
            let Some((store, _guard)) = $open.await else {
                return;
            };
            let config = SessionConfig {
                signing_key_update_interval: Duration::from_secs(3600),
                access_token_validity: Duration::from_secs(1800),
                ..config()
            };
            let h = Harness::new(store, config);
            // START is on an hour boundary: create the first token late in its rotation slot.
            h.clock.advance(Duration::from_secs(3000));
            let before = h
                .sessions
                .create_new_session(NewSession::new("u"))
                .await
                .unwrap();
            let first_jwks = h.sessions.jwks().await.unwrap();
            assert_eq!(first_jwks.keys.len(), 1);
            assert!(first_jwks.keys[0].kid.starts_with("d-"));
            assert_eq!(first_jwks.keys[0].alg, "RS256");
            // Into the next rotation slot, while the first token is still valid.
            h.clock.advance(Duration::from_secs(1200));
            let after = h
                .sessions
                .create_new_session(NewSession::new("u"))
                .await
                .unwrap();
            let jwks = h.sessions.jwks().await.unwrap();
            assert_eq!(jwks.keys.len(), 2, "{jwks:?}");
            assert_ne!(jwks.keys[0].kid, jwks.keys[1].kid);
            let kid_of = |token: &str| -> String {
                use base64::Engine;
                let header = token.split('.').next().unwrap();
                let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(header)
                    .unwrap();
                let header: Value = serde_json::from_slice(&header).unwrap();
                header["kid"].as_str().unwrap().to_owned()
            };
            assert_ne!(
                kid_of(before.access_token.token.expose()),
                kid_of(after.access_token.token.expose())
            );
            assert_eq!(jwks.keys[0].kid, kid_of(after.access_token.token.expose()));
            for token in [&before.access_token.token, &after.access_token.token] {
                h.sessions
                    .get_session(token, None, VerifyOptions::default())
                    .await
                    .unwrap();
            }
            // A process started now (empty cache) verifies the old token from the stored key.
            let fresh = h.sibling(SessionConfig {
                signing_key_update_interval: Duration::from_secs(3600),
                access_token_validity: Duration::from_secs(1800),
                ..SessionConfig::default()
            });
            fresh
                .get_session(&before.access_token.token, None, VerifyOptions::default())
                .await
                .unwrap();
            // Once every token the old key signed has expired, the key is swept and leaves the JWKS.
            h.clock.advance(Duration::from_secs(4 * 3600));
            h.sessions.sweep_expired().await.unwrap();
            let late = h.sessions.jwks().await.unwrap();
            assert!(
                late.keys.iter().all(|k| k.kid != first_jwks.keys[0].kid),
                "{late:?}"
            );
        }

        /// `tessera keys rotate`: a rotation in one process signs its new tokens at once, and another
        /// process's within a minute (its next key reload); tokens of the replaced key keep verifying
        /// everywhere, and the key listing says which key signs.
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn manual_rotation_reaches_every_process() {
            let Some((store, _guard)) = $open.await else {
                return;
            };
            let h = Harness::new(store, config());
            let other = h.sibling(config());
            let kid_of = |token: &tessera_core::AccessToken| -> String {
                use base64::Engine;
                let header = token.expose().split('.').next().unwrap();
                let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(header)
                    .unwrap();
                let header: Value = serde_json::from_slice(&header).unwrap();
                header["kid"].as_str().unwrap().to_owned()
            };
            let before = other
                .create_new_session(NewSession::new("u"))
                .await
                .unwrap();
            let old_kid = kid_of(&before.access_token.token);
            h.clock.advance(Duration::from_millis(5));
            let rotated = h.sessions.rotate_signing_key().await.unwrap();
            assert_ne!(rotated.kid, old_kid);
            assert!(rotated.in_use);
            let listed = h.sessions.signing_keys().await.unwrap();
            let in_use: Vec<(String, bool)> =
                listed.iter().map(|k| (k.kid.clone(), k.in_use)).collect();
            assert_eq!(
                in_use,
                vec![(rotated.kid.clone(), true), (old_kid.clone(), false)]
            );
            assert_eq!(listed[0].expires_at, listed[1].expires_at, "{listed:?}");

            let here = h
                .sessions
                .create_new_session(NewSession::new("u"))
                .await
                .unwrap();
            assert_eq!(kid_of(&here.access_token.token), rotated.kid);
            // The other process verifies the new key's tokens at once (an unknown kid is looked up)...
            other
                .get_session(&here.access_token.token, None, VerifyOptions::default())
                .await
                .unwrap();
            // ...and signs with it after its next reload, within a minute.
            h.clock.advance(Duration::from_secs(61));
            let there = other
                .create_new_session(NewSession::new("u"))
                .await
                .unwrap();
            assert_eq!(kid_of(&there.access_token.token), rotated.kid);
            for engine in [&h.sessions, &other] {
                engine
                    .get_session(&before.access_token.token, None, VerifyOptions::default())
                    .await
                    .unwrap();
            }
            // A second rotation takes over from the first: one signer per slot.
            h.clock.advance(Duration::from_millis(5));
            let again = h.sessions.rotate_signing_key().await.unwrap();
            let signers: Vec<String> = h
                .sessions
                .signing_keys()
                .await
                .unwrap()
                .into_iter()
                .filter(|k| k.in_use)
                .map(|k| k.kid)
                .collect();
            assert_eq!(signers, vec![again.kid]);
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn concurrent_rotation_creates_one_key() {
            let Some((store, _guard)) = $open.await else {
                return;
            };
            let h = Harness::new(store, config());
            let engines: Vec<_> = (0..4).map(|_| h.sibling(config())).collect();
            let tasks: Vec<_> = engines
                .into_iter()
                .map(|engine| {
                    tokio::spawn(
                        async move { engine.create_new_session(NewSession::new("u")).await },
                    )
                })
                .collect();
            for task in tasks {
                task.await.unwrap().unwrap();
            }
            assert_eq!(h.sessions.jwks().await.unwrap().keys.len(), 1);
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn static_key_sessions() {
            let Some((store, _guard)) = $open.await else {
                return;
            };
            let h = Harness::new(store, config());
            let created = h
                .sessions
                .create_new_session(NewSession::new("u").key_kind(KeyKind::Static))
                .await
                .unwrap();
            h.clock.advance(Duration::from_secs(400 * 3600));
            let refreshed = h
                .sessions
                .refresh_session(&created.refresh_token.token, None)
                .await
                .unwrap();
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
            let header = refreshed
                .access_token
                .token
                .expose()
                .split('.')
                .next()
                .unwrap()
                .to_owned();
            use base64::Engine;
            let header: Value = serde_json::from_slice(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(header)
                    .unwrap(),
            )
            .unwrap();
            assert!(
                header["kid"].as_str().unwrap().starts_with("s-"),
                "{header}"
            );
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn eddsa_signing() {
            let Some((store, _guard)) = $open.await else {
                return;
            };
            let h = Harness::new(
                store,
                SessionConfig {
                    signing_algorithm: SigningAlgorithm::EdDsa,
                    ..config()
                },
            );
            let created = h
                .sessions
                .create_new_session(NewSession::new("u"))
                .await
                .unwrap();
            h.sessions
                .get_session(&created.access_token.token, None, VerifyOptions::default())
                .await
                .unwrap();
            let jwks = h.sessions.jwks().await.unwrap();
            assert_eq!(jwks.keys[0].kty, "OKP");
            assert_eq!(jwks.keys[0].crv, Some("Ed25519"));
        }

        /// `/.well-known/jwks.json` is public: fetching it must not read the store each time.
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn jwks_is_served_from_memory() {
            let Some((store, _guard)) = $open.await else {
                return;
            };
            let h = Harness::new(store, config());
            let first = h.sessions.jwks().await.unwrap();
            assert_eq!(first.keys.len(), 1);
            let calls = h.calls();
            for _ in 0..1000 {
                assert_eq!(h.sessions.jwks().await.unwrap().keys, first.keys);
            }
            assert_eq!(h.calls(), calls, "a JWKS fetch read the store");
            // A key another process creates is published within the reload interval.
            h.sibling(config())
                .create_new_session(NewSession::new("u").key_kind(KeyKind::Static))
                .await
                .unwrap();
            h.clock.advance(Duration::from_secs(61));
            let calls = h.calls();
            let reloaded = h.sessions.jwks().await.unwrap();
            assert_eq!(reloaded.keys.len(), 2, "{reloaded:?}");
            assert_eq!(h.calls(), calls + 1);
            for _ in 0..100 {
                h.sessions.jwks().await.unwrap();
            }
            assert_eq!(h.calls(), calls + 1);
        }
    };
}
#[allow(unused_imports)]
pub(crate) use signing_key_store_tests;
