// supertokens-node 24.0.3 (pinned) with its multitenancy recipe, unmodified, against a running
// `tessera serve` (TESSERA_URL, TESSERA_API_KEY from run.sh): two tenants created, sessions in
// each, listed and revoked per tenant, no tenant seeing another's, an unknown tenant refused,
// and a deleted tenant's sessions revoked with it.
"use strict";

const { test } = require("node:test");
const assert = require("node:assert/strict");
const supertokens = require("supertokens-node");
const Session = require("supertokens-node/recipe/session");
const Multitenancy = require("supertokens-node/recipe/multitenancy");

const CORE = process.env.TESSERA_URL;
if (!CORE) throw new Error("TESSERA_URL is not set");

supertokens.init({
  framework: "express",
  supertokens: { connectionURI: CORE, apiKey: process.env.TESSERA_API_KEY },
  appInfo: {
    appName: "tessera-sdk-tenants",
    apiDomain: "http://localhost:3001",
    websiteDomain: "http://localhost:3000",
  },
  recipeList: [Session.init(), Multitenancy.init()],
});

const suffix = `${process.pid}-${Date.now()}`;
const ACME = `acme-${suffix}`;
const GLOBEX = `globex-${suffix}`;
const USER = `shared-user-${suffix}`;

async function createIn(tenantId, note) {
  const session = await Session.createNewSessionWithoutRequestResponse(
    tenantId,
    supertokens.convertToRecipeUserId(USER),
    {},
    { note }
  );
  return { session, tokens: session.getAllSessionTokensDangerously() };
}

const sorted = (handles) => [...handles].sort();

test("two tenants: created, listed, sessions kept apart, revoked per tenant, deleted", async () => {
  const created = await Multitenancy.createOrUpdateTenant(ACME, { firstFactors: ["emailpassword"] });
  assert.equal(created.status, "OK");
  assert.equal(created.createdNew, true);
  const updated = await Multitenancy.createOrUpdateTenant(ACME, { firstFactors: ["thirdparty"] });
  assert.equal(updated.createdNew, false);
  assert.equal((await Multitenancy.createOrUpdateTenant(GLOBEX, {})).createdNew, true);

  const acme = await Multitenancy.getTenant(ACME);
  assert.equal(acme.tenantId, ACME);
  assert.deepEqual(acme.firstFactors, ["thirdparty"]);
  assert.equal(await Multitenancy.getTenant(`nobody-${suffix}`), undefined);
  const listed = (await Multitenancy.listAllTenants()).tenants.map((t) => t.tenantId);
  for (const id of ["public", ACME, GLOBEX]) assert.ok(listed.includes(id), `${id} in ${listed}`);

  const acme1 = await createIn(ACME, "acme laptop");
  const acme2 = await createIn(ACME, "acme phone");
  const globex = await createIn(GLOBEX, "globex laptop");
  const pub = await createIn("public", "public laptop");
  assert.equal(acme1.session.getTenantId(), ACME);
  const verified = await Session.getSessionWithoutRequestResponse(globex.tokens.accessToken);
  assert.equal(verified.getTenantId(), GLOBEX);

  // Each tenant lists its own sessions only; without a tenant, the user's sessions everywhere.
  const handles = (tenantId) => Session.getAllSessionHandlesForUser(USER, true, tenantId);
  assert.deepEqual(
    sorted(await handles(ACME)),
    sorted([acme1.session.getHandle(), acme2.session.getHandle()])
  );
  assert.deepEqual(await handles(GLOBEX), [globex.session.getHandle()]);
  assert.deepEqual(await handles("public"), [pub.session.getHandle()]);
  assert.equal((await handles(undefined)).length, 4);

  // Revoking the user in one tenant leaves the others.
  const revoked = await Session.revokeAllSessionsForUser(USER, true, GLOBEX);
  assert.deepEqual(revoked, [globex.session.getHandle()]);
  assert.deepEqual(await handles(GLOBEX), []);
  assert.equal((await handles(ACME)).length, 2);
  await assert.rejects(Session.refreshSessionWithoutRequestResponse(globex.tokens.refreshToken));
  const stillThere = await Session.refreshSessionWithoutRequestResponse(acme1.tokens.refreshToken);
  assert.equal(stillThere.getTenantId(), ACME);

  // A session in a tenant that does not exist is refused, with no session made.
  await assert.rejects(createIn(`nobody-${suffix}`, "x"), /400|not found|tenant/i);
  assert.equal((await handles(undefined)).length, 3);

  // Deleting a tenant revokes its sessions and no other tenant's.
  const removed = await Multitenancy.deleteTenant(ACME);
  assert.equal(removed.didExist, true);
  assert.equal((await Multitenancy.deleteTenant(ACME)).didExist, false);
  assert.equal(await Multitenancy.getTenant(ACME), undefined);
  await assert.rejects(Session.refreshSessionWithoutRequestResponse(acme2.tokens.refreshToken));
  const left = await handles(undefined);
  assert.deepEqual(left, [pub.session.getHandle()]);
  const publicStill = await Session.getSessionWithoutRequestResponse(pub.tokens.accessToken, undefined, {
    checkDatabase: true,
  });
  assert.equal(publicStill.getHandle(), pub.session.getHandle());
});
