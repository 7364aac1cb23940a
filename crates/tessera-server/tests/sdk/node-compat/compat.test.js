// One pinned supertokens-node release per CDI generation (package.json installs each under an
// npm alias) driving a running `tessera serve`. TESSERA_NODE_SDK names the alias to load
// (e.g. supertokens-node-16); TESSERA_URL (required), TESSERA_API_KEY and
// TESSERA_GRACE_SECONDS (the server's refresh_token_rotation_grace_period) come from run.sh.
//
// The same scenarios run for every major; the SDK's API is adapted per major:
//   14 (CDI 2.21): no tenantId anywhere, no RecipeUserId.
//   15 (CDI 3.0):  tenantId (createNew... first argument, optional on the by-user functions).
//   16+ (CDI 4.0+): RecipeUserId, and the by-user functions take a linked-accounts flag first.
"use strict";

const { test } = require("node:test");
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
const HAS_TENANTS = MAJOR >= 15;
const HAS_RECIPE_USER_ID = MAJOR >= 16;

supertokens.init({
  framework: "express",
  supertokens: { connectionURI: CORE, apiKey: process.env.TESSERA_API_KEY },
  appInfo: {
    appName: "tessera-sdk-compat",
    apiDomain: "http://localhost:3001",
    websiteDomain: "http://localhost:3000",
  },
  recipeList: [Session.init()],
});

const uid = (name) => `${name}-${MAJOR}-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;

async function create(userId, payload = {}, data = {}) {
  let session;
  if (HAS_RECIPE_USER_ID) {
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

const refresh = (refreshToken) => Session.refreshSessionWithoutRequestResponse(refreshToken);
const verify = (accessToken, checkDatabase = false) =>
  Session.getSessionWithoutRequestResponse(accessToken, undefined, checkDatabase ? { checkDatabase } : undefined);
const isType = (type) => (err) => {
  assert.equal(err.type, type, `expected ${type}, got ${err.type}: ${err.message}`);
  return true;
};

/** The header and the claims of a JWT, unverified. */
const headerOf = (jwt) => JSON.parse(Buffer.from(jwt.split(".")[0], "base64url").toString("utf8"));
const claimsOf = (jwt) => JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString("utf8"));

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
});

test("create, verify locally (JWKS) and with checkDatabase", async () => {
  const userId = uid("alice");
  const { session, tokens } = await create(userId, { role: "admin" }, { cart: 1 });
  assert.equal(session.getUserId(), userId);
  if (HAS_TENANTS) assert.equal(session.getTenantId(), "public");
  if (HAS_RECIPE_USER_ID) assert.equal(session.getRecipeUserId().getAsString(), userId);
  assert.equal(session.getAccessTokenPayload().role, "admin");
  assert.ok(tokens.accessToken && tokens.refreshToken);
  // The SDK negotiated its CDI version: tessera mints layout V3 for 2.21, V4 for 3.x, V5 after.
  const cdi = cdiSupported[cdiSupported.length - 1];
  const layout = cdi === "2.21" ? "3" : cdi.startsWith("3.") ? "4" : "5";
  assert.equal(headerOf(tokens.accessToken).version, layout);
  const claims = claimsOf(tokens.accessToken);
  assert.equal(claims.sessionHandle, session.getHandle());
  assert.equal(claims.sub, userId);
  assert.equal(claims.role, "admin");
  if (HAS_TENANTS) assert.equal(claims.tId, "public");
  if (HAS_RECIPE_USER_ID) assert.equal(claims.rsub, userId);

  const local = await verify(tokens.accessToken);
  assert.equal(local.getHandle(), session.getHandle());
  assert.equal(local.getUserId(), userId);
  assert.equal(local.getAccessTokenPayload().role, "admin");
  // A fresh token verifies locally: the SDK hands back the same token.
  assert.equal(local.getAllSessionTokensDangerously().accessAndFrontTokenUpdated, false);

  const checked = await verify(tokens.accessToken, true);
  assert.equal(checked.getHandle(), session.getHandle());
  assert.equal(checked.getUserId(), userId);
  assert.deepEqual(await checked.getSessionDataFromDatabase(), { cart: 1 });

  // A forged signature is rejected by the local (JWKS) check.
  await assert.rejects(verify(tokens.accessToken.slice(0, -6) + "AAAAAA"), isType(Session.Error.TRY_REFRESH_TOKEN));
});

test("session data read and update", async () => {
  const userId = uid("erin");
  const { session, tokens } = await create(userId, {}, { n: 1 });
  const handle = session.getHandle();
  assert.deepEqual(await session.getSessionDataFromDatabase(), { n: 1 });
  assert.equal(await Session.updateSessionDataInDatabase(handle, { n: 2, list: [1, "two"] }), true);
  const info = await Session.getSessionInformation(handle);
  assert.equal(info.sessionHandle, handle);
  assert.equal(info.userId, userId);
  if (HAS_TENANTS) assert.equal(info.tenantId, "public");
  if (HAS_RECIPE_USER_ID) assert.equal(info.recipeUserId.getAsString(), userId);
  assert.deepEqual(info.sessionDataInDatabase, { n: 2, list: [1, "two"] });
  assert.ok(info.expiry > Date.now() && info.timeCreated <= Date.now());

  const live = await verify(tokens.accessToken);
  await live.updateSessionDataInDatabase({ n: 3 });
  assert.deepEqual(await live.getSessionDataFromDatabase(), { n: 3 });
  assert.deepEqual((await Session.getSessionInformation(handle)).sessionDataInDatabase, { n: 3 });

  assert.equal(await Session.updateSessionDataInDatabase("no-such-handle", {}), false);
  assert.equal(await Session.getSessionInformation("no-such-handle"), undefined);
});

test("access-token payload update", async () => {
  const userId = uid("fay");
  const { session, tokens } = await create(userId, { role: "user" });
  const handle = session.getHandle();
  assert.equal(await Session.mergeIntoAccessTokenPayload(handle, { plan: "pro" }), true);
  const info = await Session.getSessionInformation(handle);
  assert.equal(info.customClaimsInAccessTokenPayload.plan, "pro");
  assert.equal(info.customClaimsInAccessTokenPayload.role, "user");

  // The stored payload changed: a database check hands out a token with the new claims.
  const checked = await verify(tokens.accessToken, true);
  assert.equal(checked.getAccessTokenPayload().plan, "pro");
  const checkedTokens = checked.getAllSessionTokensDangerously();
  assert.equal(checkedTokens.accessAndFrontTokenUpdated, true);
  assert.equal(claimsOf(checkedTokens.accessToken).plan, "pro");

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
  const verified = await verify(next.accessToken, true);
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

  // No checkDatabase: the SDK verifies with the JWKS and calls the server's verify by itself
  // because the token names the refresh token it replaced. The server commits the new refresh
  // token and hands back an access token without the claim, which the SDK adopts.
  const verified = await verify(next.accessToken);
  assert.equal(verified.getHandle(), session.getHandle());
  assert.equal(verified.getUserId(), userId);
  const reissued = verified.getAllSessionTokensDangerously();
  assert.equal(reissued.accessAndFrontTokenUpdated, true);
  assert.notEqual(reissued.accessToken, next.accessToken);
  assert.equal(claimsOf(reissued.accessToken).parentRefreshTokenHash1 ?? null, null);
  // The reissued token now verifies locally, without a new one.
  const local = await verify(reissued.accessToken);
  assert.equal(local.getAllSessionTokensDangerously().accessAndFrontTokenUpdated, false);

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
  await assert.rejects(verify(a.tokens.accessToken, true), isType(Session.Error.UNAUTHORISED));
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
