/** `kumo server`: runs the API server in the foreground until SIGINT/SIGTERM, then closes it cleanly. */
import type { Command } from "commander";
import { UserError } from "../errors.js";

interface ServerFlags {
  dataDir?: string;
  datastore?: string;
  listen: string;
  extraListen?: string[];
  schedulePolicy: string;
}

/** Registers `server`. */
export function register(program: Command): void {
  program
    .command("server")
    .description("run the kumo API server in the foreground")
    .option("--data-dir <dir>", "where the store, certificates and kubeconfig live (default: $KUMO_HOME or /var/lib/kumo)")
    .option("--datastore <url>", "store URL: sqlite:///path/kumo.db (default under --data-dir) or memory://")
    .option("--listen <addr>", "HOST:PORT to serve HTTPS on", "127.0.0.1:6443")
    .option("--schedule-policy <policy>", "where the scheduler puts instances: spread (least allocated host) or pack", "spread")
    .option("--extra-listen <addr...>", "more HOST:PORT addresses serving the same API (e.g. the host lab's bridge address)")
    .action(async (o: ServerFlags) => {
      // Loaded here so other commands do not pay for the server's dependencies (sqlite, TLS, ...).
      const { runServer } = await import("@kumo/server");
      const dataDir = o.dataDir ?? process.env.KUMO_HOME ?? "/var/lib/kumo";
      if (o.schedulePolicy !== "spread" && o.schedulePolicy !== "pack")
        throw new UserError(`--schedule-policy must be spread or pack, not "${o.schedulePolicy}"`);
      const srv = await runServer({
        dataDir,
        datastore: o.datastore,
        listen: o.listen,
        extraListen: o.extraListen,
        schedulePolicy: o.schedulePolicy,
      });
      process.stderr.write(`kumo server listening on ${srv.url} (kubeconfig: ${srv.kubeconfigPath})\n`);
      await new Promise<void>((resolve) => {
        let stopping = false;
        const stop = (sig: NodeJS.Signals) => {
          if (stopping) {
            // A second signal means "now": do not wait for a close that hangs.
            process.stderr.write(`kumo server: second ${sig}, exiting without waiting\n`);
            process.exit(1);
          }
          stopping = true;
          process.stderr.write(`kumo server: ${sig}, shutting down\n`);
          srv.close().then(resolve, (e: unknown) => {
            process.stderr.write(`kumo server: shutdown failed: ${e instanceof Error ? e.message : String(e)}\n`);
            process.exitCode = 1;
            resolve();
          });
        };
        process.on("SIGINT", stop);
        process.on("SIGTERM", stop);
      });
    });
}
