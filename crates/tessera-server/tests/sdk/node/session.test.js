// supertokens-node 24.0.3 (pinned in package.json) driving a running `tessera serve`.
// TESSERA_URL (required), TESSERA_API_KEY, TESSERA_GRACE_SECONDS (the server's
// refresh_token_rotation_grace_period) come from run.sh.
"use strict";

const { test, after } = require("node:test");
const assert = require("node:assert/strict");
const http = require("node:http");
const express = require("express");
const supertokens = require("supertokens-node");
const Session = require("supertokens-node/recipe/session");
const { middleware, errorHandler } = require("supertokens-node/framework/express");
const { verifySession } = require("supertokens-node/recipe/session/framework/express");

const CORE = process.env.TESSERA_URL;
if (!CORE) throw new Error("TESSERA_URL is not set");
const GRACE_MS = Number(process.env.TESSERA_GRACE_SECONDS || "1") * 1000;

supertokens.init({
  framework: "express",
  supertokens: { connectionURI: CORE, apiKey: process.env.TESSERA_API_KEY },
  appInfo: {
    appName: "tessera-sdk-test",
    apiDomain: "http://localhost:3001",
    websiteDomain: "http://localhost:3000",
  },
  recipeList: [Session.init()],
});

const uid = (name) => `${name}-${process.pid}-${Date.now()}`;

async function create(userId, payload = {}, data = {}) {
  const session = await Session.createNewSessionWithoutRequestResponse(
    "public",
    supertokens.convertToRecipeUserId(userId),
    payload,
    data
  );
  return { session, tokens: session.getAllSessionTokensDangerously() };
}

/** Waits until `deadline` (ms since epoch) by polling the clock. */
async function waitUntil(deadline) {
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(50, deadline - Date.now())));
  }
}

test("create and verify locally (JWKS) and with checkDatabase", async () => {
  const userId = uid("alice");
  const { session, tokens } = await create(userId, { role: "admin" }, { cart: 1 });
  assert.equal(session.getUserId(), userId);
  assert.equal(session.getRecipeUserId().getAsString(), userId);
  assert.equal(session.getTenantId(), "public");
  assert.equal(session.getAccessTokenPayload().role, "admin");
  assert.ok(tokens.accessToken && tokens.refreshToken);

  const local = await Session.getSessionWithoutRequestResponse(tokens.accessToken);
  assert.equal(local.getHandle(), session.getHandle());
  // The SDK puts its API domain in `iss`; it must reach the signed token unchanged.
  assert.match(String(local.getAccessTokenPayload().iss), /^http:\/\/localhost:3001/);
  assert.equal(local.getUserId(), userId);
  const checked = await Session.getSessionWithoutRequestResponse(tokens.accessToken, undefined, {
    checkDatabase: true,
  });
  assert.equal(checked.getHandle(), session.getHandle());
  assert.deepEqual(await checked.getSessionDataFromDatabase(), { cart: 1 });
});

test("refresh rotates the tokens", async () => {
  const { session, tokens } = await create(uid("bob"));
  const refreshed = await Session.refreshSessionWithoutRequestResponse(tokens.refreshToken);
  const next = refreshed.getAllSessionTokensDangerously();
  assert.equal(refreshed.getHandle(), session.getHandle());
  assert.notEqual(next.refreshToken, tokens.refreshToken);
  const verified = await Session.getSessionWithoutRequestResponse(next.accessToken, undefined, {
    checkDatabase: true,
  });
  assert.equal(verified.getHandle(), session.getHandle());
});

test("theft: a rotated refresh token reused after its child was used", async () => {
  const userId = uid("carol");
  const { session, tokens } = await create(userId);
  const rt0 = tokens.refreshToken;
  const first = await Session.refreshSessionWithoutRequestResponse(rt0);
  // The honest client uses the child, which commits the rotation.
  const second = await Session.refreshSessionWithoutRequestResponse(
    first.getAllSessionTokensDangerously().refreshToken
  );
  await waitUntil(Date.now() + GRACE_MS + 1100);
  await assert.rejects(
    Session.refreshSessionWithoutRequestResponse(rt0),
    (err) => {
      assert.equal(err.type, Session.Error.TOKEN_THEFT_DETECTED);
      assert.equal(err.payload.sessionHandle, session.getHandle());
      assert.equal(err.payload.userId, userId);
      assert.equal(err.payload.recipeUserId.getAsString(), userId);
      return true;
    }
  );
  // Tessera revoked the session.
  await assert.rejects(
    Session.refreshSessionWithoutRequestResponse(second.getAllSessionTokensDangerously().refreshToken),
    (err) => err.type === Session.Error.UNAUTHORISED
  );
  assert.equal(await Session.getSessionInformation(session.getHandle()), undefined);
});

/** The claims of a JWT, unverified. */
const claimsOf = (jwt) => JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString("utf8"));

test("theft at the replay once the refreshed access token was verified the SDK's default way", async () => {
  const userId = uid("carl");
  const { session, tokens } = await create(userId);
  const stolen = tokens.refreshToken;
  const refreshed = await Session.refreshSessionWithoutRequestResponse(stolen);
  const next = refreshed.getAllSessionTokensDangerously();
  assert.equal(typeof claimsOf(next.accessToken).parentRefreshTokenHash1, "string");

  // No checkDatabase: the SDK verifies with the JWKS, and calls the server's verify by itself
  // because the token names the refresh token it replaced. The server commits the new refresh
  // token and hands back an access token without the claim, which the SDK adopts.
  const verified = await Session.getSessionWithoutRequestResponse(next.accessToken);
  assert.equal(verified.getHandle(), session.getHandle());
  const reissued = verified.getAllSessionTokensDangerously();
  assert.notEqual(reissued.accessToken, next.accessToken);
  assert.equal(reissued.accessAndFrontTokenUpdated, true);
  assert.equal(claimsOf(reissued.accessToken).parentRefreshTokenHash1, null);

  await waitUntil(Date.now() + GRACE_MS + 50);
  await assert.rejects(Session.refreshSessionWithoutRequestResponse(stolen), (err) => {
    assert.equal(err.type, Session.Error.TOKEN_THEFT_DETECTED);
    assert.equal(err.payload.sessionHandle, session.getHandle());
    assert.equal(err.payload.userId, userId);
    return true;
  });
  assert.equal(await Session.getSessionInformation(session.getHandle()), undefined);
});

test("revoke one, revoke all, list handles", async () => {
  const userId = uid("dave");
  const a = await create(userId);
  const b = await create(userId);
  const c = await create(userId);
  const handles = await Session.getAllSessionHandlesForUser(userId);
  assert.deepEqual(
    [...handles].sort(),
    [a.session.getHandle(), b.session.getHandle(), c.session.getHandle()].sort()
  );
  assert.deepEqual(await Session.getAllSessionHandlesForUser(userId, true, "public"), handles);
  assert.equal(await Session.revokeSession(a.session.getHandle()), true);
  assert.equal(await Session.revokeSession(a.session.getHandle()), false);
  await assert.rejects(
    Session.getSessionWithoutRequestResponse(a.tokens.accessToken, undefined, { checkDatabase: true }),
    (err) => err.type === Session.Error.UNAUTHORISED
  );
  assert.deepEqual(await Session.revokeMultipleSessions([b.session.getHandle()]), [b.session.getHandle()]);
  assert.deepEqual(await Session.revokeAllSessionsForUser(userId), [c.session.getHandle()]);
  assert.deepEqual(await Session.getAllSessionHandlesForUser(userId), []);
  const d = await create(userId);
  assert.deepEqual(await Session.revokeAllSessionsForUser(userId, true, "public"), [d.session.getHandle()]);
});

test("session data and access-token payload updates", async () => {
  const userId = uid("erin");
  const { session, tokens } = await create(userId, { role: "user" }, { n: 1 });
  const handle = session.getHandle();
  assert.equal(await Session.updateSessionDataInDatabase(handle, { n: 2 }), true);
  assert.equal(await Session.mergeIntoAccessTokenPayload(handle, { plan: "pro" }), true);
  const info = await Session.getSessionInformation(handle);
  assert.equal(info.sessionHandle, handle);
  assert.equal(info.userId, userId);
  assert.equal(info.recipeUserId.getAsString(), userId);
  assert.equal(info.tenantId, "public");
  assert.deepEqual(info.sessionDataInDatabase, { n: 2 });
  assert.equal(info.customClaimsInAccessTokenPayload.plan, "pro");
  assert.equal(info.customClaimsInAccessTokenPayload.role, "user");
  assert.ok(info.expiry > Date.now() && info.timeCreated <= Date.now());

  // The stored payload changed: a database check hands out a token with the new claims.
  const checked = await Session.getSessionWithoutRequestResponse(tokens.accessToken, undefined, {
    checkDatabase: true,
  });
  assert.equal(checked.getAccessTokenPayload().plan, "pro");

  // The session object's own merge goes through /recipe/session/regenerate.
  const live = await Session.getSessionWithoutRequestResponse(tokens.accessToken);
  await live.mergeIntoAccessTokenPayload({ theme: "dark" });
  assert.equal(live.getAccessTokenPayload().theme, "dark");
  const newTokens = live.getAllSessionTokensDangerously();
  const again = await Session.getSessionWithoutRequestResponse(newTokens.accessToken);
  assert.equal(again.getAccessTokenPayload().theme, "dark");

  assert.equal(await Session.updateSessionDataInDatabase("no-such-handle", {}), false);
  assert.equal(await Session.getSessionInformation("no-such-handle"), undefined);
});

test("express app with verifySession protects a route", async (t) => {
  const app = express();
  app.use(middleware());
  app.get("/protected", verifySession(), (req, res) => {
    res.json({ userId: req.session.getUserId(), handle: req.session.getHandle() });
  });
  app.use(errorHandler());
  const server = app.listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  t.after(() => server.close());
  const port = server.address().port;

  const get = (headers) =>
    new Promise((resolve, reject) => {
      http
        .get({ host: "127.0.0.1", port, path: "/protected", headers }, (res) => {
          let body = "";
          res.on("data", (chunk) => (body += chunk));
          res.on("end", () => resolve({ status: res.statusCode, body }));
        })
        .on("error", reject);
    });

  const userId = uid("frank");
  const { session, tokens } = await create(userId);
  const viaHeader = await get({ authorization: `Bearer ${tokens.accessToken}` });
  assert.equal(viaHeader.status, 200, viaHeader.body);
  assert.deepEqual(JSON.parse(viaHeader.body), { userId, handle: session.getHandle() });
  const viaCookie = await get({ cookie: `sAccessToken=${tokens.accessToken}` });
  assert.equal(viaCookie.status, 200, viaCookie.body);
  assert.equal(JSON.parse(viaCookie.body).userId, userId);
  const anonymous = await get({});
  assert.equal(anonymous.status, 401);
  const forged = await get({ authorization: `Bearer ${tokens.accessToken.slice(0, -4)}AAAA` });
  assert.equal(forged.status, 401);
});
