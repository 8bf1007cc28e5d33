/** Token issuing as an admission hook: a created Token gets a generated secret, stored only as its hash and shown once. */
import { type KObject, TokenKind } from "@kumo/api";
import type { AdmissionHook, CreateRequest } from "../apiserver/admission.js";
import type { ObjectStore } from "../registry/store.js";
import { newBearerToken } from "./bootstrap.js";
import { hashToken } from "./iam-cache.js";

/** The hook that gives every new Token its secret (registered in server.ts). */
export function tokenAdmission(store: ObjectStore): AdmissionHook {
  return {
    name: "tokens",
    kinds: [TokenKind],
    async created({ ctx }: CreateRequest, created: KObject): Promise<KObject | void> {
      if (ctx.dryRun) return;
      const secret = newBearerToken();
      const statusCtx = { ...ctx, subresource: "status" as const };
      const withHash = await store.guaranteedUpdate(TokenKind, undefined, created.metadata.name!, statusCtx, (cur) => ({
        ...cur,
        status: { secretHash: hashToken(secret) },
      }));
      // The secret is returned once and never stored.
      return { ...withHash, status: { ...(withHash.status as object), bearerToken: secret } };
    },
  };
}
