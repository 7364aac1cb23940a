// Device-bound sessions in a real browser: Debian's Chromium with Device Bound Session
// Credentials on (software keys, as no TPM is here), the demo over HTTPS with DEVICE_BINDING,
// the unmodified SuperTokens frontend SDK in the page. Assertions read the page, the demo's API
// and Chromium's own DevTools events for bound sessions. Run by browser-tests.sh once per back
// end (BACKEND=local, BACKEND=remote with TESSERA_BIN).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { CHROMIUM_FLAGS, startListening, startTesseraFor } from "./processes.mjs";

const DEMO_BIN = process.env.DEMO_BIN;
const BACKEND = process.env.BACKEND ?? "local";
const TESSERA_BIN = process.env.TESSERA_BIN;
const PASSWORD = "tessera-demo";
// Chromium renews a bound cookie two minutes before it expires and signs at most six proofs in
// nine minutes: the lifetime it is built for. Tests make the cookie go (as its expiry does)
// instead of waiting for it.
const BOUND_SECONDS = 600;
const DBSC_FEATURES =
  "DeviceBoundSessions:RequireOriginTrialTokens/false,DeviceBoundSessionsDevTools," +
  "EnableBoundSessionCredentialsSoftwareKeysForManualTesting";

assert.ok(DEMO_BIN, "DEMO_BIN must name the built demo binary");
assert.ok(["local", "remote"].includes(BACKEND), `BACKEND=${BACKEND}`);
assert.ok(BACKEND === "local" || TESSERA_BIN, "BACKEND=remote needs TESSERA_BIN");

const started = [];
const browsers = [];
after(async () => {
  for (const browser of browsers) await browser.close();
  for (const program of started) program.stop();
});

/** The demo over HTTPS with device binding, over its own SQLite file or its own server. */
async function startDemo() {
  const dir = mkdtempSync(join(tmpdir(), "tessera-dbsc-"));
  const env = { PORT: "0", DEVICE_BINDING: "true", BOUND_COOKIE_LIFETIME: String(BOUND_SECONDS) };
  if (BACKEND === "remote") {
    const settings = { TESSERA_ACCESS_TOKEN_VALIDITY: String(BOUND_SECONDS) };
    Object.assign(env, await startTesseraFor(TESSERA_BIN, dir, settings, started));
  } else {
    env.DATABASE = join(dir, "demo.db");
  }
  const demo = await startListening(DEMO_BIN, [], env, dir, started);
  assert.ok(demo.url.startsWith("https://"), demo.url);
  assert.ok(demo.spki, "the demo prints its certificate's SPKI hash");
  return demo;
}

/** Chromium trusting the demo's certificate, with DBSC on or off. */
async function launch(demo, { dbsc }) {
  const args = [...CHROMIUM_FLAGS, `--ignore-certificate-errors-spki-list=${demo.spki}`];
  if (dbsc) args.push(`--enable-features=${DBSC_FEATURES}`);
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args });
  browsers.push(browser);
  return browser;
}

/** A page of the demo in a new context, with Chromium's bound-session events and the
 * session routes' traffic recorded. */
async function open(browser, demo) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  const dbscEvents = [];
  cdp.on("Network.deviceBoundSessionEventOccurred", (event) => dbscEvents.push(event));
  await cdp.send("Network.enable");
  await cdp.send("Network.enableDeviceBoundSessions", { enable: true });
  const traffic = [];
  context.on("response", (response) => {
    const url = new URL(response.url());
    if (url.pathname.startsWith("/auth/")) {
      traffic.push({ path: url.pathname, status: response.status() });
    }
  });
  await page.goto(demo.url + "/");
  await page.evaluate(() => window.demo.ready);
  return { context, page, dbscEvents, traffic };
}

/** Waits, polling the recorded events (no fixed sleep), for one matching `predicate`. */
async function eventually(what, predicate, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = predicate();
    if (found) return found;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const creation = (events) =>
  events.find((e) => e.creationEventDetails && e.succeeded && e.sessionId);
const refreshes = (events) =>
  events.filter((e) => e.refreshEventDetails?.refreshResult === "Refreshed");
const termination = (events) => events.find((e) => e.terminationEventDetails);
const feed = (page) => page.evaluate(() => window.demo.feed());

async function signIn(tab, user) {
  const result = await tab.page.evaluate(([u, p]) => window.demo.login(u, p), [user, PASSWORD]);
  assert.equal(result.status, 200);
  assert.equal(result.body.status, "OK");
  // Forget the page's first-visit probe (the SDK asks whether a session exists: 401).
  tab.traffic.length = 0;
}

/** The cookie as the browser expires it: gone from the jar. */
async function expireAccessCookie(context) {
  await context.clearCookies({ name: "sAccessToken" });
}

test("sign-in registers a device key, and the session stays alive through the browser's own renewals", async () => {
  const demo = await startDemo();
  const tab = await open(await launch(demo, { dbsc: true }), demo);
  await signIn(tab, "dbsc-alice");
  const created = await eventually("Chromium to create a bound session", () =>
    creation(tab.dbscEvents),
  );
  const first = await feed(tab.page);
  assert.equal(first.status, 200);
  // The browser's session is Tessera's, and the store holds the key it registered.
  assert.equal(created.sessionId, first.body.sessionHandle);
  assert.match(first.body.deviceKey, /^[A-Za-z0-9_-]{43}$/);
  assert.match(await tab.page.textContent("#binding"), /bound to this browser's device key/);
  // Three lifetimes of the bound cookie: each time it is gone the browser holds the page's
  // request, renews through its key, and the request goes through with the new token.
  for (let lifetime = 1; lifetime <= 3; lifetime += 1) {
    const before = (await tab.context.cookies()).find((c) => c.name === "sRefreshToken").value;
    await expireAccessCookie(tab.context);
    const result = await feed(tab.page);
    assert.equal(result.status, 200, `renewal ${lifetime}`);
    assert.equal(result.body.sessionHandle, first.body.sessionHandle);
    await eventually(`renewal ${lifetime}`, () => refreshes(tab.dbscEvents).length >= lifetime);
    const after = (await tab.context.cookies()).find((c) => c.name === "sRefreshToken").value;
    assert.notEqual(after, before, "the renewal rotated the refresh token");
  }
  // The browser renewed on its own (its requests are not the page's, so only the DevTools
  // events show them); the SDK never needed its own refresh.
  assert.deepEqual(tab.traffic.filter((t) => t.path === "/auth/session/refresh"), []);
  assert.equal(await tab.page.evaluate(() => window.demo.sessionExists()), true);
  await tab.page.screenshot({ path: join(process.env.SCREENSHOT_DIR ?? tmpdir(), "dbsc-bound.png") });
});

test("a copied cookie jar is refused once its access token is gone: theft, and the victim is signed out", async () => {
  const demo = await startDemo();
  const victim = await open(await launch(demo, { dbsc: true }), demo);
  await signIn(victim, "dbsc-bob");
  await eventually("the bound session", () => creation(victim.dbscEvents));
  assert.equal((await feed(victim.page)).status, 200);
  // Infostealer malware copies the whole jar into another browser (no key comes with it).
  const thiefBrowser = await launch(demo, { dbsc: false });
  const thief = await open(thiefBrowser, demo);
  await thief.context.addCookies(await victim.context.cookies());
  await thief.page.reload();
  await thief.page.evaluate(() => window.demo.ready);
  thief.traffic.length = 0;
  // The copied access token works until it expires: binding cannot shorten what was stolen.
  assert.equal((await feed(thief.page)).status, 200);
  await expireAccessCookie(thief.context);
  const refused = await feed(thief.page);
  assert.equal(refused.status, 401);
  const refresh = thief.traffic.filter((t) => t.path === "/auth/session/refresh");
  assert.deepEqual(refresh.map((t) => t.status), [401], "the thief's one refresh is refused");
  assert.equal(await thief.page.evaluate(() => window.demo.sessionExists()), false);
  // The refresh was reported as theft: the session is revoked for the victim too.
  const after = await feed(victim.page);
  assert.equal(after.status, 401);
  assert.equal(await victim.page.evaluate(() => window.demo.sessionExists()), false);
});

test("sign-out revokes the session and the browser ends its bound session", async () => {
  const demo = await startDemo();
  const tab = await open(await launch(demo, { dbsc: true }), demo);
  await signIn(tab, "dbsc-carol");
  const created = await eventually("the bound session", () => creation(tab.dbscEvents));
  assert.equal((await feed(tab.page)).status, 200);
  await tab.page.evaluate(() => window.demo.signOut());
  // The next request in scope finds the bound cookie gone; the server's answer to the renewal
  // ends the bound session in the browser.
  const result = await feed(tab.page);
  assert.equal(result.status, 401);
  const ended = await eventually("Chromium to end the bound session", () =>
    termination(tab.dbscEvents),
  );
  assert.equal(ended.sessionId, created.sessionId);
  assert.equal(ended.terminationEventDetails.deletionReason, "ServerRequested");
});

test("with DBSC off, the same app works unbound: the SDK refreshes as always", async () => {
  const demo = await startDemo();
  const tab = await open(await launch(demo, { dbsc: false }), demo);
  await signIn(tab, "plain-dave");
  const first = await feed(tab.page);
  assert.equal(first.status, 200);
  assert.equal(first.body.deviceKey, null);
  assert.match(await tab.page.textContent("#binding"), /not bound/);
  for (let round = 1; round <= 2; round += 1) {
    await expireAccessCookie(tab.context);
    const result = await feed(tab.page);
    assert.equal(result.status, 200, `refresh ${round}`);
  }
  const refreshes = tab.traffic.filter((t) => t.path === "/auth/session/refresh");
  assert.deepEqual(refreshes.map((t) => t.status), [200, 200]);
  assert.deepEqual(tab.dbscEvents, []);
});
