//! The admin page at `/admin`: sign in with the admin key, pick an app, find a user's sessions
//! across its tenants, revoke one or all, see its signing keys and a few live counters. Served only when `admin_key`
//! is configured; server-rendered HTML (askama templates, no JavaScript), with every form carrying
//! an anti-CSRF token and every state change refused from another site.

mod pages;
mod rates;
mod timeline;

use std::sync::Arc;

use axum::extract::{Form, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use tessera_core::{SessionError, Sessions, TheftQuery};

use crate::admin_guard::{clear_cookie, cookie_value, is_cross_site, set_cookie, AdminKey};
use pages::{Chrome, Counter, KeyRow, Page, SessionRow, TheftRow};

use crate::activity::Event;
use crate::apps::PUBLIC_APP;
use crate::state::ServerState;

/// The admin routes, for the router to merge when an admin key is configured.
pub fn routes() -> Router<ServerState> {
    Router::new()
        .route("/admin/admin.css", get(stylesheet))
        .route("/admin", get(home))
        .route("/admin/", get(home))
        .route("/admin/login", post(login))
        .route("/admin/logout", post(logout))
        .route("/admin/sessions", get(sessions))
        .route("/admin/session", get(session_page))
        .route("/admin/thefts", get(thefts))
        .route("/admin/sessions/revoke", post(revoke_session))
        .route("/admin/users/revoke", post(revoke_user))
}

/// A signed-in request: the cookie value (forms are bound to it).
struct SignedIn {
    cookie: String,
}

fn admin_key(state: &ServerState) -> Option<&Arc<AdminKey>> {
    state.admin_key.as_ref()
}

fn signed_in(state: &ServerState, headers: &HeaderMap) -> Option<SignedIn> {
    let key = admin_key(state)?;
    let cookie = cookie_value(headers)?;
    key.signed_in(&cookie, state.sessions.clock().now())
        .then_some(SignedIn { cookie })
}

/// The pages' one stylesheet (no page carries inline styles, so the policy allows only this).
async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        include_str!("../../templates/admin/admin.css"),
    )
        .into_response()
}

/// An HTML page with headers that keep it out of caches, frames and other sites' reach.
fn html(status: StatusCode, body: String, extra: Vec<(header::HeaderName, String)>) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    let fixed = [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CACHE_CONTROL, "no-store"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_FRAME_OPTIONS, "DENY"),
        // Not `no-referrer`: with it Chromium sends `Origin: null` on the page's own form posts.
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    for (name, value) in extra {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.append(name, value);
        }
    }
    response
}

fn render(status: StatusCode, page: Page) -> Response {
    match page.render() {
        Ok(body) => html(status, body, Vec::new()),
        Err(error) => {
            tracing::error!(%error, "admin page failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page failed to render",
            )
                .into_response()
        }
    }
}

fn refused(message: &'static str) -> Response {
    render(StatusCode::FORBIDDEN, Page::refused(message))
}

/// Which app a page or form is about (`?app=` / `app=`); `public` when not given.
#[derive(Deserialize)]
struct AppQuery {
    app: Option<String>,
}

/// The app a page is about: its id and engine, and every app's id for the picker.
struct SelectedApp {
    id: String,
    sessions: Sessions,
    all: Vec<String>,
}

/// Resolves the requested app; an unknown one gets a 404 page.
async fn select_app(state: &ServerState, app: Option<&str>) -> Result<SelectedApp, Response> {
    let id = app
        .map(str::trim)
        .filter(|app| !app.is_empty())
        .unwrap_or(PUBLIC_APP)
        .to_ascii_lowercase();
    let sessions = match state.apps.engine(&id).await {
        Ok(Some(sessions)) => sessions,
        Ok(None) => return Err(render(StatusCode::NOT_FOUND, Page::refused("no such app"))),
        Err(error) => return Err(engine_failure(&error)),
    };
    let all = match state.apps.list().await {
        Ok(apps) => apps.into_iter().map(|app| app.app_id).collect(),
        Err(error) => return Err(engine_failure(&error)),
    };
    Ok(SelectedApp { id, sessions, all })
}

/// What a signed-in page needs: the sign-in and the app it shows. Not signed in: back to the
/// sign-in form; an unknown app: its 404 page.
async fn viewing(
    state: &ServerState,
    headers: &HeaderMap,
    app: Option<&str>,
) -> Result<(SignedIn, SelectedApp), Response> {
    let Some(session) = signed_in(state, headers) else {
        return Err(Redirect::to("/admin").into_response());
    };
    Ok((session, select_app(state, app).await?))
}

/// `GET /admin[?app=ID]`: the sign-in form, or the dashboard of an app.
async fn home(
    State(state): State<ServerState>,
    headers: HeaderMap,
    Query(query): Query<AppQuery>,
) -> Response {
    let Some(session) = signed_in(&state, &headers) else {
        return render(StatusCode::OK, Page::login(None));
    };
    match select_app(&state, query.app.as_deref()).await {
        Ok(app) => dashboard(&state, &session, &app, None).await,
        Err(response) => response,
    }
}

async fn dashboard(
    state: &ServerState,
    session: &SignedIn,
    app: &SelectedApp,
    notice: Option<String>,
) -> Response {
    let keys = match app.sessions.signing_keys().await {
        Ok(keys) => keys.into_iter().map(KeyRow::from).collect(),
        Err(error) => return engine_failure(&error),
    };
    let thefts = match theft_rows(&app.sessions, None, None, RECENT_THEFTS).await {
        Ok(thefts) => thefts,
        Err(error) => return engine_failure(&error),
    };
    render(
        StatusCode::OK,
        Page::dashboard(
            chrome(state, session, app),
            keys,
            counters(state, app),
            rate_charts(state, app),
            thefts,
            notice,
        ),
    )
}

/// How many theft reports the dashboard shows; the thefts page shows up to [`THEFTS_LISTED`].
const RECENT_THEFTS: u32 = 5;
const THEFTS_LISTED: u32 = 200;

async fn theft_rows(
    sessions: &Sessions,
    user: Option<&str>,
    handle: Option<&str>,
    limit: u32,
) -> Result<Vec<TheftRow>, SessionError> {
    let query = TheftQuery {
        user_id: user.map(str::to_owned),
        session_handle: handle.map(str::to_owned),
        before_id: None,
        limit,
    };
    Ok(sessions
        .theft_reports(&query)
        .await?
        .iter()
        .map(TheftRow::from)
        .collect())
}

#[derive(Deserialize)]
struct TheftsQuery {
    app: Option<String>,
    user: Option<String>,
}

/// `GET /admin/thefts?app=ID[&user=ID]`: the app's recorded thefts, newest first.
async fn thefts(
    State(state): State<ServerState>,
    headers: HeaderMap,
    Query(query): Query<TheftsQuery>,
) -> Response {
    let (session, app) = match viewing(&state, &headers, query.app.as_deref()).await {
        Ok(viewing) => viewing,
        Err(response) => return response,
    };
    let user = query
        .user
        .map(|user| user.trim().to_owned())
        .filter(|user| !user.is_empty());
    match theft_rows(&app.sessions, user.as_deref(), None, THEFTS_LISTED).await {
        Ok(rows) => render(
            StatusCode::OK,
            Page::thefts(chrome(&state, &session, &app), user, rows),
        ),
        Err(error) => engine_failure(&error),
    }
}

#[derive(Deserialize)]
struct SessionQuery {
    app: Option<String>,
    handle: String,
}

/// `GET /admin/session?app=ID&handle=H`: one session's timeline while it lives, and the
/// timelines kept with its theft reports after it was revoked.
async fn session_page(
    State(state): State<ServerState>,
    headers: HeaderMap,
    Query(query): Query<SessionQuery>,
) -> Response {
    let (session, app) = match viewing(&state, &headers, query.app.as_deref()).await {
        Ok(viewing) => viewing,
        Err(response) => return response,
    };
    let handle = query.handle.trim().to_owned();
    let live = match live_picture(&app.sessions, &handle).await {
        Ok(live) => live,
        Err(error) => return engine_failure(&error),
    };
    let thefts = match theft_rows(&app.sessions, None, Some(&handle), THEFTS_LISTED).await {
        Ok(thefts) => thefts,
        Err(error) => return engine_failure(&error),
    };
    let status = if live.is_none() && thefts.is_empty() {
        StatusCode::NOT_FOUND
    } else {
        StatusCode::OK
    };
    render(
        status,
        Page::session(chrome(&state, &session, &app), handle, live, thefts),
    )
}

/// A live session's row and timeline; `None` when it is not live.
async fn live_picture(
    sessions: &Sessions,
    handle: &str,
) -> Result<Option<(SessionRow, String)>, SessionError> {
    let info = match sessions.get_session_info(handle).await {
        Ok(info) => info,
        Err(SessionError::Unauthorised { .. }) => return Ok(None),
        Err(error) => return Err(error),
    };
    let tokens = match sessions.session_tokens(handle).await {
        Ok(tokens) => tokens,
        Err(SessionError::Unauthorised { .. }) => return Ok(None),
        Err(error) => return Err(error),
    };
    let validity = sessions.config().refresh_token_validity;
    let picture = crate::picture::SessionPicture::live(&tokens, sessions.clock().now_micros());
    let svg = timeline::svg(&picture, &format!("Refresh tokens of session {handle}"));
    Ok(Some((SessionRow::new(info, validity), svg)))
}

/// What every signed-in page shows: the anti-CSRF token of its forms and the app picker.
fn chrome(state: &ServerState, session: &SignedIn, app: &SelectedApp) -> Chrome {
    Chrome {
        csrf: form_token(state, session),
        app: app.id.clone(),
        apps: app.all.clone(),
    }
}

fn form_token(state: &ServerState, session: &SignedIn) -> String {
    admin_key(state).map_or_else(String::new, |key| key.form_token(&session.cookie))
}

/// The app's counts since this server started (from its activity log), the server's open
/// connections, and the app's revocations held in memory.
fn counters(state: &ServerState, app: &SelectedApp) -> Vec<Counter> {
    let activity = state.activity.app(&app.id);
    let mut counters: Vec<Counter> = Event::ALL
        .iter()
        .zip(activity.totals)
        .map(|(event, total)| Counter::new(event.name(), total as f64))
        .collect();
    if let Some(handle) = &state.metrics {
        let text = handle.render();
        let open: f64 = text
            .lines()
            .filter_map(|line| line.strip_prefix("tessera_open_connections "))
            .filter_map(|value| value.trim().parse::<f64>().ok())
            // Not `sum()`: a float sum of nothing is -0.0, which the page showed as "-0".
            .fold(0.0, |total, value| total + value);
        counters.push(Counter::new("open connections (whole server)", open));
    }
    counters.push(Counter::new(
        "revoked sessions held in memory",
        app.sessions.revocation_status().revoked_sessions as f64,
    ));
    counters
}

/// The app's events per minute over the last hour, one chart per kind.
fn rate_charts(state: &ServerState, app: &SelectedApp) -> Vec<rates::RateChart> {
    let activity = state.activity.app(&app.id);
    Event::ALL
        .iter()
        .zip(activity.per_minute.iter())
        .map(|(event, minutes)| rates::chart(event.name(), minutes))
        .collect()
}

#[derive(Deserialize)]
struct LoginForm {
    key: String,
}

/// `POST /admin/login`: a right key signs in (and redirects to the dashboard); a wrong one gets
/// the form again with 401.
async fn login(
    State(state): State<ServerState>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    if is_cross_site(&headers) {
        return refused("cross-site request refused");
    }
    let Some(key) = admin_key(&state) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if !key.matches(&form.key) {
        metrics::counter!("tessera_admin_sign_in_failures_total").increment(1);
        tracing::warn!("admin sign-in with a wrong key");
        return render(
            StatusCode::UNAUTHORIZED,
            Page::login(Some("wrong admin key")),
        );
    }
    home_setting_cookie(&set_cookie(&key.sign_in(state.sessions.clock().now())))
}

/// A redirect to the dashboard that sets (or clears) the sign-in cookie.
fn home_setting_cookie(set_cookie: &str) -> Response {
    let mut response = Redirect::to("/admin").into_response();
    if let Ok(value) = HeaderValue::from_str(set_cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

#[derive(Deserialize)]
struct TokenForm {
    csrf: String,
}

/// `POST /admin/logout`.
async fn logout(
    State(state): State<ServerState>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Response {
    if let Err(reason) = check_form(&state, &headers, &form.csrf) {
        return refused(reason);
    }
    home_setting_cookie(&clear_cookie())
}

/// A state-changing form: same site, signed in, and carrying this sign-in's anti-CSRF token.
/// The error is the reason, for a 403 page.
fn check_form(
    state: &ServerState,
    headers: &HeaderMap,
    token: &str,
) -> Result<SignedIn, &'static str> {
    if is_cross_site(headers) {
        return Err("cross-site request refused");
    }
    let Some(session) = signed_in(state, headers) else {
        return Err("sign in first");
    };
    let valid = admin_key(state).is_some_and(|key| key.form_token_matches(&session.cookie, token));
    if !valid {
        return Err("the form's anti-CSRF token is missing or wrong");
    }
    Ok(session)
}

#[derive(Deserialize)]
struct SessionsQuery {
    app: Option<String>,
    user: Option<String>,
    revoked: Option<usize>,
}

/// `GET /admin/sessions?app=ID&user=ID`: a user's live sessions in every tenant of an app.
async fn sessions(
    State(state): State<ServerState>,
    headers: HeaderMap,
    Query(query): Query<SessionsQuery>,
) -> Response {
    let (session, app) = match viewing(&state, &headers, query.app.as_deref()).await {
        Ok(viewing) => viewing,
        Err(response) => return response,
    };
    let user = query.user.unwrap_or_default().trim().to_owned();
    if user.is_empty() {
        return dashboard(&state, &session, &app, Some("enter a user id".to_owned())).await;
    }
    let rows = match user_sessions(&app.sessions, &user).await {
        Ok(rows) => rows,
        Err(error) => return engine_failure(&error),
    };
    let notice = query.revoked.map(|n| match n {
        1 => "revoked 1 session".to_owned(),
        n => format!("revoked {n} sessions"),
    });
    render(
        StatusCode::OK,
        Page::sessions(chrome(&state, &session, &app), user, rows, notice),
    )
}

async fn user_sessions(sessions: &Sessions, user: &str) -> Result<Vec<SessionRow>, SessionError> {
    let validity = sessions.config().refresh_token_validity;
    Ok(sessions
        .get_all_sessions_for_user(user, None)
        .await?
        .into_iter()
        .map(|info| SessionRow::new(info, validity))
        .collect())
}

#[derive(Deserialize)]
struct RevokeForm {
    csrf: String,
    app: Option<String>,
    user: String,
    /// One session; none revokes every session of the user in the app.
    handle: Option<String>,
}

/// `POST /admin/sessions/revoke`: one session.
async fn revoke_session(
    State(state): State<ServerState>,
    headers: HeaderMap,
    Form(form): Form<RevokeForm>,
) -> Response {
    let Some(handle) = form.handle.as_deref() else {
        return render(StatusCode::BAD_REQUEST, Page::refused("no session named"));
    };
    revoke(&state, &headers, &form, |sessions| async move {
        let revoked = sessions.revoke_session(handle).await?;
        tracing::info!(handle, "session revoked from the admin page");
        Ok(usize::from(revoked))
    })
    .await
}

/// `POST /admin/users/revoke`: every session of a user, in every tenant of the app.
async fn revoke_user(
    State(state): State<ServerState>,
    headers: HeaderMap,
    Form(form): Form<RevokeForm>,
) -> Response {
    let user = form.user.as_str();
    revoke(&state, &headers, &form, |sessions| async move {
        let revoked = sessions.revoke_all_sessions_for_user(user, None).await?;
        tracing::info!(
            user,
            count = revoked.len(),
            "user's sessions revoked from the admin page"
        );
        Ok(revoked.len())
    })
    .await
}

/// Checks a revocation form, revokes through the app's engine, and goes back to the user's
/// sessions.
async fn revoke<F, Fut>(
    state: &ServerState,
    headers: &HeaderMap,
    form: &RevokeForm,
    run: F,
) -> Response
where
    F: FnOnce(Sessions) -> Fut,
    Fut: std::future::Future<Output = Result<usize, SessionError>>,
{
    if let Err(reason) = check_form(state, headers, &form.csrf) {
        return refused(reason);
    }
    let app = match select_app(state, form.app.as_deref()).await {
        Ok(app) => app,
        Err(response) => return response,
    };
    match run(app.sessions).await {
        Ok(revoked) => back_to_user(&app.id, &form.user, revoked),
        Err(error) => engine_failure(&error),
    }
}

/// After a revocation: the user's sessions again (a redirect, so a reload does not resubmit).
fn back_to_user(app: &str, user: &str, revoked: usize) -> Response {
    let query = serde_urlencoded::to_string([
        ("app", app),
        ("user", user),
        ("revoked", &revoked.to_string()),
    ])
    .unwrap_or_default();
    Redirect::to(&format!("/admin/sessions?{query}")).into_response()
}

fn engine_failure(error: &SessionError) -> Response {
    tracing::warn!(%error, "admin page request failed");
    render(
        StatusCode::SERVICE_UNAVAILABLE,
        Page::refused("the session store could not be reached; try again"),
    )
}
