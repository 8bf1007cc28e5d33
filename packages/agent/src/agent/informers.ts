/**
 * The agent's caches of the API: one informer per kind it reads, shared by every loop (each loop only adds
 * handlers through its sources). One component runs them all and counts as started once every cache is full.
 */
import {
  type Host,
  HostKind,
  type Image,
  ImageKind,
  type Instance,
  InstanceKind,
  type KObject,
  type Network,
  NetworkKind,
  type Port,
  PortKind,
  type SubnetSpec,
  SubnetKind,
} from "@kumo/api";
import { setMaxListeners } from "node:events";
import { Informer, type KumoClient } from "@kumo/client";
import type { Component, Logger } from "@kumo/runtime";

/** The informers of one agent. */
export interface AgentCaches {
  hosts: Informer<Host>;
  networks: Informer<Network>;
  subnets: Informer<KObject<SubnetSpec>>;
  ports: Informer<Port>;
  instances: Informer<Instance>;
  images: Informer<Image>;
}

/** Creates (does not start) the agent's informers. */
export function agentCaches(client: KumoClient, log: Logger): AgentCaches {
  const onError = (e: unknown) => log.warn({ err: String(e) }, "informer error");
  return {
    hosts: new Informer<Host>(client, HostKind, { onError }),
    networks: new Informer<Network>(client, NetworkKind, { onError }),
    subnets: new Informer<KObject<SubnetSpec>>(client, SubnetKind, { onError }),
    ports: new Informer<Port>(client, PortKind, { onError }),
    instances: new Informer<Instance>(client, InstanceKind, { onError }),
    images: new Informer<Image>(client, ImageKind, { onError }),
  };
}

/** Runs every informer (list + watch) until stopped; started once all have listed. */
export function cachesComponent(caches: AgentCaches): Component {
  const all = Object.values(caches) as Informer[];
  let running: Promise<void>[] = [];
  return {
    name: "informers",
    async start(signal) {
      setMaxListeners(64, signal); // every informer's list and watch listen on it
      running = all.map((i) => i.run(signal));
      const synced = await Promise.all(all.map((i) => i.waitForSync(signal)));
      if (!synced.every(Boolean)) throw new Error("stopped before the caches were filled");
    },
    // The manager aborts the start signal first; each watch then ends and its run() resolves.
    async stop() {
      await Promise.all(running);
      running = [];
    },
    snapshot: () => Object.fromEntries(Object.entries(caches).map(([k, i]) => [k, (i as Informer).stats()])),
  };
}
