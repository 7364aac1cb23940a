// What the browser suites (browser.test.mjs, device.test.mjs) share: Chromium's flags and
// starting the programs they drive (the demo, a `tessera` server).
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";

/** Headless Chromium without background traffic of its own. */
export const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Starts a program that prints "… listening on http(s)://…" once it listens (the demo over
 * HTTPS adds "(certificate SPKI SHA-256: …)"); resolves with a handle holding that URL and the
 * certificate's SPKI hash. `started` collects the handles; each `stop()` kills its program and
 * removes `dir`. */
export function startListening(bin, args, env, dir, started) {
  // Only the settings given here: the server would warn about CI's own TESSERA_TEST_* variables.
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith("TESSERA_")),
  );
  const child = spawn(bin, args, {
    env: { ...inherited, ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const handle = {
    stop() {
      child.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    },
  };
  started.push(handle);
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (chunk) => {
      out += chunk;
      const m = out.match(/listening on (https?:\/\/[^\s]+)(?: \(certificate SPKI SHA-256: ([^)]+)\))?/);
      if (m && !handle.url) {
        handle.url = m[1];
        handle.spki = m[2];
        resolve(handle);
      }
    });
    child.on("exit", (code) => reject(new Error(`${bin} exited with ${code} before listening`)));
  });
}

/** Starts a `tessera serve` (TESSERA_BIN) on a free port with its SQLite file in `dir`, an API
 * key and `settings` (server settings as TESSERA_* variables); resolves with the demo's
 * environment for it: TESSERA_URL and TESSERA_API_KEY. */
export async function startTesseraFor(tesseraBin, dir, settings, started) {
  const apiKey = "browser-tests-api-key";
  const server = await startListening(
    tesseraBin,
    ["serve"],
    {
      TESSERA_PORT: "0",
      TESSERA_SQLITE_PATH: join(dir, "tessera.db"),
      TESSERA_API_KEYS: apiKey,
      TESSERA_LOG: "warn",
      ...settings,
    },
    dir,
    started,
  );
  return { TESSERA_URL: server.url, TESSERA_API_KEY: apiKey };
}

