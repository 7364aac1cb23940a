// supertokens-node 24.0.3 (pinned), unmodified, pointed at one app of a running `tessera serve`
// (connectionURI `<TESSERA_URL>/appid-<TESSERA_APP>`). run.sh runs this file once per app, with
// the same user and tenant names in both: each run creates its app and two tenants, sessions in
// each, lists and revokes per tenant, and never sees a session of another tenant or app.
// TESSERA_OTHER_APP names an app created by an earlier run, whose sessions must stay apart.
"use strict";

const { test } = require("node:test");
const assert = require("node:assert/strict");
const supertokens = require("supertokens-node");
const Session = require("supertokens-node/recipe/session");
const Multitenancy = require("supertokens-node/recipe/multitenancy");

const CORE = process.env.TESSERA_URL;
const API_KEY = process.env.TESSERA_API_KEY;
const APP = process.env.TESSERA_APP;
const OTHER = process.env.TESSERA_OTHER_APP;
if (!CORE || !APP) throw new Error("TESSERA_URL and TESSERA_APP must be set");

supertokens.init({
  framework: "express",
  supertokens: { connectionURI: `${CORE}/appid-${APP}`, apiKey: API_KEY },
  appInfo: {
    appName: `tessera-sdk-${APP}`,
    apiDomain: "http://localhost:3001",
    websiteDomain: "http://localhost:3000",
  },
  recipeList: [Session.init(), Multitenancy.init()],
});

// The same in every app: isolation must come from the app, not from different names.
const USER = "user-in-every-app";
const TENANTS = ["acme", "globex"];

/** A CDI call made directly, as SuperTokens' dashboard or a script would. */
async function core(method, path, body) {
  const response = await fetch(`${CORE}${path}`, {
    method,
    headers: { "content-type": "application/json", "api-key": API_KEY, "cdi-version": "5.4" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.equal(response.status, 200, `${method} ${path}: ${response.status}`);
  return response.json();
}

async function createIn(tenantId) {
  const session = await Session.createNewSessionWithoutRequestResponse(
    tenantId,
    supertokens.convertToRecipeUserId(USER),
    { app: APP },
    {}
  );
  return { session, tokens: session.getAllSessionTokensDangerously() };
}

const sorted = (handles) => [...handles].sort();

test(`app ${APP}: two tenants, sessions kept apart from other tenants and apps`, async () => {
  const app = await core("PUT", "/recipe/multitenancy/app/v2", { appId: APP });
  assert.equal(app.status, "OK");
  assert.equal(app.createdNew, true, "the app is new");
  for (const tenant of TENANTS) {
    const created = await Multitenancy.createOrUpdateTenant(tenant, { firstFactors: ["emailpassword"] });
    assert.equal(created.createdNew, true, `${tenant} is new in ${APP}`);
  }
  const listed = (await Multitenancy.listAllTenants()).tenants.map((t) => t.tenantId);
  assert.deepEqual(sorted(listed), sorted(["public", ...TENANTS]));

  const acme = [await createIn("acme"), await createIn("acme")];
  const globex = await createIn("globex");
  const verified = await Session.getSessionWithoutRequestResponse(globex.tokens.accessToken);
  assert.equal(verified.getTenantId(), "globex");
  assert.equal(verified.getAccessTokenPayload().app, APP);

  const handles = (tenantId) => Session.getAllSessionHandlesForUser(USER, true, tenantId);
  const acmeHandles = acme.map((s) => s.session.getHandle());
  assert.deepEqual(sorted(await handles("acme")), sorted(acmeHandles));
  assert.deepEqual(await handles("globex"), [globex.session.getHandle()]);
  assert.deepEqual(await handles("public"), []);
  const mine = sorted(await handles(undefined));
  assert.deepEqual(mine, sorted([...acmeHandles, globex.session.getHandle()]));

  if (OTHER) {
    // The earlier run's app has the same user and tenant names, and sessions of its own: none
    // of them is ours, none of ours is theirs.
    const theirs = await core("GET", `/appid-${OTHER}/recipe/session/user?userId=${USER}&fetchAcrossAllTenants=true`);
    assert.ok(theirs.sessionHandles.length > 0, "the other app kept its sessions");
    for (const handle of theirs.sessionHandles) assert.ok(!mine.includes(handle), handle);
  }

  // Revoke per tenant: globex goes, acme stays.
  assert.deepEqual(await Session.revokeAllSessionsForUser(USER, true, "globex"), [globex.session.getHandle()]);
  await assert.rejects(Session.refreshSessionWithoutRequestResponse(globex.tokens.refreshToken));
  assert.deepEqual(sorted(await handles("acme")), sorted(acmeHandles));
  const refreshed = await Session.refreshSessionWithoutRequestResponse(acme[0].tokens.refreshToken);
  assert.equal(refreshed.getTenantId(), "acme");
});
