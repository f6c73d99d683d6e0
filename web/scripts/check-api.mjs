// Fails when src/api/schema.d.ts is not what openapi-typescript makes from openapi.json.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const cli = join("node_modules", "openapi-typescript", "bin", "cli.js");
const dir = mkdtempSync(join(tmpdir(), "relaydesk-api-"));
const fresh = join(dir, "schema.d.ts");
try {
  execFileSync(process.execPath, [cli, "openapi.json", "-o", fresh], { stdio: "ignore" });
  if (readFileSync(fresh, "utf8") !== readFileSync("src/api/schema.d.ts", "utf8")) {
    console.error("src/api/schema.d.ts is out of date: run `npm run gen:api` and commit it.");
    process.exitCode = 1;
  } else {
    console.log("src/api/schema.d.ts matches openapi.json");
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
