//! The run: three `tessera serve` processes over one database, their clocks apart by up to
//! [`MAX_SKEW`] either way; browsers whose tabs share a jar
//! and lose responses; thieves replaying copies of jars taken at random moments; an operator
//! revoking sessions through random servers; and faults: `kill -9` and restart of a server,
//! SIGSTOP/SIGCONT of one, a crash and restart of the database, and on the wire between servers
//! and database (a proxy, [`Wire`]) added latency and every connection reset at once. Every request goes to a server
//! chosen at random, as a load balancer would spread them, with a timeout, as it would give up.
//! Every choice comes from the run's seed; the threads' interleaving does not.

use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use tessera_testkit::Server;

use super::cluster::OwnDatabase;
use super::history::{Actor, Answer, Fault, FaultKind, Op, Recorder, Request};
use super::wire::Wire;

/// How long a client waits for an answer before it counts the request as unanswered.
pub const REQUEST_TIMEOUT: Duration = Duration::from_millis(1500);

/// The grace window the servers run with: longer than the longest freeze plus a request's
/// timeout, so that a request held by a frozen server is still within it when it is served.
pub const GRACE: Duration = Duration::from_secs(5);

/// The longest freeze of a server.
pub const LONGEST_FREEZE: Duration = Duration::from_millis(2500);

/// How far a server's clock may be from the true time, either way: each server runs with an
/// offset drawn from ±this (two servers may disagree by twice it).
pub const MAX_SKEW: Duration = Duration::from_millis(200);

const SERVERS: usize = 3;
const TABS: usize = 2;
/// Users in each group: honest only, robbed by a thief, revoked by the operator.
const USERS_PER_GROUP: usize = 3;
/// The share of answers a browser never sees.
const LOST_ANSWERS: f64 = 0.05;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Honest,
    Robbed,
    Revoked,
}

pub fn group_of(user: usize) -> Group {
    match user / USERS_PER_GROUP {
        0 => Group::Honest,
        1 => Group::Robbed,
        _ => Group::Revoked,
    }
}

pub const USERS: usize = 3 * USERS_PER_GROUP;

/// A browser's cookies, shared by its tabs.
#[derive(Debug, Clone, Default)]
struct Jar {
    refresh: String,
    access: String,
    handle: String,
    /// Told the session is over: the tabs stop.
    ended: bool,
}

/// Where requests go: each server's current URL (a restarted server listens on a new port).
#[derive(Clone)]
struct Balancer {
    urls: Arc<RwLock<Vec<String>>>,
    http: reqwest::Client,
}

impl Balancer {
    async fn send(&self, server: usize, path: &str, body: Value) -> Answer {
        let url = self.urls.read().unwrap()[server].clone();
        let response = self
            .http
            .post(format!("{url}{path}"))
            .header("cdi-version", "5.4")
            .header("rid", "session")
            .json(&body)
            .send()
            .await;
        let response = match response {
            Ok(response) => response,
            Err(error) => return Answer::None(kind_of(&error)),
        };
        let status = response.status().as_u16();
        let text = match response.text().await {
            Ok(text) => text,
            Err(error) => return Answer::None(kind_of(&error)),
        };
        if status != 200 {
            return Answer::Http(status, text.chars().take(200).collect());
        }
        let Ok(body) = serde_json::from_str::<Value>(&text) else {
            return Answer::Http(status, format!("not JSON: {text}"));
        };
        match body["status"].as_str() {
            Some("OK") => Answer::Ok {
                refresh: body["refreshToken"]["token"].as_str().map(str::to_owned),
                access: body["accessToken"]["token"].as_str().map(str::to_owned),
            },
            Some(other) => Answer::Status(other.to_owned()),
            None => Answer::Http(status, format!("no status: {text}")),
        }
    }
}

fn kind_of(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "timeout".to_owned()
    } else if error.is_connect() {
        "connect".to_owned()
    } else {
        "reset".to_owned()
    }
}

fn path_and_body(op: &Op, user: usize) -> (&'static str, Value) {
    match op {
        Op::Create => (
            "/recipe/session",
            json!({"userId": format!("user-{user}"), "userDataInJWT": {}, "userDataInDatabase": {},
                   "enableAntiCsrf": false}),
        ),
        Op::Refresh { token } => (
            "/recipe/session/refresh",
            json!({"refreshToken": token, "enableAntiCsrf": false}),
        ),
        Op::Verify { token } => (
            "/recipe/session/verify",
            json!({"accessToken": token, "doAntiCsrfCheck": false, "enableAntiCsrf": false,
                   "checkDatabase": false}),
        ),
        Op::Revoke { handle } => (
            "/recipe/session/remove",
            json!({"sessionHandles": [handle]}),
        ),
        Op::RevokeUser => (
            "/recipe/session/remove",
            json!({"userId": format!("user-{user}")}),
        ),
    }
}

/// Sends one request to a random server and records it.
async fn exchange(
    balancer: &Balancer,
    recorder: &Recorder,
    rng: &mut StdRng,
    actor: Actor,
    op: Op,
    user: usize,
) -> (Answer, bool) {
    let server = rng.random_range(0..SERVERS);
    let dropped = matches!(actor, Actor::Tab { .. }) && rng.random_bool(LOST_ANSWERS);
    let (path, body) = path_and_body(&op, user);
    let sent_ms = recorder.now_ms();
    let answer = balancer.send(server, path, body).await;
    let received_ms = recorder.now_ms();
    recorder.request(Request {
        actor,
        op,
        server,
        sent_ms,
        received_ms,
        answer: answer.clone(),
        dropped,
    });
    (answer, dropped)
}

pub struct Run {
    pub seconds: u64,
    pub seed: u64,
}

impl Run {
    /// Starts the servers, runs the load and the faults for `seconds`, and hands back the
    /// history.
    pub async fn execute(&self, database: Arc<dyn OwnDatabase>) -> Recorder {
        let wire = Arc::new(Wire::start(format!("127.0.0.1:{}", database.port())).await);
        let yaml = format!(
            "database_url: {}\nrefresh_token_rotation_grace_period: {}\naccess_token_validity: 10\n\
             database_pool_size: 8\nrevocation_poll_interval_ms: 250\n",
            database.url_on(wire.port),
            GRACE.as_secs()
        );
        let mut skew_rng = StdRng::seed_from_u64(self.seed.rotate_left(17));
        let mut servers = Vec::new();
        for _ in 0..SERVERS {
            let skew = MAX_SKEW.as_millis() as i64;
            let offset = format!(
                "--test-clock-offset-ms={}",
                skew_rng.random_range(-skew..=skew)
            );
            servers.push(Server::start_full(&yaml, None, "warn", &[&offset]).await);
        }
        let balancer = Balancer {
            urls: Arc::new(RwLock::new(servers.iter().map(|s| s.url.clone()).collect())),
            http: reqwest::Client::builder()
                .timeout(REQUEST_TIMEOUT)
                .pool_max_idle_per_host(0)
                .build()
                .unwrap(),
        };
        let recorder = Recorder::new();
        let deadline = recorder.now_ms() + self.seconds as f64 * 1000.0;
        let jars: Vec<Arc<Mutex<Jar>>> = (0..USERS).map(|_| Arc::default()).collect();

        let mut tasks = Vec::new();
        for (user, jar) in jars.iter().enumerate() {
            let mut rng = StdRng::seed_from_u64(self.seed ^ ((user as u64 + 1) * 0x9E37_79B9));
            sign_in(&balancer, &recorder, &mut rng, user, jar).await;
            for tab in 0..TABS {
                let rng = StdRng::seed_from_u64(rng.random());
                tasks.push(tokio::spawn(browse(
                    balancer.clone(),
                    recorder.clone(),
                    rng,
                    Actor::Tab { user, tab },
                    Arc::clone(jar),
                    deadline,
                )));
            }
            let rng = StdRng::seed_from_u64(rng.random());
            match group_of(user) {
                Group::Honest => {}
                Group::Robbed => tasks.push(tokio::spawn(steal(
                    balancer.clone(),
                    recorder.clone(),
                    rng,
                    user,
                    Arc::clone(jar),
                    deadline,
                ))),
                Group::Revoked => tasks.push(tokio::spawn(revoke(
                    balancer.clone(),
                    recorder.clone(),
                    rng,
                    user,
                    Arc::clone(jar),
                    deadline,
                ))),
            }
        }
        let faults = inject_faults(
            servers,
            database,
            Arc::clone(&wire),
            balancer.clone(),
            recorder.clone(),
            StdRng::seed_from_u64(self.seed),
            deadline,
        );
        let servers = faults.await;
        for task in tasks {
            task.await.unwrap();
        }
        drop(servers);
        recorder
    }
}

async fn sign_in(
    balancer: &Balancer,
    recorder: &Recorder,
    rng: &mut StdRng,
    user: usize,
    jar: &Mutex<Jar>,
) {
    for _ in 0..20 {
        let (answer, _) = exchange(
            balancer,
            recorder,
            rng,
            Actor::Tab { user, tab: 0 },
            Op::Create,
            user,
        )
        .await;
        if let Answer::Ok {
            refresh: Some(refresh),
            access: Some(access),
        } = answer
        {
            let handle = handle_of(&access);
            *jar.lock().unwrap() = Jar {
                refresh,
                access,
                handle,
                ended: false,
            };
            return;
        }
    }
    panic!("user {user} could not sign in");
}

/// The session handle in an access token's claims.
fn handle_of(access: &str) -> String {
    use base64::Engine;
    let claims = access.split('.').nth(1).unwrap_or_default();
    let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(claims)
        .unwrap_or_default();
    let claims: Value = serde_json::from_slice(&claims).unwrap_or_default();
    claims["sessionHandle"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// A tab: calls the API (verifying the jar's access token, as the app's back end would) and
/// refreshes when told to or when it feels like it, writing what it receives to the shared jar;
/// once signed out, only calls the API.
async fn browse(
    balancer: Balancer,
    recorder: Recorder,
    mut rng: StdRng,
    actor: Actor,
    jar: Arc<Mutex<Jar>>,
    deadline: f64,
) {
    let Actor::Tab { user, .. } = actor else {
        return;
    };
    let mut must_refresh = false;
    while recorder.now_ms() < deadline {
        let current = jar.lock().unwrap().clone();
        // Signed out, the tab keeps calling with its last access token, as other copies of it
        // (another window, a mobile client) would: every server must refuse it.
        let refresh = !current.ended && (must_refresh || rng.random_bool(0.25));
        let op = if refresh {
            Op::Refresh {
                token: current.refresh.clone(),
            }
        } else {
            Op::Verify {
                token: current.access.clone(),
            }
        };
        let (answer, dropped) = exchange(&balancer, &recorder, &mut rng, actor, op, user).await;
        must_refresh = false;
        if !dropped {
            let mut jar = jar.lock().unwrap();
            match answer {
                Answer::Ok { refresh, access } => {
                    if let Some(refresh) = refresh {
                        jar.refresh = refresh;
                    }
                    if let Some(access) = access {
                        jar.access = access;
                    }
                }
                Answer::Status(status) if status == "TRY_REFRESH_TOKEN" => must_refresh = true,
                Answer::Status(_) => jar.ended = true,
                Answer::Http(..) | Answer::None(_) => {}
            }
        }
        tokio::time::sleep(Duration::from_millis(rng.random_range(10..120))).await;
    }
}

/// A thief: copies the jar now and then and later replays one of its copies: its refresh token,
/// or its access token (which, fresh from a refresh, would commit that refresh token on first
/// use).
async fn steal(
    balancer: Balancer,
    recorder: Recorder,
    mut rng: StdRng,
    user: usize,
    jar: Arc<Mutex<Jar>>,
    deadline: f64,
) {
    let mut bag: Vec<(f64, Jar)> = Vec::new();
    while recorder.now_ms() < deadline {
        tokio::time::sleep(Duration::from_millis(rng.random_range(200..1500))).await;
        let now = recorder.now_ms();
        if rng.random_bool(0.6) {
            let copy = jar.lock().unwrap().clone();
            bag.push((now, copy));
            continue;
        }
        let old: Vec<&(f64, Jar)> = bag.iter().filter(|(at, _)| now - at > 500.0).collect();
        if old.is_empty() {
            continue;
        }
        let copy = old[rng.random_range(0..old.len())].1.clone();
        let op = if rng.random_bool(0.5) {
            Op::Refresh {
                token: copy.refresh,
            }
        } else {
            Op::Verify { token: copy.access }
        };
        let (answer, _) = exchange(
            &balancer,
            &recorder,
            &mut rng,
            Actor::Thief { user },
            op,
            user,
        )
        .await;
        if let Answer::Ok {
            refresh: Some(refresh),
            access: Some(access),
        } = answer
        {
            bag.push((
                recorder.now_ms(),
                Jar {
                    refresh,
                    access,
                    ..copy
                },
            ));
        }
    }
}

/// An operator: revokes the user's session once (by its handle, or every session of the user),
/// at a random moment, through a random server, again until a server acknowledges it.
async fn revoke(
    balancer: Balancer,
    recorder: Recorder,
    mut rng: StdRng,
    user: usize,
    jar: Arc<Mutex<Jar>>,
    deadline: f64,
) {
    let start = recorder.now_ms();
    let at = start + (deadline - start) * rng.random_range(0.2..0.7);
    while recorder.now_ms() < at {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let handle = jar.lock().unwrap().handle.clone();
    let op = if rng.random_bool(0.5) {
        Op::Revoke { handle }
    } else {
        Op::RevokeUser
    };
    while recorder.now_ms() < deadline {
        let (answer, _) = exchange(
            &balancer,
            &recorder,
            &mut rng,
            Actor::Operator { user },
            op.clone(),
            user,
        )
        .await;
        if matches!(answer, Answer::Ok { .. }) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// One fault at a time, each a few seconds after the last ended, until shortly before the end;
/// hands the servers back running.
async fn inject_faults(
    mut servers: Vec<Server>,
    database: Arc<dyn OwnDatabase>,
    wire: Arc<Wire>,
    balancer: Balancer,
    recorder: Recorder,
    mut rng: StdRng,
    deadline: f64,
) -> Vec<Server> {
    // Where the database has a standby, it takes over once, a third to two thirds into the run.
    let start = recorder.now_ms();
    let mut failover_at = Some(start + (deadline - start) * rng.random_range(0.3..0.7));
    loop {
        tokio::time::sleep(Duration::from_millis(rng.random_range(1500..4000))).await;
        if recorder.now_ms() > deadline - 6000.0 {
            return servers;
        }
        let began_ms = recorder.now_ms();
        if failover_at.is_some_and(|at| began_ms >= at) {
            failover_at = None;
            let promote = Arc::clone(&database);
            let promoted = tokio::task::spawn_blocking(move || promote.fail_over())
                .await
                .unwrap()
                .unwrap();
            if let Some(port) = promoted {
                wire.retarget(format!("127.0.0.1:{port}"));
                wire.cut();
                recorder.fault(Fault {
                    kind: FaultKind::Failover,
                    server: None,
                    began_ms,
                    ended_ms: recorder.now_ms(),
                });
                continue;
            }
        }
        let (kind, server) = match rng.random_range(0..5) {
            0 => {
                let server = rng.random_range(0..SERVERS);
                servers[server].kill();
                tokio::time::sleep(Duration::from_millis(rng.random_range(100..1500))).await;
                servers[server].restart().await;
                balancer.urls.write().unwrap()[server] = servers[server].url.clone();
                (FaultKind::KillRestart, Some(server))
            }
            1 => {
                let server = rng.random_range(0..SERVERS);
                let pid = servers[server].child.id().to_string();
                signal("-STOP", &pid);
                let longest = LONGEST_FREEZE.as_millis() as u64;
                tokio::time::sleep(Duration::from_millis(rng.random_range(200..longest))).await;
                signal("-CONT", &pid);
                (FaultKind::Freeze, Some(server))
            }
            2 => {
                wire.set_latency(Duration::from_millis(rng.random_range(20..250)));
                tokio::time::sleep(Duration::from_millis(rng.random_range(500..3000))).await;
                wire.set_latency(Duration::ZERO);
                (FaultKind::Latency, None)
            }
            3 => {
                wire.cut();
                (FaultKind::Reset, None)
            }
            _ => {
                let down_for = Duration::from_millis(rng.random_range(100..1500));
                let database = Arc::clone(&database);
                tokio::task::spawn_blocking(move || {
                    database.crash().unwrap();
                    std::thread::sleep(down_for);
                    database.start_server().unwrap();
                })
                .await
                .unwrap();
                (FaultKind::DatabaseRestart, None)
            }
        };
        recorder.fault(Fault {
            kind,
            server,
            began_ms,
            ended_ms: recorder.now_ms(),
        });
    }
}

fn signal(which: &str, pid: &str) {
    let status = std::process::Command::new("kill")
        .args([which, pid])
        .status()
        .unwrap();
    assert!(status.success(), "kill {which} {pid}");
}
