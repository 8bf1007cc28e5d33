/** The side navigation; the current view is marked with aria-current. */
import type { Route } from "../lib/routes.js";

const ITEMS: { view: Route["view"]; label: string; href: string }[] = [
  { view: "overview", label: "Overview", href: "#/" },
  { view: "resources", label: "Resources", href: "#/resources" },
  { view: "hosts", label: "Hosts", href: "#/hosts" },
  { view: "topology", label: "Topology", href: "#/topology" },
  { view: "metrics", label: "Metrics", href: "#/metrics" },
  { view: "actions", label: "Actions", href: "#/actions" },
];

/** Props of Nav. */
export interface NavProps {
  route: Route;
  onSignOut: () => void;
}

/** Side bar with the views and sign-out. */
export function Nav({ route, onSignOut }: NavProps) {
  const current = route.view === "detail" ? "resources" : route.view;
  return (
    <nav className="nav" aria-label="Main">
      <div className="brand">kumo</div>
      <ul>
        {ITEMS.map((i) => (
          <li key={i.view}>
            <a href={i.href} aria-current={current === i.view ? "page" : undefined}>
              {i.label}
            </a>
          </li>
        ))}
      </ul>
      <button type="button" className="signout" onClick={onSignOut}>
        Sign out
      </button>
    </nav>
  );
}
