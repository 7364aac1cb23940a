// The admin page of `tessera serve` in Debian's Chromium, driven by playwright-core: sign in,
// find a user's sessions, revoke one (its refresh then fails) and all, a wrong key refused, a
// forged form on another site refused even when it carries a leaked anti-CSRF token, and a theft
// found, explained and drawn. Run by
// run.sh, which builds the server and passes TESSERA_BIN and SCREENSHOT_DIR.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const TESSERA_BIN = process.env.TESSERA_BIN;
const SCREENSHOT_DIR = process.env.SCREENSHOT_DIR;
const ADMIN_KEY = "browser-admin-key-0123456789";
const API_KEY = "browser-api-key-0123456789";
const CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"];

assert.ok(TESSERA_BIN, "TESSERA_BIN must name the built tessera binary");
assert.ok(SCREENSHOT_DIR, "SCREENSHOT_DIR must name where screenshots go");
mkdirSync(SCREENSHOT_DIR, { recursive: true });

let browser;
let server;
let serverDir;
let attacker;

before(async () => {
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_FLAGS });
  serverDir = mkdtempSync(join(tmpdir(), "tessera-admin-"));
  server = await startServer(serverDir);
});

after(async () => {
  await browser?.close();
  server?.child.kill("SIGKILL");
  attacker?.close();
  if (serverDir) rmSync(serverDir, { recursive: true, force: true });
});

/** `tessera serve` on a free port with an admin key; resolves once it prints its address. */
function startServer(dir) {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith("TESSERA_")),
  );
  const child = spawn(TESSERA_BIN, ["serve"], {
    env: {
      ...inherited,
      TESSERA_PORT: "0",
      TESSERA_SQLITE_PATH: join(dir, "tessera.db"),
      TESSERA_ADMIN_KEY: ADMIN_KEY,
      TESSERA_API_KEYS: API_KEY,
      // Nothing forgiven: a replay after the client moved on is theft at once.
      TESSERA_REFRESH_TOKEN_ROTATION_GRACE_PERIOD: "0",
      TESSERA_LOG: "warn",
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (chunk) => {
      out += chunk;
      const m = out.match(/listening on (http:\/\/[^\s]+)/);
      if (m) resolve({ child, url: m[1] });
    });
    child.on("exit", (code) => reject(new Error(`tessera exited with ${code} before listening`)));
  });
}

/** A CDI call to the server, as a backend SDK makes it. */
async function cdi(path, body, method = "POST") {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: { "content-type": "application/json", "api-key": API_KEY, "cdi-version": "5.4", rid: "session" },
    body: JSON.stringify(body),
  });
  assert.equal(response.status, 200, `${path}: ${response.status}`);
  return response.json();
}

const createSession = (userId, note, prefix = "") =>
  cdi(`${prefix}/public/recipe/session`, {
    userId,
    userDataInJWT: {},
    userDataInDatabase: { note },
    enableAntiCsrf: false,
    useDynamicSigningKey: true,
  });
const refresh = (session) =>
  cdi("/recipe/session/refresh", { refreshToken: session.refreshToken.token, enableAntiCsrf: false });
const verify = (session, prefix = "") =>
  cdi(`${prefix}/recipe/session/verify`, {
    accessToken: session.accessToken.token,
    doAntiCsrfCheck: false,
    enableAntiCsrf: false,
    checkDatabase: false,
  });

const shot = (page, name) => page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });

/** A page in a new context, signed in with the admin key. */
async function signedIn() {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${server.url}/admin`);
  await page.fill("#key", ADMIN_KEY);
  await Promise.all([page.waitForURL(`${server.url}/admin`), page.click("button[type=submit]")]);
  await page.locator("#keys").waitFor();
  return { context, page };
}

test("a wrong admin key is refused and no cookie is set", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${server.url}/admin`);
  await page.fill("#key", "browser-admin-key-012345678"); // one character short
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith("/admin/login")),
    page.click("button[type=submit]"),
  ]);
  assert.equal(response.status(), 401);
  assert.equal(await page.locator("#error").innerText(), "wrong admin key");
  assert.deepEqual(await context.cookies(), []);
  await shot(page, "01-wrong-key");
  await context.close();
});

test("sign in, find a user's sessions, revoke one and then all", async () => {
  const first = await createSession("alice", "laptop");
  const second = await createSession("alice", "phone");
  const bob = await createSession("bob", "desktop");
  const { context, page } = await signedIn();

  const [cookie] = await context.cookies();
  assert.equal(cookie.name, "tessera_admin");
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, "Strict");
  assert.equal(await page.locator("#keys tbody tr").count(), 1);
  assert.match(await page.locator("#keys tbody tr").innerText(), /RS256.*yes/s);
  assert.match(await page.locator("#counters").innerText(), /sessions created\s+3/);
  await shot(page, "02-dashboard");

  await page.fill("#user", "alice");
  await Promise.all([page.waitForURL(/\/admin\/sessions\?app=public&user=alice/), page.click("form[action='/admin/sessions'] button")]);
  const rows = page.locator("#sessions tbody tr");
  assert.equal(await rows.count(), 2);
  const table = await page.locator("#sessions").innerText();
  for (const s of [first, second]) assert.ok(table.includes(s.session.handle), table);
  assert.ok(!table.includes(bob.session.handle), "another user's session is listed");
  assert.ok(table.includes('"note":"laptop"') && table.includes("public"), table);
  // Dates read as dates, with the exact instant in the title; identifiers never wrap; the
  // stylesheet (the only styles the page's policy allows) is in force; buttons say what they do.
  const created = page.locator(`tr[data-handle="${first.session.handle}"] td:nth-child(3) time`);
  assert.match(await created.innerText(), /^\d{1,2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2} UTC$/);
  const instant = await created.getAttribute("datetime");
  assert.ok(Math.abs(Date.parse(instant) - Date.now()) < 60_000, instant);
  assert.equal(await created.getAttribute("title"), `${instant} (UTC)`);
  const handleCell = page.locator(`tr[data-handle="${first.session.handle}"] td:first-child code`);
  assert.equal(await handleCell.evaluate((el) => getComputedStyle(el).whiteSpace), "nowrap");
  assert.equal(await page.locator("header").evaluate((el) => getComputedStyle(el).display), "flex");
  assert.equal(
    await page.locator(`tr[data-handle="${first.session.handle}"] td:nth-child(6)`).innerText(),
    "not bound",
  );
  const revoke = page.locator(`tr[data-handle="${first.session.handle}"] button`);
  assert.equal(await revoke.getAttribute("aria-label"), `Revoke session ${first.session.handle}`);
  await shot(page, "03-sessions");

  // Revoke the laptop's session: it is gone from the page, its refresh fails, the phone's works.
  const row = page.locator(`tr[data-handle="${first.session.handle}"]`);
  await Promise.all([page.waitForURL(/revoked=1/), row.locator("button").click()]);
  assert.equal(await page.locator("#notice").innerText(), "revoked 1 session");
  assert.equal(await rows.count(), 1);
  assert.equal((await refresh(first)).status, "UNAUTHORISED");
  assert.equal((await verify(first)).status, "UNAUTHORISED");
  const phone = await refresh(second);
  assert.equal(phone.status, "OK");
  await shot(page, "04-revoked-one");

  await Promise.all([page.waitForURL(/revoked=1/), page.click("#revoke-all")]);
  assert.equal(await page.locator("#no-sessions").count(), 1);
  assert.equal((await refresh(phone)).status, "UNAUTHORISED");
  assert.equal((await verify(bob)).status, "OK", "bob's session was touched");
  await shot(page, "05-revoked-all");

  await Promise.all([page.waitForURL(`${server.url}/admin`), page.click("text=Sign out")]);
  assert.equal(await page.locator("#key").count(), 1);
  assert.deepEqual(await context.cookies(), []);
  await context.close();
});

test("a forged form on another site is refused, even with a leaked anti-CSRF token", async () => {
  const victim = await createSession("carol", "tablet");
  const { context, page } = await signedIn();
  const token = await page.locator("input[name=csrf]").first().inputValue();

  // The attacker's site: `localhost` is another site than `127.0.0.1`, so Chromium sends the
  // SameSite=Strict admin cookie with none of its requests to the server.
  const target = `${server.url}/admin/users/revoke`;
  attacker = createServer((_, res) => {
    res.setHeader("content-type", "text/html");
    res.end(`<!doctype html><form id="f" method="post" action="${target}">
      <input name="user" value="carol"><input name="csrf" value="${token}"></form>
      <script>document.getElementById("f").submit()</script>`);
  });
  await new Promise((resolve) => attacker.listen(0, "127.0.0.1", resolve));
  const evil = await context.newPage();
  const [response] = await Promise.all([
    evil.waitForResponse((r) => r.url() === target),
    evil.goto(`http://localhost:${attacker.address().port}/`),
  ]);
  assert.equal(response.status(), 403);
  await evil.locator("#refused").waitFor();
  await shot(evil, "06-forged-form-refused");
  assert.equal((await verify(victim)).status, "OK", "the forged form revoked the session");

  // The same form submitted from the admin's own origin without this sign-in's token.
  await page.evaluate(() => {
    const form = document.querySelector("form[action='/admin/logout']");
    form.action = "/admin/users/revoke";
    form.querySelector("input[name=csrf]").value = "forged";
    const user = document.createElement("input");
    user.name = "user";
    user.value = "carol";
    form.append(user);
  });
  const [own] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith("/admin/users/revoke")),
    page.click("text=Sign out"),
  ]);
  assert.equal(own.status(), 403);
  assert.equal((await verify(victim)).status, "OK", "a form without the token revoked the session");
  await context.close();
});

test("pick an app: its keys and its sessions only, revoked without touching another app's", async () => {
  await cdi("/recipe/multitenancy/app/v2", { appId: "shop" }, "PUT");
  const inShop = await createSession("dave", "shop till", "/appid-shop");
  const inPublic = await createSession("dave", "public laptop");
  const { context, page } = await signedIn();

  await page.selectOption("#app", "shop");
  await Promise.all([page.waitForURL(/\/admin\?app=shop$/), page.click("#app-picker button")]);
  assert.equal(await page.locator("#app-id").innerText(), "shop");
  // A new app gets its own keys, one of each family, as SuperTokens core makes an app.
  assert.equal(await page.locator("#keys tbody tr").count(), 2, "the shop app has its own keys");
  const keys = await page.locator("#keys tbody").innerText();
  assert.ok(keys.includes("dynamic") && keys.includes("static"), keys);

  await page.fill("#user", "dave");
  await Promise.all([page.waitForURL(/\/admin\/sessions\?app=shop&user=dave/), page.click("form[action='/admin/sessions'] button")]);
  const table = await page.locator("#sessions").innerText();
  assert.ok(table.includes(inShop.session.handle), table);
  assert.ok(!table.includes(inPublic.session.handle), "another app's session is listed");
  await shot(page, "07-app-sessions");

  await Promise.all([page.waitForURL(/app=shop&user=dave&revoked=1/), page.click("#revoke-all")]);
  assert.equal(await page.locator("#no-sessions").count(), 1);
  assert.equal((await verify(inShop, "/appid-shop")).status, "UNAUTHORISED");
  assert.equal((await verify(inPublic)).status, "OK", "the public app's session was touched");
  await context.close();
});

test("a theft made through the CDI is found by user, explained in a sentence and drawn as a timeline", async () => {
  // As a backend SDK drives it: sign-in, a refresh, the child used to refresh again, then a copy
  // of the first refresh token comes back.
  const first = await createSession("erin", "laptop");
  const child = await refresh(first);
  assert.equal((await refresh(child)).status, "OK");
  const replay = await refresh(first);
  assert.equal(replay.status, "TOKEN_THEFT_DETECTED");
  const live = await createSession("erin", "phone");
  const { context, page } = await signedIn();

  // The dashboard lists it, and the thefts finder finds it by user.
  const recent = await page.locator("#thefts").innerText();
  assert.ok(recent.includes(first.session.handle), recent);
  assert.match(await page.locator("#rates").innerText(), /thefts detected: 1 in the hour/);
  await shot(page, "08-dashboard-with-theft");
  await page.fill("#theft-user", "erin");
  await Promise.all([page.waitForURL(/\/admin\/thefts\?app=public&user=erin/), page.click("form[action='/admin/thefts'] button")]);
  const rows = page.locator("#thefts tbody tr");
  assert.equal(await rows.count(), 1);
  assert.match(await rows.innerText(), /refresh.*revoked/s);
  await shot(page, "09-thefts-of-erin");

  // Its session's page: gone, but explained, with every token drawn and the replay marked.
  await Promise.all([page.waitForURL(/\/admin\/session\?/), rows.locator("a").click()]);
  assert.match(await page.locator("#session-state").innerText(), /Not live/);
  const sentence = await page.locator(".explanation").innerText();
  assert.match(
    sentence,
    /^Token 1 was presented by a refresh .+ after token 2 had been used; the grace window is 0 s, so the session was revoked as stolen\. The other copy had reached token 3, minted .+ earlier\.$/,
  );
  const timeline = page.locator("section.theft svg.timeline");
  assert.equal(await timeline.getAttribute("role"), "img");
  assert.equal(await timeline.locator("g.row").count(), 3);
  assert.equal(await timeline.locator("g.row.stolen text").textContent(), "token 1");
  const replayMark = timeline.locator("path.replay");
  assert.equal(await replayMark.count(), 1);
  // Drawn with the stylesheet's colours (the page allows no other styles).
  assert.equal(await replayMark.evaluate((el) => getComputedStyle(el).fill), "rgb(180, 35, 35)");
  const box = await timeline.boundingBox();
  assert.ok(box.width > 600 && box.height > 100, JSON.stringify(box));
  await shot(page, "10-theft-timeline");

  // A live session of the same user is drawn from its handle's link, without a theft.
  await page.goto(`${server.url}/admin/sessions?app=public&user=erin`);
  await Promise.all([
    page.waitForURL(/\/admin\/session\?/),
    page.locator(`tr[data-handle="${live.session.handle}"] td:first-child a`).click(),
  ]);
  assert.match(await page.locator("#session-state").innerText(), /^Live: created/);
  assert.equal(await page.locator("#live-timeline svg g.row").count(), 1);
  assert.equal(await page.locator("path.replay").count(), 0);
  await shot(page, "11-live-timeline");
  await context.close();
});
