/**
 * HOOK: hosts for `kumo up --hosts N` / `kumo down` (network namespaces on an underlay bridge, one
 * kumo agent each). Wired in a later issue; until then `up` prints "hosts: not yet available".
 *
 * What wiring needs (see packages/agent/src/lab): the underlay bridge must exist before the server
 * starts, and the server must listen on the bridge address (agents in a netns cannot reach
 * 127.0.0.1); then `ensureLab({ home, hosts, serverUrl, ... })` in startHosts and `destroyLab` in
 * stopHosts. `up` and `down` already call these two functions at the right moments.
 */

/** What `up` knows when it starts the hosts. */
export interface HostsContext {
  home: string;
  count: number;
  apiUrl: string;
  kubeconfigPath: string;
}

/** Starts (or keeps) `count` hosts; returns the text for the "hosts:" line of `up`. */
export async function startHosts(ctx: HostsContext): Promise<string> {
  void ctx;
  return "not yet available";
}

/** Stops every host of the cloud in `home` (before the server stops, so agents deregister cleanly). */
export async function stopHosts(home: string): Promise<void> {
  void home;
}
