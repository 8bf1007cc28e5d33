/**
 * Starts a kumo server in its own process, for tests that must kill it (SIGKILL) or keep it off the
 * test's event loop. Usage:
 *   node server-launcher.js --datastore sqlite:///abs/kumo.db --data-dir DIR [--listen 127.0.0.1:0]
 * Prints one JSON line `{"ready":true,"url":…,"kubeconfigPath":…,"adminToken":…,"caCert":…}` on stdout
 * once it serves requests (the server's own JSON logs may follow on stdout too).
 */
import { runServer } from "@kumo/server";

function arg(name: string, fallback?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : fallback;
  if (v === undefined) {
    process.stderr.write(`server-launcher: --${name} is required\n`);
    process.exit(2);
  }
  return v;
}

process.env.KUMO_LOG_LEVEL ??= "warn";
const server = await runServer({
  datastore: arg("datastore"),
  dataDir: arg("data-dir"),
  listen: arg("listen", "127.0.0.1:0"),
  audit: false,
});
const ready = { ready: true, url: server.url, kubeconfigPath: server.kubeconfigPath, adminToken: server.adminToken, caCert: server.caCert };
process.stdout.write(JSON.stringify(ready) + "\n");

const stop = () => {
  void server.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
