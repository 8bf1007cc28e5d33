/** Route → view. */
import type { Route } from "../../lib/routes.js";
import { Actions } from "./actions.js";
import { Hosts } from "./hosts.js";
import { Metrics } from "./metrics.js";
import { Overview } from "./overview.js";
import { ResourceDetail } from "./resource-detail.js";
import { Resources } from "./resources.js";
import { Topology } from "./topology.js";

/** Renders the view of a route. */
export function ViewFor({ route }: { route: Route }) {
  switch (route.view) {
    case "overview":
      return <Overview />;
    case "resources":
      return <Resources route={route} />;
    case "detail":
      return <ResourceDetail route={route} />;
    case "hosts":
      return <Hosts />;
    case "topology":
      return <Topology />;
    case "metrics":
      return <Metrics />;
    case "actions":
      return <Actions />;
    default:
      return (
        <>
          <h1 tabIndex={-1}>Not found</h1>
          <p>
            Nothing lives at <code>{route.path}</code>. <a href="#/">Back to the overview</a>.
          </p>
        </>
      );
  }
}
