/** Every kind kumo serves. Later issues append their kinds here. */
import { KindRegistry, type KindDefinition } from "../kind.js";
import { EventKind, NamespaceKind, SecretKind } from "./core.js";
import { HostKind } from "./infra.js";
import { NetworkKind, PortKind, SubnetKind } from "./network.js";
import { FlavorKind, ImageKind, InstanceKind } from "./compute.js";
import { ClusterRoleBindingKind, RoleBindingKind, RoleKind, TokenKind, UserKind } from "./iam.js";

export * from "./core.js";
export * from "./infra.js";
export * from "./network.js";
export * from "./compute.js";
export * from "./iam.js";
export * from "./common.js";
export * from "./instance-timeline.js";

/** The built-in kinds, in discovery order. */
export const builtinKinds: KindDefinition[] = [
  NamespaceKind,
  EventKind,
  SecretKind,
  HostKind,
  NetworkKind,
  SubnetKind,
  PortKind,
  ImageKind,
  FlavorKind,
  InstanceKind,
  UserKind,
  TokenKind,
  RoleKind,
  RoleBindingKind,
  ClusterRoleBindingKind,
];

/** A registry holding the built-in kinds. */
export function defaultRegistry(): KindRegistry {
  return new KindRegistry(builtinKinds);
}
