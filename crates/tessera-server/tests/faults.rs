//! Several servers under faults, judged by a checker that reads the whole history: three
//! `tessera serve` processes over one PostgreSQL primary with a synchronous standby (and,
//! separately, one MariaDB) of the test's own, browsers, thieves and
//! an operator spread over them at random, while servers are killed and restarted or frozen and
//! the database crashes and restarts (PostgreSQL also fails over to its standby once), the wire to it slows down or resets every connection, and the
//! servers' clocks disagree by up to 0.4 s. `faults/checker.rs` lists the promises checked.
//!
//! The seed is printed and `TESSERA_FAULTS_SEED` replays its choices (the threads' interleaving
//! is the machine's); `TESSERA_FAULTS_SECONDS` sets each database's run (default 30, the short run of
//! the test suite; `scripts/faults.sh` runs long ones).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

#[path = "faults/checker.rs"]
mod checker;
#[path = "faults/cluster.rs"]
mod cluster;
#[path = "faults/history.rs"]
mod history;
#[path = "faults/wire.rs"]
mod wire;
#[path = "faults/workload.rs"]
mod workload;

use std::sync::Arc;

use cluster::OwnDatabase;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn several_servers_over_postgres_keep_every_promise() {
    let database = cluster::OwnPostgres::with_standby();
    run(database.map(|db| Arc::new(db) as Arc<dyn OwnDatabase>)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn several_servers_over_mariadb_keep_every_promise() {
    run(cluster::OwnMariaDb::start().map(|db| Arc::new(db) as Arc<dyn OwnDatabase>)).await;
}

/// The two runs take turns: each is timing-sensitive (a revocation's second), and the machine's
/// cores are better spent on one cluster at a time.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn run(database: Result<Arc<dyn OwnDatabase>, String>) {
    let _turn = ONE_AT_A_TIME.lock().await;
    let seed = std::env::var("TESSERA_FAULTS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random::<u64>);
    let seconds = std::env::var("TESSERA_FAULTS_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let database = match database {
        Ok(database) => database,
        Err(why) => {
            assert!(
                std::env::var_os("TESSERA_REQUIRE_DATABASES").is_none(),
                "no database instance of the test's own ({why}), and TESSERA_REQUIRE_DATABASES \
                 forbids skipping"
            );
            eprintln!("SKIPPED: no database instance of the test's own ({why})");
            return;
        }
    };
    let url = database.url();
    eprintln!("faults over {url}: TESSERA_FAULTS_SEED={seed} TESSERA_FAULTS_SECONDS={seconds}");
    let recorder = workload::Run { seconds, seed }
        .execute(Arc::clone(&database))
        .await;
    let history = recorder.history();
    let violations = checker::check(&history);
    eprintln!(
        "faults over {url}: {}; {} violations",
        checker::summary(&history),
        violations.len()
    );
    let report: String = violations.iter().take(5).map(checker::describe).collect();
    assert!(
        violations.is_empty(),
        "{} violations (TESSERA_FAULTS_SEED={seed}):\n{report}",
        violations.len()
    );
    assert!(!history.faults.is_empty(), "no fault was injected");
}

/// The checker itself, on histories made by hand: each broken promise is reported, and the
/// allowances (the grace window, a frozen server's catch-up) excuse only what they should.
mod checker_catches {
    use super::checker::check;
    use super::history::{Actor, Answer, Fault, FaultKind, History, Op, Request};

    const TAB: Actor = Actor::Tab { user: 0, tab: 0 };
    /// Users 3–5 are robbed, 6–8 revoked (see `workload::group_of`).
    const ROBBED_TAB: Actor = Actor::Tab { user: 3, tab: 0 };
    const THIEF: Actor = Actor::Thief { user: 3 };
    const REVOKED_TAB: Actor = Actor::Tab { user: 6, tab: 1 };
    const OPERATOR: Actor = Actor::Operator { user: 6 };

    fn request(actor: Actor, op: Op, answer: Answer, sent_ms: f64, server: usize) -> Request {
        Request {
            actor,
            op,
            server,
            sent_ms,
            received_ms: sent_ms + 5.0,
            answer,
            dropped: false,
        }
    }

    fn ok(refresh: Option<&str>, access: Option<&str>) -> Answer {
        Answer::Ok {
            refresh: refresh.map(str::to_owned),
            access: access.map(str::to_owned),
        }
    }

    fn refresh(token: &str) -> Op {
        Op::Refresh {
            token: token.to_owned(),
        }
    }

    fn verify(token: &str) -> Op {
        Op::Verify {
            token: token.to_owned(),
        }
    }

    fn history(requests: Vec<Request>, faults: Vec<Fault>) -> History {
        History { requests, faults }
    }

    fn promises(history: &History) -> Vec<&'static str> {
        check(history).iter().map(|v| v.promise).collect()
    }

    /// The browser refreshes r0 into r1 and uses r1's access token (moving past r0); a thief's
    /// copy of r0 is then accepted within the grace window (fine) and after it (broken).
    fn robbery(replay_ms: f64) -> History {
        history(
            vec![
                request(ROBBED_TAB, Op::Create, ok(Some("r0"), Some("a0")), 0.0, 0),
                request(
                    ROBBED_TAB,
                    refresh("r0"),
                    ok(Some("r1"), Some("a1")),
                    100.0,
                    1,
                ),
                request(ROBBED_TAB, verify("a1"), ok(None, Some("a1b")), 200.0, 2),
                request(
                    THIEF,
                    refresh("r0"),
                    ok(Some("x1"), Some("ax1")),
                    replay_ms,
                    0,
                ),
            ],
            vec![],
        )
    }

    /// The browser goes on from r1 to r2 and uses r2's access token (moving past r1); a thief's
    /// copy of a1, minted with r1 and never used, commits r1 on its first use: within the grace
    /// window that is fine, after it a broken promise.
    #[test]
    fn a_late_first_use_of_a_stolen_access_token_is_reported() {
        let replay = |sent_ms| {
            let mut history = robbery(0.0);
            history.requests.truncate(3);
            history.requests.extend([
                request(
                    ROBBED_TAB,
                    refresh("r1"),
                    ok(Some("r2"), Some("a2")),
                    300.0,
                    0,
                ),
                request(ROBBED_TAB, verify("a2"), ok(None, Some("a2b")), 400.0, 1),
                request(THIEF, verify("a1"), ok(None, Some("a1c")), sent_ms, 2),
            ]);
            history
        };
        // Moved past r1 at 405 ms: accepted until 405 + 5 000 + 400 + 300 ms.
        assert!(promises(&replay(6_000.0)).is_empty());
        assert_eq!(
            promises(&replay(6_200.0)),
            ["3. a replay after the grace window is never accepted"]
        );
        // A copy of a reissued token (no parent in it) may verify until it expires.
        let mut reissued = replay(6_200.0);
        reissued.requests[5] = request(THIEF, verify("a2b"), ok(None, None), 6_200.0, 2);
        assert!(promises(&reissued).is_empty());
    }

    #[test]
    fn a_late_replay_accepted_is_reported() {
        // Grace 5 s, clocks up to 0.4 s apart, 0.3 s for the request: from 5.9 s after the
        // browser's answer at 205 ms.
        assert!(promises(&robbery(5_800.0)).is_empty());
        assert_eq!(
            promises(&robbery(6_000.0)),
            ["3. a replay after the grace window is never accepted"]
        );
    }

    #[test]
    fn an_honest_browser_told_theft_is_reported() {
        let told = |answer: &str| {
            history(
                vec![request(
                    TAB,
                    refresh("r0"),
                    Answer::Status(answer.to_owned()),
                    10.0,
                    0,
                )],
                vec![],
            )
        };
        assert!(promises(&told("TRY_REFRESH_TOKEN")).is_empty());
        for ended in ["TOKEN_THEFT_DETECTED", "UNAUTHORISED"] {
            assert_eq!(
                promises(&told(ended)),
                ["1. a live session is never told theft or unauthorised"]
            );
        }
    }

    /// A revocation acknowledged at 1 005 ms; a verification accepted by server 2 at `sent_ms`,
    /// which was frozen until `frozen_until`.
    fn revocation(sent_ms: f64, frozen_until: Option<f64>) -> History {
        history(
            vec![
                request(
                    OPERATOR,
                    Op::Revoke {
                        handle: "h".to_owned(),
                    },
                    ok(None, None),
                    1_000.0,
                    0,
                ),
                request(REVOKED_TAB, verify("a0"), ok(None, None), sent_ms, 2),
            ],
            frozen_until
                .map(|ended_ms| Fault {
                    kind: FaultKind::Freeze,
                    server: Some(2),
                    began_ms: 900.0,
                    ended_ms,
                })
                .into_iter()
                .collect(),
        )
    }

    #[test]
    fn a_revocation_not_honoured_in_time_is_reported() {
        assert!(promises(&revocation(2_000.0, None)).is_empty());
        assert_eq!(
            promises(&revocation(2_500.0, None)),
            ["4. a revocation reaches every server within a second"]
        );
        // A server frozen until 3 s has until 4.3 s to catch up.
        assert!(promises(&revocation(4_000.0, Some(3_000.0))).is_empty());
        assert_eq!(
            promises(&revocation(4_500.0, Some(3_000.0))),
            ["4. a revocation reaches every server within a second"]
        );
    }

    /// A theft's answer ends the session like a revocation: the thief's copy of the access token
    /// must stop verifying everywhere within the second.
    #[test]
    fn a_session_ended_by_theft_is_refused_everywhere() {
        let mut history = robbery(6_000.0);
        history.requests[3].answer = Answer::Status("TOKEN_THEFT_DETECTED".to_owned());
        history
            .requests
            .push(request(THIEF, verify("a1b"), ok(None, None), 7_000.0, 1));
        assert!(promises(&history).is_empty());
        history
            .requests
            .push(request(THIEF, verify("a1b"), ok(None, None), 7_400.0, 2));
        assert_eq!(
            promises(&history),
            ["4. a revocation reaches every server within a second"]
        );
    }

    #[test]
    fn an_error_other_than_503_is_reported() {
        let answered = |status| {
            history(
                vec![request(
                    TAB,
                    verify("a0"),
                    Answer::Http(status, String::new()),
                    10.0,
                    0,
                )],
                vec![],
            )
        };
        assert!(promises(&answered(503)).is_empty());
        assert_eq!(
            promises(&answered(500)),
            ["5. every answer is a CDI answer or a 503"]
        );
    }
}
