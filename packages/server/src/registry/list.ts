/** Listing objects: a range read over the kind's prefix, selectors applied after it, paginated by start key. */
import { type KindDefinition, type KList, type KObject, apiVersionOfKind, badRequest } from "@kumo/api";
import type { Backend, KeyValue } from "../storage/backend.js";
import { decode, listPrefix, objectKey } from "./codec.js";
import { matchFields, matchLabels, parseFieldSelector, parseLabelSelector, pinnedName } from "./selectors.js";

/** Options of list. */
export interface ListQuery {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
}

type Labels = ReturnType<typeof parseLabelSelector>;
type Fields = ReturnType<typeof parseFieldSelector>;

/** Lists objects with selectors and pagination (continue token = next start key). */
export async function listObjects(
  backend: Backend,
  kind: KindDefinition,
  namespace: string | undefined,
  q: ListQuery = {},
): Promise<KList> {
  const labels = parseLabelSelector(q.labelSelector);
  const fields = parseFieldSelector(q.fieldSelector);
  const prefix = listPrefix(kind, namespace);
  const items: KObject[] = [];
  let startKey: string | undefined;
  if (q.continue) {
    try {
      startKey = (JSON.parse(atob(q.continue)) as { start?: string }).start;
    } catch {
      throw badRequest(`invalid continue token "${q.continue}"; restart the list without it`);
    }
  }
  const pinned = pinnedName(fields);
  let revision = 0;
  let nextStart: string | undefined;
  if (pinned !== undefined && (!kind.namespaced || namespace)) {
    const kv = await backend.get(objectKey(kind, namespace, pinned));
    revision = await backend.currentRevision();
    if (kv) pushIfMatch(kind, kv, labels, fields, items);
  } else {
    const limit = q.limit && q.limit > 0 ? q.limit : 0;
    // Selectors filter after the range read, so read in pages until `limit` matches are found.
    for (;;) {
      const page = await backend.list(prefix, { startKey, limit: limit ? Math.max(limit, 100) : undefined });
      revision = revision || page.revision;
      let lastKey: string | undefined;
      for (const kv of page.kvs) {
        lastKey = kv.key;
        pushIfMatch(kind, kv, labels, fields, items);
        if (limit && items.length >= limit) break;
      }
      if (limit && items.length >= limit) {
        const more = lastKey !== page.kvs[page.kvs.length - 1]?.key || page.more;
        if (more) nextStart = `${lastKey}\u0000`;
        break;
      }
      if (!page.more || !lastKey) break;
      startKey = `${lastKey}\u0000`;
    }
  }
  const metadata: KList["metadata"] = { resourceVersion: String(revision) };
  if (nextStart) metadata.continue = btoa(JSON.stringify({ start: nextStart }));
  return { apiVersion: apiVersionOfKind(kind), kind: `${kind.kind}List`, metadata, items };
}

function pushIfMatch(kind: KindDefinition, kv: KeyValue, labels: Labels, fields: Fields, out: KObject[]): void {
  const obj = decode(kind, kv);
  if (matchLabels(labels, obj.metadata.labels) && matchFields(fields, obj)) out.push(obj);
}
