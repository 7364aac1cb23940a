// Device-bound sessions in real time: the bound cookie really expires, and Chromium renews it by
// itself (ahead of expiry, as it does two minutes before) while the page keeps calling the API.
// Minutes long, so not part of the test command: scripts/dbsc-soak.sh runs it and prints the
// figures. BOUND_SECONDS (default 240) is the bound cookie's and the access token's lifetime;
// SOAK_SECONDS (default 600) how long the page keeps working; a call every CALL_SECONDS (20).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { CHROMIUM_FLAGS, startListening } from "./processes.mjs";

const DEMO_BIN = process.env.DEMO_BIN;
const BOUND_SECONDS = Number(process.env.BOUND_SECONDS ?? 240);
const SOAK_SECONDS = Number(process.env.SOAK_SECONDS ?? 600);
const CALL_SECONDS = Number(process.env.CALL_SECONDS ?? 20);
const FEATURES =
  "DeviceBoundSessions:RequireOriginTrialTokens/false,DeviceBoundSessionsDevTools," +
  "EnableBoundSessionCredentialsSoftwareKeysForManualTesting";
assert.ok(DEMO_BIN, "DEMO_BIN must name the built demo binary");

const started = [];
let browser;
after(async () => {
  await browser?.close();
  for (const program of started) program.stop();
});

test(`a bound session lives ${SOAK_SECONDS} s on ${BOUND_SECONDS} s cookies, renewed by the browser`, { timeout: (SOAK_SECONDS + 120) * 1000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "tessera-dbsc-soak-"));
  const demo = await startListening(
    DEMO_BIN,
    [],
    {
      PORT: "0",
      DEVICE_BINDING: "true",
      BOUND_COOKIE_LIFETIME: String(BOUND_SECONDS),
      DATABASE: join(dir, "demo.db"),
    },
    dir,
    started,
  );
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: [
      ...CHROMIUM_FLAGS,
      `--enable-features=${FEATURES}`,
      `--ignore-certificate-errors-spki-list=${demo.spki}`,
    ],
  });
  const context = await browser.newContext();
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  const events = [];
  cdp.on("Network.deviceBoundSessionEventOccurred", (event) => events.push({ at: Date.now(), event }));
  await cdp.send("Network.enable");
  await cdp.send("Network.enableDeviceBoundSessions", { enable: true });
  const sdkRefreshes = [];
  context.on("response", (response) => {
    if (new URL(response.url()).pathname === "/auth/session/refresh") {
      sdkRefreshes.push(response.status());
    }
  });
  await page.goto(demo.url + "/");
  await page.evaluate(() => window.demo.ready);
  const login = await page.evaluate(() => window.demo.login("soak", "tessera-demo"));
  assert.equal(login.status, 200);
  sdkRefreshes.length = 0;
  const start = Date.now();
  let calls = 0;
  const handles = new Set();
  while (Date.now() - start < SOAK_SECONDS * 1000) {
    const result = await page.evaluate(() => window.demo.feed());
    assert.equal(result.status, 200, `call ${calls} at ${Math.round((Date.now() - start) / 1000)} s`);
    assert.ok(result.body.deviceKey, "the session stays bound");
    handles.add(result.body.sessionHandle);
    calls += 1;
    // Pacing the page's calls, as a user's clicks are; nothing here waits for the browser.
    await new Promise((resolve) => setTimeout(resolve, CALL_SECONDS * 1000));
  }
  const renewals = events.filter((e) => e.event.refreshEventDetails?.refreshResult === "Refreshed");
  const created = events.find((e) => e.event.creationEventDetails?.fetchResult === "Success");
  assert.ok(created, "the browser registered a bound session");
  // The registration answer carries the first renewal's challenge. Chromium reads the header
  // once before it has made the session (NoSessionMatch) and again after, when it takes it: that
  // first reading is not a failure.
  const beforeTheSession = (e) =>
    e.event.challengeEventDetails?.challengeResult === "NoSessionMatch" &&
    e.event.sessionId === created.event.sessionId &&
    Math.abs(e.at - created.at) < 2000;
  const failures = events.filter((e) => e.event.succeeded === false && !beforeTheSession(e));
  console.log(
    JSON.stringify({
      boundSeconds: BOUND_SECONDS,
      soakSeconds: SOAK_SECONDS,
      calls,
      renewals: renewals.length,
      proactive: renewals.filter((e) => e.event.refreshEventDetails.wasFullyProactiveRefresh).length,
      renewalSeconds: renewals.map((e) => Math.round((e.at - start) / 1000)),
      failedEvents: failures.map((e) => Object.keys(e.event).filter((k) => k.endsWith("Details"))),
      sdkRefreshes,
    }),
  );
  assert.equal(handles.size, 1, "one session throughout");
  const lifetimes = SOAK_SECONDS / BOUND_SECONDS;
  assert.ok(renewals.length >= Math.floor(lifetimes), `${renewals.length} renewals in ${lifetimes} lifetimes`);
  assert.deepEqual(failures, []);
  assert.deepEqual(sdkRefreshes, [], "the SDK never had to refresh");
});
