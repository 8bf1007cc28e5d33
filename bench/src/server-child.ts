/**
 * The benchmarked server, in its own process (as in production):
 *   node server-child.js --datastore sqlite:///abs/kumo.db --data-dir DIR
 * Prints one JSON line `{"ready":true,"url":…,"adminToken":…,"caCert":…}` once it serves requests.
 */
import { runServer } from "@kumo/server";

const arg = (name: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0 || !process.argv[i + 1]) throw new Error(`--${name} is required`);
  return process.argv[i + 1];
};

process.env.KUMO_LOG_LEVEL ??= "error";
// Production defaults (audit log on), except the port.
const server = await runServer({ datastore: arg("datastore"), dataDir: arg("data-dir"), listen: "127.0.0.1:0" });
process.stdout.write(JSON.stringify({ ready: true, url: server.url, adminToken: server.adminToken, caCert: server.caCert }) + "\n");
const stop = () =>
  void server.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
