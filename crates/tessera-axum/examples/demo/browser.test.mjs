// Browser tests: the demo app driven in Debian's Chromium by playwright-core, with the unmodified
// SuperTokens frontend SDK doing every refresh. Run by browser-tests.sh, which builds the demo
// and passes DEMO_BIN and SCREENSHOT_DIR, once per back end (BACKEND=local, BACKEND=remote with
// TESSERA_BIN).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, readdirSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { CHROMIUM_FLAGS, startListening as start, startTesseraFor } from "./processes.mjs";

const DEMO_BIN = process.env.DEMO_BIN;
const SCREENSHOT_DIR = process.env.SCREENSHOT_DIR;
// "local": the demo's embedded engine; "remote": a `tessera` server (TESSERA_BIN) behind it.
const BACKEND = process.env.BACKEND ?? "local";
const TESSERA_BIN = process.env.TESSERA_BIN;
const ACCESS_TOKEN_SECONDS = 2;
const GRACE_SECONDS = 1;
const PASSWORD = "tessera-demo";
const ADMIN_KEY = "demo-browser-admin-key-0123";

assert.ok(DEMO_BIN, "DEMO_BIN must name the built demo binary");
assert.ok(SCREENSHOT_DIR, "SCREENSHOT_DIR must name where screenshots go");
assert.ok(["local", "remote"].includes(BACKEND), `BACKEND=${BACKEND}`);
assert.ok(BACKEND === "local" || TESSERA_BIN, "BACKEND=remote needs TESSERA_BIN");
mkdirSync(SCREENSHOT_DIR, { recursive: true });

let browser;
const started = [];
const startListening = (bin, args, env, dir) => start(bin, args, env, dir, started);

before(async () => {
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_FLAGS });
});

after(async () => {
  await browser?.close();
  for (const program of started) program.stop();
});

/** Starts the demo on a free port, over its own SQLite file or (BACKEND=remote) its own
 * `tessera` server, with 2 s access tokens and a 1 s grace window (unless `grace` says). */
async function startDemo(extraEnv = {}, { grace = GRACE_SECONDS } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "tessera-demo-"));
  const env = { PORT: "0", ...extraEnv };
  if (BACKEND === "remote") {
    Object.assign(
      env,
      await startTesseraFor(
        TESSERA_BIN,
        dir,
        {
          TESSERA_ACCESS_TOKEN_VALIDITY: String(ACCESS_TOKEN_SECONDS),
          TESSERA_REFRESH_TOKEN_ROTATION_GRACE_PERIOD: String(grace),
          TESSERA_ADMIN_KEY: ADMIN_KEY,
        },
        started,
      ),
    );
  } else {
    env.DATABASE = join(dir, "demo.db");
    env.ACCESS_TOKEN_VALIDITY = String(ACCESS_TOKEN_SECONDS);
    env.REFRESH_GRACE_PERIOD = String(grace);
  }
  const demo = await startListening(DEMO_BIN, [], env, dir);
  // The tessera server behind a remote demo, whose admin page operators open.
  demo.tessera = env.TESSERA_URL;
  return demo;
}

/** The admin page of the tessera server behind a remote demo, signed in. */
async function adminPage(tesseraUrl) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${tesseraUrl}/admin`);
  await page.fill("#key", ADMIN_KEY);
  await Promise.all([page.waitForURL(`${tesseraUrl}/admin`), page.click("button[type=submit]")]);
  return { context, page };
}

/** Every request and response of a browser context, for counting refreshes and statuses. */
function recordTraffic(context) {
  const traffic = [];
  context.on("response", (response) => {
    const url = new URL(response.url());
    traffic.push({
      origin: url.origin,
      path: url.pathname,
      method: response.request().method(),
      status: response.status(),
      headers: response.request().headers(),
    });
  });
  let from = 0;
  const seen = () => traffic.slice(from);
  return {
    // Forget what came before (a fresh page's refresh probe, say).
    reset: () => {
      from = traffic.length;
    },
    to: (path) => seen().filter((t) => t.path === path),
    refreshes: () => seen().filter((t) => t.path === "/auth/session/refresh"),
  };
}

async function openPage(context, url) {
  const page = await context.newPage();
  await page.goto(url);
  await page.evaluate(() => window.demo.ready);
  return page;
}

/** A port nothing listens on now, for a demo whose origin must be known before it starts. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Waits until the access token expiring at `expiry` (ms, the server's clock, which is this
 * machine's) has expired; the JWT's `exp` is in whole seconds, never later than `expiry`. */
async function untilExpired(expiry) {
  const wait = expiry + 50 - Date.now();
  if (wait > 0) await sleep(wait);
}

/** The access-token expiry (ms) the server announced in a response's front-token header. */
function announcedExpiry(result) {
  assert.ok(result.frontToken, "the response carries a front-token");
  const front = JSON.parse(Buffer.from(result.frontToken, "base64").toString("utf8"));
  assert.ok(front.ate > Date.now() - 5000 && front.ate <= Date.now() + ACCESS_TOKEN_SECONDS * 1000);
  return front.ate;
}

/** Signs in and returns the access token's expiry (ms); traffic recorded before (the page's
 * first-visit refresh probe) is forgotten. */
async function login(page, username, traffic) {
  // The JWT's `exp` is in whole seconds, rounded down: a token minted late in a second lives
  // barely more than one. Minting early in a second gives the 2 s token nearly all of its life,
  // so "the call right after login succeeds" holds on a slow machine too.
  await sleep(1020 - (Date.now() % 1000));
  traffic?.reset();
  const result = await page.evaluate(([u, p]) => window.demo.login(u, p), [username, PASSWORD]);
  assert.equal(result.status, 200);
  assert.equal(result.body.status, "OK");
  return announcedExpiry(result);
}

/** A demo started with `env`, a fresh browser context with its traffic recorded, one page at
 * `path` (`/?transfer=header` for header mode), signed in as `username`. */
async function signedIn(username, { env = {}, path = "/", grace } = {}) {
  const demo = await startDemo(env, { grace });
  const context = await browser.newContext();
  const traffic = recordTraffic(context);
  const page = await openPage(context, demo.url + path);
  const expiry = await login(page, username, traffic);
  return { demo, context, traffic, page, expiry };
}

const feed = (page) => page.evaluate(() => window.demo.feed());
const events = (page) => page.evaluate(() => [...window.demo.events]);

async function screenshot(page, name) {
  await page.evaluate(() => window.demo?.refreshStatus?.());
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}

async function sessionCookies(context) {
  const names = (await context.cookies()).map((c) => c.name);
  return names.filter((n) => n === "sAccessToken" || n === "sRefreshToken").sort();
}

test("1. log in; the protected call succeeds", async () => {
  const { context, traffic, page } = await signedIn("alice");
  assert.deepEqual(await sessionCookies(context), ["sAccessToken", "sRefreshToken"]);
  const refreshCookie = (await context.cookies()).find((c) => c.name === "sRefreshToken");
  assert.equal(refreshCookie.path, "/auth/session/refresh");
  assert.equal(refreshCookie.httpOnly, true);

  const result = await feed(page);
  assert.equal(result.status, 200);
  assert.equal(result.body.userId, "alice");
  assert.deepEqual(traffic.to("/api/feed").map((t) => t.status), [200]);
  assert.equal(await page.textContent("#status"), "Signed in as alice");
  await screenshot(page, "1-logged-in-feed");
  await context.close();
});

test("2. after expiry the next call succeeds with exactly one refresh, done by the SDK", async () => {
  const { context, traffic, page, expiry } = await signedIn("bob");
  assert.equal((await feed(page)).status, 200);

  await untilExpired(expiry);
  const result = await feed(page);
  assert.equal(result.status, 200);
  assert.equal(result.body.userId, "bob");
  const refreshes = traffic.refreshes();
  assert.deepEqual(refreshes.map((t) => t.status), [200], "exactly one refresh, which succeeded");
  // The expired call was answered "try refresh", then retried by the SDK with the new token.
  assert.deepEqual(traffic.to("/api/feed").map((t) => t.status), [200, 401, 200]);
  assert.ok((await events(page)).includes("REFRESH_SESSION"));
  await screenshot(page, "2-refreshed-after-expiry");
  await context.close();
});

test("3. five tabs calling at once after expiry all succeed; no theft", async () => {
  const { demo, context, traffic, page: first, expiry } = await signedIn("carol");
  const tabs = [first];
  for (let i = 1; i < 5; i++) tabs.push(await openPage(context, demo.url));

  await untilExpired(expiry);
  const results = await Promise.all(tabs.map((tab) => feed(tab)));
  for (const result of results) {
    assert.equal(result.status, 200);
    assert.equal(result.body.userId, "carol");
  }
  const refreshes = traffic.refreshes();
  assert.ok(refreshes.length >= 1, "the expired tokens were refreshed");
  assert.ok(refreshes.every((t) => t.status === 200), "no refresh was refused");
  // A theft verdict would have revoked the session: every tab still works afterwards.
  for (const tab of tabs) {
    assert.equal((await feed(tab)).status, 200);
    assert.ok(!(await events(tab)).includes("UNAUTHORISED"));
  }
  console.log(`# five tabs: ${refreshes.length} refresh request(s) for 5 concurrent calls`);
  await screenshot(tabs[4], "3-five-tabs");
  await context.close();
});

/** The attacker's browser: a stolen HttpOnly refresh cookie put in through CDP, then the refresh
 * API called from a page of `origin` without the SDK (its `/sdk/website.js`, plain text). Returns
 * the context (to close), its page and the refresh's status, body and front-token. */
async function replayStolenRefreshToken(origin, stolen, heading) {
  const attacker = await browser.newContext();
  const attackerPage = await attacker.newPage();
  await attackerPage.goto(`${origin}/sdk/website.js`);
  const cdp = await attacker.newCDPSession(attackerPage);
  await cdp.send("Network.setCookie", {
    name: "sRefreshToken",
    value: stolen.value,
    url: `${origin}/auth/session/refresh`,
    path: "/auth/session/refresh",
    httpOnly: true,
    sameSite: "Lax",
  });
  const replay = await attackerPage.evaluate(async (heading) => {
    const r = await fetch("/auth/session/refresh", { method: "POST", headers: { rid: "session" } });
    const result = { status: r.status, body: await r.json(), frontToken: r.headers.get("front-token") };
    document.body.innerHTML = "<h1></h1><pre></pre>";
    document.querySelector("h1").textContent = heading;
    document.querySelector("pre").textContent = JSON.stringify(result, null, 2);
    return result;
  }, heading);
  return { attacker, attackerPage, replay };
}

/** The access-token expiry (ms) in the front token the SDK keeps, i.e. of the token it holds. */
async function heldExpiry(context) {
  const cookie = (await context.cookies()).find((c) => c.name === "sFrontToken");
  assert.ok(cookie, "the SDK keeps a front token");
  const json = Buffer.from(decodeURIComponent(cookie.value), "base64").toString("utf8");
  return JSON.parse(json).ate;
}

// The library's defaults (no database check on verification), and a zero grace window so that
// nothing is forgiven: the victim's next page load after a refresh is what commits the new token.
test("4. a copied refresh token replayed after the victim moved on: theft at the replay, victim signed out", async () => {
  const { demo, context: victim, traffic, page, expiry } = await signedIn("dave", {
    env: { CHECK_DATABASE: "false" },
    grace: 0,
  });
  // The attacker copies the victim's cookie jar.
  const stolen = (await victim.cookies()).find((c) => c.name === "sRefreshToken");
  assert.ok(stolen, "the victim holds a refresh cookie");

  // The victim's access token expires; the SDK refreshes, then the feed loads with the new
  // access token. That verification is the first use of the new tokens.
  await untilExpired(expiry);
  assert.equal((await feed(page)).status, 200);
  assert.equal(traffic.refreshes().length, 1);
  const rotated = (await victim.cookies()).find((c) => c.name === "sRefreshToken");
  assert.notEqual(rotated.value, stolen.value);

  const { attacker, attackerPage, replay } = await replayStolenRefreshToken(
    demo.url,
    stolen,
    "Replayed the stolen refresh token",
  );
  assert.equal(replay.status, 401);
  assert.equal(replay.body.message, "token theft detected");
  assert.equal(replay.frontToken, "remove");
  assert.deepEqual(await sessionCookies(attacker), [], "the attacker's cookies were cleared");
  await attackerPage.screenshot({ path: join(SCREENSHOT_DIR, "4-attacker-replay.png") });

  // The session is revoked: once the victim's access token (verified without the database)
  // expires, the SDK's refresh is refused and the victim is signed out.
  await untilExpired(await heldExpiry(victim));
  const after = await feed(page);
  assert.equal(after.status, 401);
  assert.ok((await events(page)).includes("UNAUTHORISED"), "the SDK reported UNAUTHORISED");
  assert.equal(await page.evaluate(() => window.demo.sessionExists()), false);
  assert.deepEqual(await sessionCookies(victim), []);
  // The page says why: the backend knew the session ended by theft.
  await screenshot(page, "4-victim-unauthorised");
  const status = page.locator("#status");
  assert.equal(await status.getAttribute("data-reason"), "theft");
  assert.match(await status.innerText(), /another copy of it was used/);
  // Signing in again starts afresh, and the reason goes.
  await login(page, "dave");
  assert.equal(await status.getAttribute("data-reason"), null);
  assert.match(await status.innerText(), /Signed in as/);
  if (BACKEND === "remote") {
    // The operator asked "why was dave signed out?" finds the theft on the server's admin page,
    // with the sentence and the session's timeline.
    const { context: admin, page: adminView } = await adminPage(demo.tessera);
    await adminView.fill("#theft-user", "dave");
    await Promise.all([
      adminView.waitForURL(/\/admin\/thefts\?/),
      adminView.click("form[action='/admin/thefts'] button"),
    ]);
    const rows = adminView.locator("#thefts tbody tr");
    assert.equal(await rows.count(), 1);
    await adminView.screenshot({ path: join(SCREENSHOT_DIR, "4-admin-thefts.png"), fullPage: true });
    await Promise.all([adminView.waitForURL(/\/admin\/session\?/), rows.locator("a").click()]);
    assert.match(
      await adminView.locator(".explanation").innerText(),
      /^Token 1 was presented by a refresh .+ after token 2 had been used; the grace window is 0 s, so the session was revoked as stolen\./,
    );
    assert.equal(await adminView.locator("section.theft svg g.row.stolen").count(), 1);
    assert.equal(await adminView.locator("section.theft svg path.replay").count(), 1);
    await adminView.screenshot({ path: join(SCREENSHOT_DIR, "4-admin-timeline.png"), fullPage: true });
    await admin.close();
  }
  await attacker.close();
  await victim.close();
});

test("4b. the same copy replayed before the victim used its new tokens is not theft (a retry looks alike)", async () => {
  const { demo, context: victim, page, expiry } = await signedIn("dora", {
    env: { CHECK_DATABASE: "false" },
    grace: 0,
  });
  const stolen = (await victim.cookies()).find((c) => c.name === "sRefreshToken");
  await untilExpired(expiry);
  // The SDK refreshes (asked whether a session exists with an expired token), but no call has
  // used the new access token yet.
  assert.equal(await page.evaluate(() => window.demo.sessionExists()), true);
  const { attacker, replay } = await replayStolenRefreshToken(
    demo.url,
    stolen,
    "Replayed the refresh token before the victim used its new tokens",
  );
  assert.equal(replay.status, 200, "indistinguishable from a retry after a lost response");
  await attacker.close();
  await victim.close();
});

test("5. sign-out clears everything; the protected call then answers unauthorised", async () => {
  const demo = await startDemo();
  const context = await browser.newContext();
  const page = await openPage(context, demo.url);
  await login(page, "erin");
  assert.equal((await feed(page)).status, 200);
  const accessToken = (await context.cookies()).find((c) => c.name === "sAccessToken").value;

  await page.click("#sign-out");
  await page.waitForFunction(() => window.demo.events.includes("SIGN_OUT"));
  assert.deepEqual(await sessionCookies(context), []);
  assert.equal(await page.evaluate(() => window.demo.sessionExists()), false);
  const after = await feed(page);
  assert.equal(after.status, 401);
  assert.equal(after.body.message, "unauthorised");
  await screenshot(page, "5-signed-out");
  // Signing out is no theft: the page gives no such reason.
  assert.equal(await page.locator("#status").getAttribute("data-reason"), null);
  assert.equal(await page.locator("#status").innerText(), "Signed out");

  // The signed-out access token, replayed by another browser, is refused at once.
  const other = await browser.newContext();
  await other.addCookies([{ name: "sAccessToken", value: accessToken, url: demo.url }]);
  const response = await other.request.get(`${demo.url}/api/feed`);
  assert.equal(response.status(), 401);
  assert.equal((await response.json()).message, "unauthorised");
  await other.close();
  await context.close();
});

test("6a. header mode: tokens in headers, one refresh after expiry, sign-out", async () => {
  const { context, traffic, page, expiry } = await signedIn("frank", {
    path: "/?transfer=header",
  });
  assert.deepEqual(await sessionCookies(context), [], "no session cookies in header mode");
  assert.equal((await feed(page)).status, 200);
  const feedRequest = traffic.to("/api/feed").at(-1);
  assert.match(feedRequest.headers.authorization ?? "", /^Bearer /);

  await untilExpired(expiry);
  assert.equal((await feed(page)).status, 200);
  const refreshes = traffic.refreshes();
  assert.deepEqual(refreshes.map((t) => t.status), [200]);
  assert.match(refreshes[0].headers.authorization ?? "", /^Bearer /, "refresh token sent as Bearer");
  assert.deepEqual(traffic.to("/api/feed").map((t) => t.status), [200, 401, 200]);
  await screenshot(page, "6a-header-mode");

  await page.evaluate(() => window.demo.signOut());
  assert.ok((await events(page)).includes("SIGN_OUT"));
  assert.equal((await feed(page)).status, 401);
  await context.close();
});

test("6b. sessionExpiredStatusCode 440: expiry answers 440, the SDK refreshes once", async () => {
  const { context, traffic, page, expiry } = await signedIn("grace", {
    env: { SESSION_EXPIRED_STATUS: "440" },
  });
  await untilExpired(expiry);
  const result = await feed(page);
  assert.equal(result.status, 200);
  assert.deepEqual(traffic.to("/api/feed").map((t) => t.status), [440, 200]);
  assert.deepEqual(traffic.refreshes().map((t) => t.status), [200]);
  await screenshot(page, "6b-status-440");

  // Every session answer the SDK acts on uses the configured status: with no session the feed
  // answers 440 too, and the SDK, knowing it is signed out, does not try to refresh.
  await page.evaluate(() => window.demo.signOut());
  traffic.reset();
  const signedOut = await feed(page);
  assert.equal(signedOut.status, 440);
  assert.equal(signedOut.body.message, "unauthorised");
  assert.deepEqual(traffic.refreshes(), []);
  assert.equal(await page.evaluate(() => window.demo.sessionExists()), false);
  await context.close();
});

for (const mode of ["via-token", "via-custom-header"]) {
  test(`6c. anti-CSRF ${mode}: the SDK passes the check; a request without the proof does not`, async () => {
    const { demo, context, traffic, page, expiry } = await signedIn("ivan", {
      env: { ANTI_CSRF: mode },
    });
    await untilExpired(expiry);
    assert.equal((await feed(page)).status, 200);
    assert.deepEqual(traffic.refreshes().map((t) => t.status), [200]);
    const refresh = traffic.refreshes()[0].headers;
    if (mode === "via-token") assert.ok(refresh["anti-csrf"], "the SDK echoed the anti-csrf token");
    else assert.ok(refresh.rid, "the SDK sent rid");

    // A state-changing request carrying the cookies but not the proof, as a forged form would:
    // sent from a page without the SDK, so nothing adds the header.
    const forger = await context.newPage();
    await forger.goto(`${demo.url}/sdk/website.js`);
    const forged = await forger.evaluate(async () => {
      const r = await fetch("/auth/signout", { method: "POST" });
      return { status: r.status, body: await r.json(), cleared: r.headers.get("front-token") };
    });
    assert.equal(forged.status, 401);
    assert.equal(forged.body.message, "try refresh token");
    assert.equal(forged.cleared, null, "a forged request cannot sign the user out");
    await forger.close();
    assert.equal((await feed(page)).status, 200, "the session survived");
    await screenshot(page, `6c-anti-csrf-${mode}`);

    await page.evaluate(() => window.demo.signOut());
    assert.ok((await events(page)).includes("SIGN_OUT"));
    assert.deepEqual(await sessionCookies(context), []);
    await context.close();
  });
}

test("7. a fresh browser's first-visit refresh probe gets 401, and no loop", async () => {
  const demo = await startDemo();
  const context = await browser.newContext();
  const traffic = recordTraffic(context);
  const page = await openPage(context, demo.url);
  assert.equal(await page.evaluate(() => window.demo.sessionExists()), false);
  const first = await feed(page);
  const second = await feed(page);
  assert.equal(first.status, 401);
  assert.equal(second.status, 401);
  // One probe in all: its 401 made the SDK record "no session", so later calls do not refresh.
  assert.deepEqual(traffic.refreshes().map((t) => t.status), [401]);
  await screenshot(page, "7-first-visit");
  await context.close();
});

test("8. a page navigation with an expired token gets the refresh page, which refreshes and reloads", async () => {
  const { demo, context, traffic, page, expiry } = await signedIn("heidi");
  await page.goto(`${demo.url}/home`);
  assert.equal(await page.textContent("#greeting"), "Hello, heidi");

  await untilExpired(expiry);
  await page.goto(`${demo.url}/home`);
  await page.waitForSelector("#greeting");
  assert.equal(await page.textContent("#greeting"), "Hello, heidi");
  assert.deepEqual(traffic.to("/home").map((t) => t.status), [200, 401, 200]);
  assert.deepEqual(traffic.refreshes().map((t) => t.status), [200]);
  await page.screenshot({ path: join(SCREENSHOT_DIR, "8-html-refresh.png") });
  await context.close();
});

test("9. a page on another origin calls the API through CORS (header mode); others are refused", async () => {
  const port = await freePort();
  const pageOrigin = `http://localhost:${port}`;
  const apiOrigin = `http://127.0.0.1:${port}`;
  await startDemo({ PORT: String(port), CORS_ORIGINS: pageOrigin });
  const context = await browser.newContext();
  const traffic = recordTraffic(context);
  const page = await openPage(context, `${pageOrigin}/?transfer=header&api=${apiOrigin}`);
  const expiry = await login(page, "judy", traffic);
  const first = await feed(page);
  assert.equal(first.status, 200);
  assert.equal(first.body.userId, "judy");
  assert.ok(traffic.to("/api/feed").every((t) => t.origin === apiOrigin), "cross-origin calls");

  await untilExpired(expiry);
  assert.equal((await feed(page)).status, 200);
  assert.deepEqual(traffic.refreshes().map((t) => t.status), [200]);
  assert.deepEqual(traffic.to("/api/feed").map((t) => t.status), [200, 401, 200]);
  await screenshot(page, "9-cross-origin");
  await page.evaluate(() => window.demo.signOut());
  assert.equal((await feed(page)).status, 401);
  await context.close();

  // The same page from an origin the API does not list: the browser withholds every answer.
  const otherPort = await freePort();
  await startDemo({ PORT: String(otherPort), CORS_ORIGINS: "http://allowed.invalid" });
  const refused = await browser.newContext();
  const stranger = await refused.newPage();
  await stranger.goto(`http://localhost:${otherPort}/?transfer=header&api=http://127.0.0.1:${otherPort}`);
  const outcome = await stranger.evaluate(() =>
    window.demo.login("mallory", "tessera-demo").then(
      () => "answered",
      (e) => `blocked: ${e.message}`,
    ),
  );
  assert.match(outcome, /^blocked: /);
  await refused.close();
});

// The same theft scenario through a supertokens-node backend (pinned, unmodified) over a `tessera`
// server, verifying by the SDK's default: locally with the JWKS, calling the server's verify by
// itself for an access token that names the refresh token it replaced. Runs with the remote back
// end, which is the run that has a server binary.
if (BACKEND === "remote") {
  test("10. supertokens-node over tessera: theft at the replay after the victim loaded the feed", async () => {
    const here = dirname(fileURLToPath(import.meta.url));
    const repo = join(here, "..", "..", "..", "..");
    const bundleDir = join(here, "node_modules", "supertokens-web-js", "bundle");
    const bundle = readdirSync(bundleDir).find((f) => /^website\.[0-9a-f]+\.js$/.test(f));
    assert.ok(bundle, "supertokens-web-js ships its website bundle");
    const dir = mkdtempSync(join(tmpdir(), "tessera-node-app-"));
    const tessera = await startTesseraFor(
      TESSERA_BIN,
      dir,
      {
        TESSERA_ACCESS_TOKEN_VALIDITY: String(ACCESS_TOKEN_SECONDS),
        TESSERA_REFRESH_TOKEN_ROTATION_GRACE_PERIOD: "0",
      },
      started,
    );
    const port = await freePort();
    const nodeApp = await startListening(
      process.execPath,
      [join(repo, "crates", "tessera-server", "tests", "sdk", "node", "browser-app.js")],
      {
        ...tessera,
        PORT: String(port),
        WEBSITE_BUNDLE: join(bundleDir, bundle),
      },
      mkdtempSync(join(tmpdir(), "tessera-node-app-")),
    );

    const victim = await browser.newContext();
    const traffic = recordTraffic(victim);
    const page = await victim.newPage();
    await page.goto(nodeApp.url);
    assert.equal(await page.evaluate(() => window.app.ready), false, "no session yet");
    await sleep(1020 - (Date.now() % 1000));
    traffic.reset();
    const login = await page.evaluate(() => window.app.login("nina"));
    assert.equal(login.status, 200);
    const expiry = announcedExpiry(login);
    assert.equal((await page.evaluate(() => window.app.feed())).status, 200);
    const stolen = (await victim.cookies()).find((c) => c.name === "sRefreshToken");
    assert.ok(stolen, "the victim holds a refresh cookie");

    await untilExpired(expiry);
    assert.equal((await page.evaluate(() => window.app.feed())).status, 200);
    assert.deepEqual(traffic.refreshes().map((t) => t.status), [200], "the SDK refreshed once");
    const rotated = (await victim.cookies()).find((c) => c.name === "sRefreshToken");
    assert.notEqual(rotated.value, stolen.value);

    const { attacker, attackerPage, replay } = await replayStolenRefreshToken(
      nodeApp.url,
      stolen,
      "Replayed the stolen refresh token at supertokens-node",
    );
    assert.equal(replay.status, 401);
    assert.equal(replay.body.message, "token theft detected");
    assert.equal(replay.frontToken, "remove");
    await attackerPage.screenshot({ path: join(SCREENSHOT_DIR, "10-node-attacker-replay.png") });

    // Revoked: once the victim's access token expires, its refresh is refused; signed out.
    await untilExpired(await heldExpiry(victim));
    const after = await page.evaluate(() => window.app.feed());
    assert.equal(after.status, 401);
    assert.ok((await page.evaluate(() => window.app.events)).includes("UNAUTHORISED"));
    assert.equal(await page.evaluate(() => window.app.sessionExists()), false);
    await page.screenshot({ path: join(SCREENSHOT_DIR, "10-node-victim-signed-out.png") });
    await attacker.close();
    await victim.close();
  });
}
