// Fails when the committed dist/ is not what the pinned tsc makes of src/: the server embeds
// dist/ (so building it needs no node), and this keeps the embedded code honest.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL("..", import.meta.url));
const out = mkdtempSync(join(tmpdir(), "provlog-explorer-"));
try {
  execFileSync(join(here, "node_modules/.bin/tsc"), ["-p", join(here, "tsconfig.json"), "--outDir", out], { stdio: "inherit" });
  const fresh = readdirSync(out).sort();
  const committed = readdirSync(join(here, "dist")).sort();
  const stale = [...new Set([...fresh, ...committed])].filter((f) => {
    const read = (dir) => {
      try {
        return readFileSync(join(dir, f), "utf8");
      } catch {
        return null;
      }
    };
    return read(out) !== read(join(here, "dist"));
  });
  if (stale.length > 0) {
    console.error(`explorer dist/ is stale (${stale.join(", ")}): run npm run build in crates/provlog-server/explorer and commit dist/`);
    process.exit(1);
  }
  console.log(`explorer dist/ matches a fresh compile (${fresh.length} files)`);
} finally {
  rmSync(out, { recursive: true, force: true });
}
