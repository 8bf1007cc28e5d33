/**
 * The pure heart of every live list: a list snapshot plus the watch events after it. Kept free of
 * React and I/O so it can be unit-tested event by event (headlamp's KubeList.applyUpdate, plus 410).
 */
import type { KList, KObject, WatchEvent } from "@kumo/api";

/** A live list: items sorted by namespace/name, the resourceVersion it reflects, and whether it must be relisted. */
export interface ListState<T extends KObject = KObject> {
  items: T[];
  /** The newest resourceVersion applied (list snapshot, event or bookmark). */
  resourceVersion?: string;
  /** Set by a 410 Gone/Expired ERROR event: the watch cannot resume, the owner must relist. */
  expired: boolean;
}

/** The state before the first list arrived. */
export function emptyList<T extends KObject = KObject>(): ListState<T> {
  return { items: [], expired: false };
}

/** A fresh state from a (re)list; it replaces everything, which is what makes a relist after 410 correct. */
export function fromList<T extends KObject>(list: KList<T>): ListState<T> {
  return { items: [...list.items].sort(compareObjects), resourceVersion: list.metadata.resourceVersion, expired: false };
}

/**
 * Applies one watch event. Returns the same state object when nothing changed (stale or ignored
 * events), so React can skip the render. Stale = resourceVersion not newer than what the list already
 * reflects: such an event is already contained in the snapshot, and applying it would resurrect
 * deleted objects or roll back newer ones.
 */
export function applyWatchEvent<T extends KObject>(state: ListState<T>, ev: WatchEvent<T | unknown>): ListState<T> {
  if (ev.type === "ERROR") {
    const code = (ev.object as { code?: number } | undefined)?.code;
    return code === 410 ? { ...state, expired: true } : state;
  }
  if (state.expired) return state; // events after a 410 are meaningless until the relist
  const obj = ev.object as T;
  const rv = obj?.metadata?.resourceVersion;
  if (rv !== undefined && state.resourceVersion !== undefined && compareRv(rv, state.resourceVersion) <= 0) return state;
  const resourceVersion = rv ?? state.resourceVersion;
  if (ev.type === "BOOKMARK") return { ...state, resourceVersion };
  const key = keyOf(obj);
  const i = state.items.findIndex((o) => keyOf(o) === key);
  let items: T[];
  if (ev.type === "DELETED") {
    items = i < 0 ? state.items : state.items.filter((_, j) => j !== i);
  } else if (i >= 0) {
    items = state.items.slice();
    items[i] = obj;
  } else {
    items = [...state.items, obj].sort(compareObjects);
  }
  return { ...state, items, resourceVersion };
}

/** `namespace/name` (cluster-scoped: `name`), the identity used to match events to rows. */
export function keyOf(o: KObject): string {
  return o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name ?? ""}` : (o.metadata.name ?? "");
}

function compareObjects(a: KObject, b: KObject): number {
  const ka = keyOf(a);
  const kb = keyOf(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/**
 * Orders two resourceVersions. kumo's are store revisions (decimal integers), so they compare as
 * numbers; anything else is treated as "newer" so an unexpected format degrades to applying events.
 */
export function compareRv(a: string, b: string): number {
  if (!/^\d+$/.test(a) || !/^\d+$/.test(b)) return 1;
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
