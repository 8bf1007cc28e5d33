/** A list view driven by a kind's column config (headlamp's pattern): Name, Namespace, columns, Age. */
import type { KObject } from "@kumo/api";
import { cell, age } from "../../lib/format.js";
import type { KindModel } from "../../lib/kinds.js";
import { href } from "../../lib/routes.js";
import { keyOf } from "../../lib/watch-reducer.js";

/** Props of ObjectTable. */
export interface ObjectTableProps {
  kind: KindModel;
  items: KObject[];
  now: number;
  /** Show the Namespace column (all-projects view of a namespaced kind). */
  showNamespace: boolean;
}

/** The table; the name links to the detail page. */
export function ObjectTable({ kind, items, now, showNamespace }: ObjectTableProps) {
  return (
    <table className="table" aria-label={`${kind.kind} list`}>
      <thead>
        <tr>
          <th scope="col">Name</th>
          {showNamespace && <th scope="col">Project</th>}
          {kind.columns.map((c) => (
            <th scope="col" key={c.name}>
              {c.name}
            </th>
          ))}
          <th scope="col">Age</th>
        </tr>
      </thead>
      <tbody>
        {items.map((o) => (
          <tr key={keyOf(o)} data-name={o.metadata.name}>
            <th scope="row">
              <a href={href({ view: "detail", kind: kind.key, namespace: o.metadata.namespace, name: o.metadata.name ?? "" })}>
                {o.metadata.name}
              </a>
            </th>
            {showNamespace && <td>{o.metadata.namespace}</td>}
            {kind.columns.map((c) => (
              <td key={c.name}>{safeCell(() => cell(c.value(o), c.type, now))}</td>
            ))}
            <td title={o.metadata.creationTimestamp}>{age(o.metadata.creationTimestamp, now)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

// A column function written for a newer schema must not take the whole table down with it.
function safeCell(f: () => string): string {
  try {
    return f();
  } catch {
    return "?";
  }
}
