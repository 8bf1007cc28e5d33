/** checkProxyToken: only the API server's proxy token opens instance logs. */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { checkProxyToken } from "./proxy-auth.js";

describe("checkProxyToken", () => {
  let dir = "";
  let file = "";
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "kumo-proxy-auth-"));
    file = join(dir, "agent-proxy.token");
    await writeFile(file, "kumo_right\n");
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("accepts the token in the file, refuses others and none", async () => {
    assert.deepEqual(await checkProxyToken("Bearer kumo_right", file), { ok: true });
    assert.equal(((await checkProxyToken("Bearer kumo_wrong", file)) as { code: number }).code, 401);
    assert.equal(((await checkProxyToken(undefined, file)) as { code: number }).code, 401);
    assert.equal(((await checkProxyToken("Basic a3VtbzpyaWdodA==", file)) as { code: number }).code, 401);
  });

  it("follows a rotated file without a restart, and refuses everything without a file", async () => {
    await writeFile(file, "kumo_rotated\n");
    assert.equal(((await checkProxyToken("Bearer kumo_right", file)) as { code: number }).code, 401);
    assert.deepEqual(await checkProxyToken("Bearer kumo_rotated", file), { ok: true });
    assert.equal(((await checkProxyToken("Bearer kumo_rotated", undefined)) as { code: number }).code, 403);
    assert.equal(((await checkProxyToken("Bearer kumo_rotated", join(dir, "missing"))) as { code: number }).code, 403);
  });
});
