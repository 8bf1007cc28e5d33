/** Actions: create networks, subnets and instances with forms; delete with confirmation. */
import { findKind, type KindModel } from "../../lib/kinds.js";
import { useSession } from "../session.js";
import { DeletePanel } from "./delete-panel.js";
import { InstanceForm } from "./instance-form.js";
import { NetworkForm } from "./network-form.js";
import { SubnetForm } from "./subnet-form.js";

/** The Actions view; forms for kinds this server does not serve say so instead. */
export function Actions() {
  const { kinds } = useSession();
  const network = findKind(kinds, { group: "network.kumo.dev", plural: "networks" });
  const subnet = findKind(kinds, { group: "network.kumo.dev", plural: "subnets" });
  const instance = findKind(kinds, { group: "compute.kumo.dev", plural: "instances" });
  const deletable = [network, subnet, instance].filter((k): k is KindModel => !!k);
  return (
    <>
      <h1 tabIndex={-1}>Actions</h1>
      <div className="forms">
        {network ? <NetworkForm kind={network} /> : <Missing what="network.kumo.dev networks" />}
        {subnet ? <SubnetForm kind={subnet} /> : <Missing what="network.kumo.dev subnets" />}
        {instance ? <InstanceForm kind={instance} /> : <Missing what="compute.kumo.dev instances" />}
        {deletable.length > 0 && <DeletePanel kinds={deletable} />}
      </div>
    </>
  );
}

function Missing({ what }: { what: string }) {
  return (
    <section className="card">
      <p className="muted">This server does not serve {what}.</p>
    </section>
  );
}
