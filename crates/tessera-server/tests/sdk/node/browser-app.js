// A small express app on supertokens-node 24.0.3 (pinned) over a running `tessera serve`, for the
// browser tests: one page with the SuperTokens frontend SDK, a login route and one protected API
// verified the SDK's default way (no database check). Settings from the environment: TESSERA_URL,
// TESSERA_API_KEY, PORT (the origin must be known before supertokens.init) and WEBSITE_BUNDLE
// (the path of supertokens-web-js's `bundle/website.*.js`). Prints "listening on <url>".
"use strict";

const express = require("express");
const supertokens = require("supertokens-node");
const Session = require("supertokens-node/recipe/session");
const { middleware, errorHandler } = require("supertokens-node/framework/express");
const { verifySession } = require("supertokens-node/recipe/session/framework/express");

const { TESSERA_URL, TESSERA_API_KEY, PORT, WEBSITE_BUNDLE } = process.env;
for (const [name, value] of Object.entries({ TESSERA_URL, PORT, WEBSITE_BUNDLE })) {
  if (!value) throw new Error(`${name} is not set`);
}
const origin = `http://127.0.0.1:${PORT}`;

supertokens.init({
  framework: "express",
  supertokens: { connectionURI: TESSERA_URL, apiKey: TESSERA_API_KEY },
  appInfo: { appName: "tessera-node-browser", apiDomain: origin, websiteDomain: origin },
  recipeList: [Session.init()],
});

const page = `<!doctype html>
<html><body>
<p>supertokens-node over tessera</p>
<script src="/sdk/website.js"></script>
<script>
  const events = [];
  supertokensWebsite.init({
    apiDomain: location.origin,
    apiBasePath: "/auth",
    onHandleEvent: (event) => events.push(event.action),
  });
  window.app = {
    events,
    async login(username) {
      const r = await fetch("/login", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username }),
      });
      return { status: r.status, frontToken: r.headers.get("front-token") };
    },
    async feed() {
      const r = await fetch("/api/feed");
      const text = await r.text();
      document.body.dataset.feed = String(r.status);
      return { status: r.status, body: text };
    },
    sessionExists: () => supertokensWebsite.doesSessionExist(),
  };
  // A fresh browser's first question probes the refresh endpoint once (answered 401).
  window.app.ready = supertokensWebsite.doesSessionExist();
</script>
</body></html>`;

const app = express();
app.use(middleware());
app.get("/", (req, res) => res.type("html").send(page));
app.get("/sdk/website.js", (req, res) => res.sendFile(WEBSITE_BUNDLE));
app.post("/login", express.json(), async (req, res, next) => {
  try {
    await Session.createNewSession(req, res, "public", supertokens.convertToRecipeUserId(req.body.username));
    res.json({ status: "OK" });
  } catch (err) {
    next(err);
  }
});
app.get("/api/feed", verifySession(), (req, res) => {
  res.json({ user: req.session.getUserId(), items: ["one", "two"] });
});
app.use(errorHandler());

const server = app.listen(Number(PORT), "127.0.0.1", () => {
  console.log(`listening on ${origin}`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
