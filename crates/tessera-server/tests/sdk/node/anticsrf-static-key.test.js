// supertokens-node 24.0.3 with antiCsrf VIA_TOKEN and static signing keys, against `tessera serve`.
// `node --test` runs each file in its own process, so this file can init the SDK differently.
"use strict";

const { test } = require("node:test");
const assert = require("node:assert/strict");
const supertokens = require("supertokens-node");
const Session = require("supertokens-node/recipe/session");

const CORE = process.env.TESSERA_URL;
if (!CORE) throw new Error("TESSERA_URL is not set");

supertokens.init({
  supertokens: { connectionURI: CORE, apiKey: process.env.TESSERA_API_KEY },
  appInfo: {
    appName: "tessera-sdk-test",
    apiDomain: "http://localhost:3001",
    websiteDomain: "http://localhost:3000",
  },
  recipeList: [Session.init({ antiCsrf: "VIA_TOKEN", useDynamicAccessTokenSigningKey: false })],
});

const decodeHeader = (jwt) => JSON.parse(Buffer.from(jwt.split(".")[0], "base64url").toString());

test("anti-CSRF tokens and static keys", async () => {
  const userId = `grace-${process.pid}-${Date.now()}`;
  const session = await Session.createNewSessionWithoutRequestResponse(
    "public",
    supertokens.convertToRecipeUserId(userId)
  );
  const tokens = session.getAllSessionTokensDangerously();
  assert.ok(tokens.antiCsrfToken, "an anti-CSRF token is issued");
  assert.ok(decodeHeader(tokens.accessToken).kid.startsWith("s-"));

  const ok = await Session.getSessionWithoutRequestResponse(tokens.accessToken, tokens.antiCsrfToken, {
    antiCsrfCheck: true,
  });
  assert.equal(ok.getUserId(), userId);
  const checked = await Session.getSessionWithoutRequestResponse(tokens.accessToken, tokens.antiCsrfToken, {
    antiCsrfCheck: true,
    checkDatabase: true,
  });
  assert.equal(checked.getHandle(), session.getHandle());
  await assert.rejects(
    Session.getSessionWithoutRequestResponse(tokens.accessToken, "wrong", { antiCsrfCheck: true }),
    (err) => err.type === Session.Error.TRY_REFRESH_TOKEN
  );

  await assert.rejects(
    Session.refreshSessionWithoutRequestResponse(tokens.refreshToken, false, "wrong"),
    (err) => err.type === Session.Error.UNAUTHORISED
  );
  const refreshed = await Session.refreshSessionWithoutRequestResponse(
    tokens.refreshToken,
    false,
    tokens.antiCsrfToken
  );
  const next = refreshed.getAllSessionTokensDangerously();
  assert.ok(next.antiCsrfToken);
  assert.ok(decodeHeader(next.accessToken).kid.startsWith("s-"));
  const again = await Session.getSessionWithoutRequestResponse(next.accessToken, next.antiCsrfToken, {
    antiCsrfCheck: true,
  });
  assert.equal(again.getHandle(), session.getHandle());
});
