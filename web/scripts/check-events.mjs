// Fails when the web app's realtime event types drift from the server's models: events.json must
// be what `relaydesk events-schema` prints (the models in relaydesk.protocol.events), and
// src/api/events.d.ts what json-schema-to-typescript makes of events.json (npm run gen:events).
// RELAYDESK names the relaydesk command (default: the project's ../.venv/bin/relaydesk).
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const relaydesk = process.env.RELAYDESK ?? resolve("..", ".venv", "bin", "relaydesk");
const committedSchema = readFileSync("events.json", "utf8");
const dir = mkdtempSync(join(tmpdir(), "relaydesk-events-"));
let drifted = false;
try {
  if (!existsSync(relaydesk)) {
    console.error(`${relaydesk} not found: set RELAYDESK to the relaydesk command.`);
    process.exitCode = 2;
  } else {
    const models = execFileSync(relaydesk, ["events-schema"], { encoding: "utf8" });
    if (models !== committedSchema) {
      console.error(
        "events.json differs from the event models: run " +
          "`relaydesk events-schema > web/events.json && (cd web && npm run gen:events)` and commit both.",
      );
      drifted = true;
    }
  }
  const input = join(dir, "events.json");
  const fresh = join(dir, "events.d.ts");
  writeFileSync(input, committedSchema);
  const pkg = JSON.parse(readFileSync("package.json", "utf8"));
  const banner = /--bannerComment "([^"]*)"/.exec(pkg.scripts["gen:events"])[1];
  const cli = join("node_modules", "json-schema-to-typescript", "dist", "src", "cli.js");
  execFileSync(
    process.execPath,
    [cli, "-i", input, "-o", fresh, "--unknownAny", "--bannerComment", banner],
    { stdio: "ignore" },
  );
  if (readFileSync(fresh, "utf8") !== readFileSync("src/api/events.d.ts", "utf8")) {
    console.error("src/api/events.d.ts is out of date: run `npm run gen:events` and commit it.");
    drifted = true;
  }
  if (drifted) process.exitCode = 1;
  else if (!process.exitCode) console.log("events.json and src/api/events.d.ts match the event models");
} finally {
  rmSync(dir, { recursive: true, force: true });
}
