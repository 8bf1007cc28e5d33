/**
 * Admission for network kinds: allocates a Network's VNI, reserves a Subnet's gateway, and gives a Port
 * its MAC and fixed IP before the object is stored. Claims are rolled back when the create fails. A network
 * or subnet that ports still use cannot be deleted. Registered with the API's admission in server.ts.
 */
import {
  type KObject,
  type ObjectOf,
  type Port,
  MAX_VNI,
  NetworkKind,
  SubnetKind,
  formatIPv4,
  invalid,
  parseCidr,
  parseIPv4,
  cidrContains,
  validateObject,
  type KindDefinition,
  conflict,
  PortKind,
} from "@kumo/api";
import type { AdmissionHook, CreateRequest, Rollback } from "../../apiserver/admission.js";
import type { ObjectStore } from "../../registry/store.js";
import type { AllocationOwner, Allocator } from "./allocator.js";

/** First VNI handed out (low VNIs are left for operators who pin them). */
export const FIRST_VNI = 100;
/** Locally administered unicast MAC prefix for kumo ports ("KM"). */
export const MAC_PREFIX = "02:4b:4d";

/** Pool names. */
export const pools = {
  vni: "vni",
  mac: "mac",
  ip: (namespace: string, network: string) => `ip/${namespace}/${network}`,
};

function ownerOf(kind: string, ns: string | undefined, obj: KObject): AllocationOwner {
  return { kind, namespace: ns, name: obj.metadata.name!, uid: obj.metadata.uid! };
}

/** Allocation-aware admission for Network, Subnet and Port. */
export class NetworkAdmission implements AdmissionHook {
  readonly name = "ipam";
  readonly kinds = [NetworkKind, SubnetKind, PortKind];

  constructor(
    private readonly store: ObjectStore,
    private readonly alloc: Allocator,
  ) {}

  /** Claims what the object needs (a dry run claims nothing); the uid it will be stored with owns the claims. */
  async mutate({ kind, namespace, obj, uid, ctx }: CreateRequest): Promise<Rollback | void> {
    if (ctx.dryRun) return;
    const ns = namespace ?? obj.metadata.namespace ?? "default";
    // The allocator records the owner's name: a generated one is chosen now.
    if (!obj.metadata.name && obj.metadata.generateName) obj.metadata.name = obj.metadata.generateName + uid.slice(0, 5);
    obj.metadata.uid = uid;
    try {
      if (kind === NetworkKind) return await this.network(ns, obj);
      return kind === SubnetKind ? await this.subnet(ns, obj) : await this.port(ns, obj);
    } finally {
      delete obj.metadata.uid;
    }
  }

  /** Refuses deleting a network, or its subnet, that ports other than its DHCP port still use. */
  async validateDelete(kind: KindDefinition, namespace: string | undefined, name: string): Promise<void> {
    if (kind !== SubnetKind && kind !== NetworkKind) return;
    const network = kind === NetworkKind ? name : (await this.store.get(SubnetKind, namespace, name)).spec!.network;
    const uses = (p: Port) => p.spec!.network === network && p.spec!.deviceOwner !== "network:dhcp";
    const users = (await this.store.list(PortKind, namespace)).items.filter(uses);
    if (!users.length) return;
    const names = `${users
      .slice(0, 5)
      .map((p) => p.metadata.name)
      .join(", ")}${users.length > 5 ? ", ..." : ""}`;
    const t = { group: kind.group, resource: kind.plural, name };
    throw conflict(t, `${kind.kind.toLowerCase()} is in use by ${users.length} port(s): ${names}; delete them first`);
  }

  private fail(kind: KindDefinition, obj: KObject, field: string, message: string): never {
    throw invalid({ group: kind.group, kind: kind.kind, name: obj.metadata.name }, [{ field, message, reason: "FieldValueInvalid" }]);
  }

  /**
   * Validates a defaulted copy, so `obj` is then an object of `kind` except perhaps for fields the kind's
   * defaults fill (these hooks read none of those before defaulting them).
   */
  private precheck<K extends KindDefinition>(kind: K, obj: KObject): asserts obj is ObjectOf<K> {
    // Validate before claiming anything, so a bad request never holds an address even briefly.
    const probe = structuredClone(obj);
    kind.defaults?.(probe);
    const causes = validateObject(probe, kind);
    if (causes.length) throw invalid({ group: kind.group, kind: kind.kind, name: obj.metadata.name }, causes);
  }

  /** Network: pin or allocate the VNI. */
  async network(ns: string, obj: KObject): Promise<Rollback> {
    this.precheck(NetworkKind, obj);
    const spec = (obj.spec ??= {});
    const owner = ownerOf("Network", ns, obj);
    if (spec.vni !== undefined) {
      if (!(await this.alloc.claim(pools.vni, String(spec.vni), owner)))
        this.fail(NetworkKind, obj, "spec.vni", `VNI ${spec.vni} is already used by another network`);
    } else {
      const vni = await this.alloc.claimFirstFree(
        pools.vni,
        function* () {
          for (let v = FIRST_VNI; v <= MAX_VNI; v++) yield String(v);
        },
        owner,
      );
      if (!vni) this.fail(NetworkKind, obj, "spec.vni", "no free VNI left");
      spec.vni = Number(vni);
    }
    return () => this.alloc.release(pools.vni, String(spec.vni), owner.uid);
  }

  /** Subnet: the network must exist and have no subnet yet; the gateway address is reserved. */
  async subnet(ns: string, obj: KObject): Promise<Rollback> {
    this.precheck(SubnetKind, obj);
    const spec = obj.spec!;
    SubnetKind.defaults!(obj);
    await this.networkMustExist(SubnetKind, ns, obj, spec.network);
    const others = (await this.store.list(SubnetKind, ns)).items.filter(
      (s) => s.spec!.network === spec.network && s.metadata.name !== obj.metadata.name,
    );
    if (others.length)
      this.fail(
        SubnetKind,
        obj,
        "spec.network",
        `network "${spec.network}" already has subnet "${others[0].metadata.name}" (one IPv4 subnet per network)`,
      );
    const owner = ownerOf("Subnet", ns, obj);
    if (spec.gateway && !(await this.alloc.claim(pools.ip(ns, spec.network), spec.gateway, owner)))
      this.fail(SubnetKind, obj, "spec.gateway", `${spec.gateway} is already allocated`);
    return async () => {
      if (spec.gateway) await this.alloc.release(pools.ip(ns, spec.network), spec.gateway, owner.uid);
    };
  }

  /** Port: the network must exist with a subnet; MAC and IP are claimed (or the requested ones checked). */
  async port(ns: string, obj: KObject): Promise<Rollback> {
    this.precheck(PortKind, obj);
    const spec = obj.spec!;
    await this.networkMustExist(PortKind, ns, obj, spec.network);
    const subnet = (await this.store.list(SubnetKind, ns)).items.find((s) => s.spec!.network === spec.network);
    if (!subnet)
      this.fail(
        PortKind,
        obj,
        "spec.network",
        `network "${spec.network}" has no subnet yet; create one first (kumo network create does both)`,
      );
    const sspec = subnet.spec!;
    const owner = ownerOf("Port", ns, obj);
    const rollbacks: Rollback[] = [];
    const rollback = async () => {
      for (const r of rollbacks.reverse()) await r().catch(() => undefined);
    };
    try {
      if (spec.macAddress) {
        if (!(await this.alloc.claim(pools.mac, spec.macAddress, owner)))
          this.fail(PortKind, obj, "spec.macAddress", `MAC ${spec.macAddress} is already used by another port`);
      } else {
        for (let i = 0; i < 16 && !spec.macAddress; i++) {
          const mac = randomMac();
          if (await this.alloc.claim(pools.mac, mac, owner)) spec.macAddress = mac;
        }
        if (!spec.macAddress) this.fail(PortKind, obj, "spec.macAddress", "could not generate a unique MAC address");
      }
      const mac = spec.macAddress;
      rollbacks.push(() => this.alloc.release(pools.mac, mac, owner.uid));
      const pool = pools.ip(ns, spec.network);
      const cidr = parseCidr(sspec.cidr)!;
      const requested = spec.fixedIPs?.[0]?.ipAddress;
      if (requested) {
        if (!cidrContains(cidr, requested))
          this.fail(PortKind, obj, "spec.fixedIPs[0].ipAddress", `${requested} is not inside ${sspec.cidr}`);
        if (!(await this.alloc.claim(pool, requested, owner)))
          this.fail(PortKind, obj, "spec.fixedIPs[0].ipAddress", `${requested} is already allocated on network "${spec.network}"`);
        spec.fixedIPs = [{ subnet: subnet.metadata.name!, ipAddress: requested }];
      } else {
        const ranges = sspec.allocationPools ?? [{ start: cidr.nth(2), end: cidr.last }];
        const ip = await this.alloc.claimFirstFree(
          pool,
          function* () {
            for (const r of ranges) for (let n = parseIPv4(r.start)!; n <= parseIPv4(r.end)!; n++) yield formatIPv4(n);
          },
          owner,
        );
        if (!ip)
          throw conflict(
            { group: PortKind.group, resource: PortKind.plural, name: obj.metadata.name },
            `no free IP address left on subnet "${subnet.metadata.name}" (${sspec.cidr})`,
          );
        spec.fixedIPs = [{ subnet: subnet.metadata.name!, ipAddress: ip }];
      }
      const ip = spec.fixedIPs[0].ipAddress;
      rollbacks.push(() => this.alloc.release(pool, ip, owner.uid));
    } catch (e) {
      await rollback();
      throw e;
    }
    return rollback;
  }

  private async networkMustExist(kind: KindDefinition, ns: string, obj: KObject, network: string): Promise<void> {
    try {
      await this.store.get(NetworkKind, ns, network);
    } catch {
      this.fail(kind, obj, "spec.network", `network "${network}" not found in project "${ns}"`);
    }
  }
}

function randomMac(): string {
  const b = crypto.getRandomValues(new Uint8Array(3));
  return `${MAC_PREFIX}:${[...b].map((x) => x.toString(16).padStart(2, "0")).join(":")}`;
}
