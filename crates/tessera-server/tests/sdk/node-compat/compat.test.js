// One pinned supertokens-node release per CDI generation (package.json installs each under an
// npm alias) driving a running `tessera serve`. TESSERA_NODE_SDK names the alias to load
// (e.g. supertokens-node-16); TESSERA_URL (required), TESSERA_API_KEY and
// TESSERA_GRACE_SECONDS (the server's refresh_token_rotation_grace_period) come from run.sh.
//
// The same scenarios run for every major; the SDK's API is adapted per major:
//   12, 13 (CDI 2.8–2.15, 2.8–2.20; the handshake era): no *WithoutRequestResponse functions and
//       no checkDatabase. The SDK fetches the signing key from /recipe/handshake and verifies the
//       V2 access tokens itself. It runs inside a real express app in this process (12 puts the
//       tokens in cookies, sIdRefreshToken included; 13 in st-access-token/st-refresh-token
//       headers, sent back as Authorization: Bearer), and its connectionURI is a recording proxy
//       in front of tessera, so the test sees which CDI version the SDK sends and which calls a
//       verification makes.
//   14 (CDI 2.21): no tenantId anywhere, no RecipeUserId.
//   15 (CDI 3.0):  tenantId (createNew... first argument, optional on the by-user functions).
//   16+ (CDI 4.0+): RecipeUserId, and the by-user functions take a linked-accounts flag first.
"use strict";

const http = require("node:http");
const { test, before, after } = require("node:test");
const assert = require("node:assert/strict");

const SDK = process.env.TESSERA_NODE_SDK;
if (!SDK) throw new Error("TESSERA_NODE_SDK is not set (e.g. supertokens-node-16)");
const CORE = process.env.TESSERA_URL;
if (!CORE) throw new Error("TESSERA_URL is not set");
const GRACE_MS = Number(process.env.TESSERA_GRACE_SECONDS || "1") * 1000;

const supertokens = require(SDK);
const Session = require(`${SDK}/recipe/session`);
const { version, cdiSupported } = require(`${SDK}/lib/build/version`);
const MAJOR = Number(version.split(".")[0]);
const HANDSHAKE_ERA = MAJOR < 14;
const COOKIES = MAJOR < 13;
const HAS_TENANTS = MAJOR >= 15;
const HAS_RECIPE_USER_ID = MAJOR >= 16;
/** The fixed header of a V2 access token (standard base64 with padding), as CDI 2.x mints it. */
const V2_HEADER = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsInZlcnNpb24iOiIyIn0=";

const servers = [];
/** The calls the SDK made to tessera through the recording proxy (handshake era only). */
const coreCalls = [];
let appURL;

async function listen(server) {
  servers.push(server);
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${server.address().port}`;
}

before(async () => {
  let connectionURI = CORE;
  if (HANDSHAKE_ERA) {
    connectionURI = await listen(recordingProxy());
    appURL = await listen(sdkApp());
  }
  supertokens.init({
    framework: "express",
    supertokens: { connectionURI, apiKey: process.env.TESSERA_API_KEY },
    appInfo: {
      appName: "tessera-sdk-compat",
      apiDomain: "http://localhost:3001",
      websiteDomain: "http://localhost:3000",
    },
    recipeList: [Session.init()],
  });
});

after(() => {
  for (const server of servers) {
    server.closeAllConnections();
    server.close();
  }
});

/** Forwards every request to tessera unchanged, noting its method, path and cdi-version header. */
function recordingProxy() {
  return http.createServer((req, res) => {
    const target = new URL(req.url, CORE);
    coreCalls.push({ method: req.method, path: target.pathname, cdi: req.headers["cdi-version"] });
    const upstream = http.request(
      target,
      { method: req.method, headers: { ...req.headers, host: target.host }, agent: false },
      (reply) => {
        res.writeHead(reply.statusCode, reply.headers);
        reply.pipe(res);
      }
    );
    upstream.on("error", (err) => {
      res.writeHead(502);
      res.end(String(err));
    });
    req.pipe(upstream);
  });
}

/** The paths of the calls to tessera that `fn` caused (handshake era; none are seen otherwise). */
async function coreCallsDuring(fn) {
  const from = coreCalls.length;
  const result = await fn();
  return { result, calls: coreCalls.slice(from).map((c) => c.path) };
}

/**
 * The handshake-era SDK in a real express app: each route calls the SDK with express's req/res
 * and answers the session's handle, user and payload, or the SuperTokens error's type and payload.
 */
function sdkApp() {
  const express = require("express");
  const app = express();
  app.use(express.json());
  const view = (s) => ({ handle: s.getHandle(), userId: s.getUserId(), payload: s.getAccessTokenPayload() });
  const route = (method, path, handler) =>
    app[method](path, async (req, res) => {
      try {
        res.json(await handler(req, res));
      } catch (err) {
        if (Session.Error.isErrorFromSuperTokens(err)) {
          res.status(400).json({ type: err.type, message: err.message, payload: err.payload ?? null });
        } else {
          res.status(500).json({ message: String(err?.stack ?? err) });
        }
      }
    });
  route("post", "/create", async (req, res) => {
    const { userId, payload, data } = req.body;
    const session = COOKIES
      ? await Session.createNewSession(res, userId, payload, data)
      : await Session.createNewSession(req, res, userId, payload, data);
    return view(session);
  });
  route("get", "/verify", async (req, res) => view(await Session.getSession(req, res)));
  route("post", "/refresh", async (req, res) => view(await Session.refreshSession(req, res)));
  route("get", "/data", async (req, res) => {
    const session = await Session.getSession(req, res);
    return { ...view(session), data: await session.getSessionData() };
  });
  route("put", "/data", async (req, res) => {
    const session = await Session.getSession(req, res);
    await session.updateSessionData(req.body.data);
    return view(session);
  });
  route("post", "/merge", async (req, res) => {
    const session = await Session.getSession(req, res);
    await session.mergeIntoAccessTokenPayload(req.body.update);
    return view(session);
  });
  return http.createServer(app);
}

/** 12's cookie jar for sIdRefreshToken, which it wants next to either token: by session handle and by refresh token. */
const idRefreshTokens = new Map();

/** One request to the express app carrying the given tokens the SDK's way; the reply and the tokens it set. */
async function callApp(method, path, { access, refresh, body } = {}) {
  const headers = {};
  if (body !== undefined) headers["content-type"] = "application/json";
  if (COOKIES) {
    const jar = [];
    if (access !== undefined) jar.push(`sAccessToken=${encodeURIComponent(access)}`);
    if (refresh !== undefined) jar.push(`sRefreshToken=${encodeURIComponent(refresh)}`);
    const id = access !== undefined ? idRefreshTokens.get(claimsOf(access).sessionHandle) : idRefreshTokens.get(refresh);
    if (id !== undefined) jar.push(`sIdRefreshToken=${encodeURIComponent(id)}`);
    if (jar.length > 0) headers.cookie = jar.join("; ");
  } else if ((access ?? refresh) !== undefined) {
    headers.authorization = `Bearer ${access ?? refresh}`;
  }
  const res = await fetch(appURL + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const reply = await res.json();
  if (res.status !== 200) {
    if (reply.type) throw Object.assign(new Error(reply.message), { type: reply.type, payload: reply.payload });
    throw new Error(`${method} ${path}: ${res.status} ${reply.message}`);
  }
  const set = {
    antiCsrfToken: res.headers.get("anti-csrf") ?? undefined,
    frontToken: res.headers.get("front-token") ?? undefined,
  };
  if (COOKIES) {
    const names = { sAccessToken: "accessToken", sRefreshToken: "refreshToken", sIdRefreshToken: "idRefreshToken" };
    for (const cookie of res.headers.getSetCookie()) {
      const pair = cookie.split(";")[0];
      const name = pair.slice(0, pair.indexOf("=")).trim();
      if (names[name]) set[names[name]] = decodeURIComponent(pair.slice(pair.indexOf("=") + 1));
    }
    if (set.idRefreshToken) {
      idRefreshTokens.set(reply.handle, set.idRefreshToken);
      if (set.refreshToken) idRefreshTokens.set(set.refreshToken, set.idRefreshToken);
    }
  } else {
    set.accessToken = res.headers.get("st-access-token") ?? undefined;
    set.refreshToken = res.headers.get("st-refresh-token") ?? undefined;
  }
  return { reply, set };
}

/** A session the express app handed out, with the surface of the later SDKs' session objects. */
class AppSession {
  constructor(reply, tokens) {
    this.reply = reply;
    this.tokens = tokens;
  }
  getHandle() {
    return this.reply.handle;
  }
  getUserId() {
    return this.reply.userId;
  }
  getAccessTokenPayload() {
    return this.reply.payload;
  }
  getAllSessionTokensDangerously() {
    return { ...this.tokens };
  }
  /** Takes the app's reply, and the access token if the SDK set a new one. */
  adopt({ reply, set }) {
    this.reply = reply;
    if (set.accessToken !== undefined) {
      this.tokens = { ...this.tokens, accessToken: set.accessToken, frontToken: set.frontToken, accessAndFrontTokenUpdated: true };
    }
    return reply;
  }
  async getSessionDataFromDatabase() {
    return this.adopt(await callApp("GET", "/data", { access: this.tokens.accessToken })).data;
  }
  async updateSessionDataInDatabase(data) {
    this.adopt(await callApp("PUT", "/data", { access: this.tokens.accessToken, body: { data } }));
  }
  async mergeIntoAccessTokenPayload(update) {
    this.adopt(await callApp("POST", "/merge", { access: this.tokens.accessToken, body: { update } }));
  }
}

/** A new session or a refreshed one: the tokens the SDK set on the response. */
function issued({ reply, set }) {
  const { accessToken, refreshToken, antiCsrfToken, frontToken } = set;
  return new AppSession(reply, { accessToken, refreshToken, antiCsrfToken, frontToken, accessAndFrontTokenUpdated: true });
}

const uid = (name) => `${name}-${MAJOR}-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;

async function create(userId, payload = {}, data = {}) {
  let session;
  if (HANDSHAKE_ERA) {
    const answer = await callApp("POST", "/create", { body: { userId, payload, data } });
    session = issued(answer);
    return { session, tokens: session.getAllSessionTokensDangerously(), idRefreshToken: answer.set.idRefreshToken };
  } else if (HAS_RECIPE_USER_ID) {
    session = await Session.createNewSessionWithoutRequestResponse(
      "public",
      supertokens.convertToRecipeUserId(userId),
      payload,
      data
    );
  } else if (HAS_TENANTS) {
    session = await Session.createNewSessionWithoutRequestResponse("public", userId, payload, data);
  } else {
    session = await Session.createNewSessionWithoutRequestResponse(userId, payload, data);
  }
  return { session, tokens: session.getAllSessionTokensDangerously() };
}

/** getAllSessionHandlesForUser / revokeAllSessionsForUser for the public tenant, per major. */
function byUser(fn, userId) {
  if (HAS_RECIPE_USER_ID) return Session[fn](userId, true, "public");
  if (HAS_TENANTS) return Session[fn](userId, "public");
  return Session[fn](userId);
}

async function refresh(refreshToken) {
  if (HANDSHAKE_ERA) return issued(await callApp("POST", "/refresh", { refresh: refreshToken }));
  return Session.refreshSessionWithoutRequestResponse(refreshToken);
}
async function verify(accessToken, checkDatabase = false) {
  if (HANDSHAKE_ERA) {
    assert.equal(checkDatabase, false, "the CDI 2.x SDKs have no checkDatabase");
    const { reply, set } = await callApp("GET", "/verify", { access: accessToken });
    return new AppSession(reply, {
      accessToken: set.accessToken ?? accessToken,
      accessAndFrontTokenUpdated: set.accessToken !== undefined,
    });
  }
  return Session.getSessionWithoutRequestResponse(accessToken, undefined, checkDatabase ? { checkDatabase } : undefined);
}

/** updateSessionDataInDatabase; before CDI 2.21 the SDK calls it updateSessionData. */
const updateData = (handle, data) =>
  HANDSHAKE_ERA ? Session.updateSessionData(handle, data) : Session.updateSessionDataInDatabase(handle, data);
/** getSessionInformation under the later SDKs' names (CDI 2.x: sessionData, accessTokenPayload). */
async function sessionInfo(handle) {
  const info = await Session.getSessionInformation(handle);
  if (!HANDSHAKE_ERA || info === undefined) return info;
  return { ...info, sessionDataInDatabase: info.sessionData, customClaimsInAccessTokenPayload: info.accessTokenPayload };
}
const isType = (type) => (err) => {
  assert.equal(err.type, type, `expected ${type}, got ${err.type}: ${err.message}`);
  return true;
};

/** The header and the claims of a JWT, unverified. */
const headerOf = (jwt) => JSON.parse(Buffer.from(jwt.split(".")[0], "base64url").toString("utf8"));
const claimsOf = (jwt) => JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString("utf8"));
/** The custom claims of an access token: V2 keeps them under userData. */
const customClaimsOf = (jwt) => (HANDSHAKE_ERA ? claimsOf(jwt).userData : claimsOf(jwt));

/** Waits until `deadline` (ms since epoch) by polling the clock. */
async function waitUntil(deadline) {
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(50, deadline - Date.now())));
  }
}

test(`${SDK} ${version} talks CDI ${cdiSupported.join(",")} to tessera`, async () => {
  const res = await fetch(`${CORE}/apiversion`, { headers: { "api-key": process.env.TESSERA_API_KEY } });
  assert.equal(res.status, 200);
  const { versions } = await res.json();
  for (const cdi of cdiSupported) assert.ok(versions.includes(cdi), `tessera does not list CDI ${cdi}`);
  if (HANDSHAKE_ERA) {
    // The SDK negotiated its newest version, fetched the signing key from /recipe/handshake and
    // got a V2 access token.
    const { tokens } = await create(uid("hank"));
    const sent = coreCalls.filter((c) => c.cdi !== undefined);
    assert.ok(sent.some((c) => c.method === "POST" && c.path === "/recipe/handshake"), "no /recipe/handshake call");
    for (const c of sent) assert.equal(c.cdi, cdiSupported[cdiSupported.length - 1], `${c.method} ${c.path}`);
    assert.equal(tokens.accessToken.split(".")[0], V2_HEADER);
  }
});

test("create, verify locally (JWKS or handshake key) and with checkDatabase", async () => {
  const userId = uid("alice");
  const { session, tokens, idRefreshToken } = await create(userId, { role: "admin" }, { cart: 1 });
  assert.equal(session.getUserId(), userId);
  if (HAS_TENANTS) assert.equal(session.getTenantId(), "public");
  if (HAS_RECIPE_USER_ID) assert.equal(session.getRecipeUserId().getAsString(), userId);
  assert.equal(session.getAccessTokenPayload().role, "admin");
  assert.ok(tokens.accessToken && tokens.refreshToken);
  const claims = claimsOf(tokens.accessToken);
  assert.equal(claims.sessionHandle, session.getHandle());
  if (HANDSHAKE_ERA) {
    // V2: the fixed header; userId, the custom claims under userData, times in milliseconds.
    assert.equal(tokens.accessToken.split(".")[0], V2_HEADER);
    assert.equal(claims.userId, userId);
    assert.deepEqual(claims.userData, { role: "admin" });
    assert.equal(typeof claims.refreshTokenHash1, "string");
    assert.equal(claims.parentRefreshTokenHash1 ?? null, null);
    assert.ok(claims.timeCreated <= Date.now() && claims.timeCreated > Date.now() - 60_000, `timeCreated ${claims.timeCreated}`);
    assert.ok(claims.expiryTime > Date.now(), `expiryTime ${claims.expiryTime}`);
    // 12 sets the idRefreshToken of tessera's reply as the sIdRefreshToken cookie.
    if (COOKIES) assert.ok(idRefreshToken, "no sIdRefreshToken cookie");
  } else {
    // The SDK negotiated its CDI version: tessera mints layout V3 for 2.21, V4 for 3.x, V5 after.
    const cdi = cdiSupported[cdiSupported.length - 1];
    const layout = cdi === "2.21" ? "3" : cdi.startsWith("3.") ? "4" : "5";
    assert.equal(headerOf(tokens.accessToken).version, layout);
    assert.equal(claims.sub, userId);
    assert.equal(claims.role, "admin");
    if (HAS_TENANTS) assert.equal(claims.tId, "public");
    if (HAS_RECIPE_USER_ID) assert.equal(claims.rsub, userId);
  }

  const { result: local, calls } = await coreCallsDuring(() => verify(tokens.accessToken));
  assert.equal(local.getHandle(), session.getHandle());
  assert.equal(local.getUserId(), userId);
  assert.equal(local.getAccessTokenPayload().role, "admin");
  // A fresh token verifies locally: the SDK hands back the same token (and, in the handshake
  // era, calls tessera for nothing: the key from the handshake suffices).
  assert.equal(local.getAllSessionTokensDangerously().accessAndFrontTokenUpdated, false);
  assert.deepEqual(calls, []);

  if (HANDSHAKE_ERA) {
    assert.deepEqual(await local.getSessionDataFromDatabase(), { cart: 1 });
  } else {
    const checked = await verify(tokens.accessToken, true);
    assert.equal(checked.getHandle(), session.getHandle());
    assert.equal(checked.getUserId(), userId);
    assert.deepEqual(await checked.getSessionDataFromDatabase(), { cart: 1 });
  }

  // A forged signature is rejected by the local check.
  await assert.rejects(verify(tokens.accessToken.slice(0, -6) + "AAAAAA"), isType(Session.Error.TRY_REFRESH_TOKEN));
});

test("session data read and update", async () => {
  const userId = uid("erin");
  const { session, tokens } = await create(userId, {}, { n: 1 });
  const handle = session.getHandle();
  assert.deepEqual(await session.getSessionDataFromDatabase(), { n: 1 });
  assert.equal(await updateData(handle, { n: 2, list: [1, "two"] }), true);
  const info = await sessionInfo(handle);
  assert.equal(info.sessionHandle, handle);
  assert.equal(info.userId, userId);
  if (HAS_TENANTS) assert.equal(info.tenantId, "public");
  if (HAS_RECIPE_USER_ID) assert.equal(info.recipeUserId.getAsString(), userId);
  assert.deepEqual(info.sessionDataInDatabase, { n: 2, list: [1, "two"] });
  assert.ok(info.expiry > Date.now() && info.timeCreated <= Date.now());

  const live = await verify(tokens.accessToken);
  await live.updateSessionDataInDatabase({ n: 3 });
  assert.deepEqual(await live.getSessionDataFromDatabase(), { n: 3 });
  assert.deepEqual((await sessionInfo(handle)).sessionDataInDatabase, { n: 3 });

  assert.equal(await updateData("no-such-handle", {}), false);
  assert.equal(await Session.getSessionInformation("no-such-handle"), undefined);
});

test("access-token payload update", async () => {
  const userId = uid("fay");
  const { session, tokens } = await create(userId, { role: "user" });
  const handle = session.getHandle();
  assert.equal(await Session.mergeIntoAccessTokenPayload(handle, { plan: "pro" }), true);
  const info = await sessionInfo(handle);
  assert.equal(info.customClaimsInAccessTokenPayload.plan, "pro");
  assert.equal(info.customClaimsInAccessTokenPayload.role, "user");

  let checkedTokens;
  if (HANDSHAKE_ERA) {
    // No checkDatabase before CDI 2.21: the stored payload reaches the client at the next refresh.
    const refreshed = await refresh(tokens.refreshToken);
    assert.equal(refreshed.getAccessTokenPayload().plan, "pro");
    checkedTokens = refreshed.getAllSessionTokensDangerously();
  } else {
    // The stored payload changed: a database check hands out a token with the new claims.
    const checked = await verify(tokens.accessToken, true);
    assert.equal(checked.getAccessTokenPayload().plan, "pro");
    checkedTokens = checked.getAllSessionTokensDangerously();
    assert.equal(checkedTokens.accessAndFrontTokenUpdated, true);
  }
  assert.equal(customClaimsOf(checkedTokens.accessToken).plan, "pro");

  // The session object's own merge goes through /recipe/session/regenerate, which stores the
  // object's whole payload (so start from the token carrying `plan`).
  const live = await verify(checkedTokens.accessToken);
  assert.equal(live.getAccessTokenPayload().plan, "pro");
  await live.mergeIntoAccessTokenPayload({ theme: "dark" });
  assert.equal(live.getAccessTokenPayload().theme, "dark");
  const regenerated = live.getAllSessionTokensDangerously().accessToken;
  assert.notEqual(regenerated, checkedTokens.accessToken);
  const again = await verify(regenerated);
  assert.equal(again.getAccessTokenPayload().theme, "dark");
  assert.equal(again.getAccessTokenPayload().plan, "pro");
  assert.equal(again.getHandle(), handle);

  assert.equal(await Session.mergeIntoAccessTokenPayload("no-such-handle", { x: 1 }), false);
});

test("refresh rotates the tokens", async () => {
  const userId = uid("bob");
  const { session, tokens } = await create(userId, { role: "r" });
  const refreshed = await refresh(tokens.refreshToken);
  const next = refreshed.getAllSessionTokensDangerously();
  assert.equal(refreshed.getHandle(), session.getHandle());
  assert.equal(refreshed.getUserId(), userId);
  assert.equal(refreshed.getAccessTokenPayload().role, "r");
  assert.ok(next.refreshToken && next.accessToken);
  assert.notEqual(next.refreshToken, tokens.refreshToken);
  assert.notEqual(next.accessToken, tokens.accessToken);
  const verified = await verify(next.accessToken, !HANDSHAKE_ERA);
  assert.equal(verified.getHandle(), session.getHandle());
  // The new refresh token refreshes again.
  const third = await refresh(next.refreshToken);
  assert.equal(third.getHandle(), session.getHandle());
  assert.notEqual(third.getAllSessionTokensDangerously().refreshToken, next.refreshToken);
});

test("first verification of a refreshed access token, the SDK's default way", async () => {
  const userId = uid("carl");
  const { session, tokens } = await create(userId);
  const stolen = tokens.refreshToken;
  const refreshed = await refresh(stolen);
  const next = refreshed.getAllSessionTokensDangerously();
  assert.equal(typeof claimsOf(next.accessToken).parentRefreshTokenHash1, "string");

  // No checkDatabase: the SDK verifies with the JWKS (the handshake key) and calls the server's
  // verify by itself because the token names the refresh token it replaced. The server commits
  // the new refresh token and hands back an access token without the claim, which the SDK adopts.
  const { result: verified, calls } = await coreCallsDuring(() => verify(next.accessToken));
  if (HANDSHAKE_ERA) assert.deepEqual(calls, ["/recipe/session/verify"]);
  assert.equal(verified.getHandle(), session.getHandle());
  assert.equal(verified.getUserId(), userId);
  const reissued = verified.getAllSessionTokensDangerously();
  assert.equal(reissued.accessAndFrontTokenUpdated, true);
  assert.notEqual(reissued.accessToken, next.accessToken);
  assert.equal(claimsOf(reissued.accessToken).parentRefreshTokenHash1 ?? null, null);
  // The reissued token now verifies locally, without a new one.
  const again = await coreCallsDuring(() => verify(reissued.accessToken));
  assert.equal(again.result.getAllSessionTokensDangerously().accessAndFrontTokenUpdated, false);
  assert.deepEqual(again.calls, []);

  // The rotation is committed: replaying the parent refresh token past the grace period is theft.
  await waitUntil(Date.now() + GRACE_MS + 50);
  await assert.rejects(refresh(stolen), (err) => {
    isType(Session.Error.TOKEN_THEFT_DETECTED)(err);
    assert.equal(err.payload.sessionHandle, session.getHandle());
    assert.equal(err.payload.userId, userId);
    return true;
  });
  assert.equal(await Session.getSessionInformation(session.getHandle()), undefined);
});

test("theft: a rotated refresh token reused after its child was used", async () => {
  const userId = uid("carol");
  const { session, tokens } = await create(userId);
  const rt0 = tokens.refreshToken;
  const first = await refresh(rt0);
  // The honest client uses the child, which commits the rotation.
  const second = await refresh(first.getAllSessionTokensDangerously().refreshToken);
  await waitUntil(Date.now() + GRACE_MS + 1100);
  await assert.rejects(refresh(rt0), (err) => {
    isType(Session.Error.TOKEN_THEFT_DETECTED)(err);
    assert.equal(err.payload.sessionHandle, session.getHandle());
    assert.equal(err.payload.userId, userId);
    if (HAS_RECIPE_USER_ID) assert.equal(err.payload.recipeUserId.getAsString(), userId);
    return true;
  });
  // The session is revoked: the honest client's newest refresh token is dead too.
  await assert.rejects(
    refresh(second.getAllSessionTokensDangerously().refreshToken),
    isType(Session.Error.UNAUTHORISED)
  );
  assert.equal(await Session.getSessionInformation(session.getHandle()), undefined);
});

test("revoke a session by handle, then refresh fails", async () => {
  const userId = uid("dave");
  const a = await create(userId);
  const b = await create(userId);
  assert.equal(await Session.revokeSession(a.session.getHandle()), true);
  assert.equal(await Session.revokeSession(a.session.getHandle()), false);
  await assert.rejects(refresh(a.tokens.refreshToken), isType(Session.Error.UNAUTHORISED));
  // (Before CDI 2.21 there is no database check: the access token stays valid until it expires.)
  if (!HANDSHAKE_ERA) await assert.rejects(verify(a.tokens.accessToken, true), isType(Session.Error.UNAUTHORISED));
  assert.equal(await Session.getSessionInformation(a.session.getHandle()), undefined);
  // The user's other session is untouched.
  const other = await refresh(b.tokens.refreshToken);
  assert.equal(other.getHandle(), b.session.getHandle());
});

test("revokeAllSessionsForUser", async () => {
  const userId = uid("gus");
  const bystander = await create(uid("hal"));
  const a = await create(userId);
  const b = await create(userId);
  const revoked = await byUser("revokeAllSessionsForUser", userId);
  assert.deepEqual([...revoked].sort(), [a.session.getHandle(), b.session.getHandle()].sort());
  await assert.rejects(refresh(a.tokens.refreshToken), isType(Session.Error.UNAUTHORISED));
  await assert.rejects(refresh(b.tokens.refreshToken), isType(Session.Error.UNAUTHORISED));
  assert.deepEqual(await byUser("revokeAllSessionsForUser", userId), []);
  // Another user's session survives.
  assert.equal((await Session.getSessionInformation(bystander.session.getHandle())).sessionHandle, bystander.session.getHandle());
});

test("getAllSessionHandlesForUser", async () => {
  const userId = uid("ivy");
  assert.deepEqual(await byUser("getAllSessionHandlesForUser", userId), []);
  const created = [];
  for (let i = 0; i < 3; i++) created.push((await create(userId)).session.getHandle());
  await create(uid("jon"));
  const handles = await Session.getAllSessionHandlesForUser(userId);
  assert.deepEqual([...handles].sort(), [...created].sort());
  assert.deepEqual([...(await byUser("getAllSessionHandlesForUser", userId))].sort(), [...created].sort());
  assert.equal(await Session.revokeSession(created[0]), true);
  assert.deepEqual([...(await Session.getAllSessionHandlesForUser(userId))].sort(), created.slice(1).sort());
});
