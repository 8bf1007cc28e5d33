/**
 * Durability: the server (a child process on sqlite) is killed with SIGKILL while 32 clients create Hosts;
 * after a restart on the same data dir, every create that was acknowledged (201) must be there.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, describe, it } from "node:test";
import { ApiClient, type ChildServer, HOSTS, killChild, makeTempDir, removeDir, startChildServer, stopChildServer } from "./helpers.js";

const WRITERS = 32;
const WRITE_FOR_MS = 1_500;

describe("kill -9 during 32-way concurrent creates", () => {
  let dir: string | undefined;
  let first: ChildServer | undefined;
  let second: ChildServer | undefined;
  const clients: ApiClient[] = [];

  after(async () => {
    for (const c of clients) c.close();
    if (killChild(first?.child)) await first?.exited;
    await stopChildServer(second);
    await removeDir(dir);
  });

  it("every acknowledged create is there after a restart", { timeout: 45_000 }, async (t) => {
    dir = await makeTempDir("crash");
    const datastore = `sqlite://${join(dir, "kumo.db")}`;
    first = await startChildServer(dir, datastore);
    const api = new ApiClient(first.url, first.caCert, first.adminToken, WRITERS);
    clients.push(api);

    const acked = new Map<string, number>(); // name → cpu sent
    const refused: string[] = [];
    const transportErrors: string[] = [];
    let stop = false;
    let seq = 0;
    const writer = async (w: number) => {
      while (!stop) {
        const n = seq++;
        const name = `crash-${w}-${n}`;
        try {
          const r = await api.request("POST", `${HOSTS}?fieldManager=crash-test`, {
            body: { metadata: { name }, spec: { capacity: { cpu: n } } },
            skipParse: true,
          });
          if (r.status === 201) acked.set(name, n);
          else refused.push(`${name}: ${r.status} ${r.text.slice(0, 200)}`);
        } catch (e) {
          transportErrors.push(String(e)); // the kill cuts in-flight requests: not acknowledged
          return;
        }
      }
    };
    const writers = Array.from({ length: WRITERS }, (_, w) => writer(w));
    await sleep(WRITE_FOR_MS);
    const ackedAtKill = acked.size;
    assert.ok(killChild(first.child, "SIGKILL"), "the server was running when killed");
    assert.equal(await first.exited, "SIGKILL");
    stop = true;
    await Promise.all(writers);
    api.close();

    assert.deepEqual(refused, [], "no create was refused before the kill");
    assert.ok(acked.size >= 100, `enough acknowledged creates to mean something (got ${acked.size})`);
    assert.ok(transportErrors.length > 0, "requests were in flight when the server died");
    t.diagnostic(`${acked.size} creates acknowledged in ${WRITE_FOR_MS} ms, ${transportErrors.length} cut off by the kill`);
    // Acks that arrived between the kill signal and the process' death are still acks.
    assert.ok(acked.size >= ackedAtKill);

    second = await startChildServer(dir, datastore);
    const api2 = new ApiClient(second.url, second.caCert, second.adminToken, WRITERS);
    clients.push(api2);
    const names = [...acked.keys()];
    const missing: string[] = [];
    const wrong: string[] = [];
    let i = 0;
    await Promise.all(
      Array.from({ length: WRITERS }, async () => {
        while (i < names.length) {
          const name = names[i++];
          const r = await api2.request("GET", `${HOSTS}/${name}`);
          if (r.status === 404) missing.push(name);
          else if (r.status !== 200) wrong.push(`${name}: ${r.status} ${r.text.slice(0, 200)}`);
          else if (r.body.spec?.capacity?.cpu !== acked.get(name))
            wrong.push(`${name}: cpu ${r.body.spec?.capacity?.cpu} != ${acked.get(name)}`);
        }
      }),
    );
    assert.deepEqual(wrong, [], "acknowledged objects read back as written");
    assert.deepEqual(missing.slice(0, 20), [], `${missing.length} of ${acked.size} acknowledged creates lost after kill -9`);

    // The restarted server is fully usable: it lists everything and accepts writes.
    const list = await api2.request("GET", HOSTS);
    assert.equal(list.status, 200, list.text);
    assert.ok(list.body.items.length >= acked.size, `list has ${list.body.items.length} ≥ ${acked.size} hosts`);
    const w = await api2.request("POST", HOSTS, { body: { metadata: { name: "after-restart" } } });
    assert.equal(w.status, 201, w.text);
  });
});
