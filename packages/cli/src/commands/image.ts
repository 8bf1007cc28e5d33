/**
 * `kumo image upload NAME --format F (--file F | --kernel F --initrd F)` and `kumo image list`.
 * Each part is hashed locally and sent raw with `PUT .../images/NAME/blobs/PART?sha256=HEX`: the server
 * refuses a body that does not hash to that digest, so a corrupted transfer is never stored. Parts the
 * image already has with the same digest are skipped, which makes re-running an upload (make up) free.
 */
import { createHash } from "node:crypto";
import { createReadStream, statSync } from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import type { Command } from "commander";
import cliProgress from "cli-progress";
import { IMAGE_PARTS, type Image, type ImageFormat, ImageKind, isNotFound } from "@kumo/api";
import { errorFromResponse } from "@kumo/client";
import type { Connection } from "../config.js";
import { CliContext } from "../context.js";
import { UserError } from "../errors.js";
import { formatTable } from "../print/table.js";

interface UploadOptions {
  format: string;
  file?: string;
  kernel?: string;
  initrd?: string;
  description?: string;
  cmdline?: string;
}

/** Registers `image` (alias `img`). */
export function register(program: Command): void {
  const img = program.command("image").alias("img").description("images for instances: upload, list");
  img
    .command("upload")
    .description("create or update an image from local files (sha256 computed here, verified by the server)")
    .argument("<name>", "image name")
    .requiredOption("--format <format>", `one of ${Object.keys(IMAGE_PARTS).join(", ")}`)
    .option("--file <file>", "the tarball (rootfs-tar) or disk (qcow2, raw)")
    .option("--kernel <file>", "kernel (kernel+initrd)")
    .option("--initrd <file>", "initramfs (kernel+initrd)")
    .option("--description <text>", "description")
    .option("--cmdline <args>", "extra kernel command line (kernel+initrd)")
    .action(async (name: string, o: UploadOptions, cmd: Command) => {
      const ctx = CliContext.from(cmd);
      const parts = partFiles(o);
      const format = o.format as ImageFormat;
      let image = await ensureImage(ctx, name, format, o);
      for (const [part, file] of Object.entries(parts)) {
        const size = statSync(file).size;
        const sha = await hashFile(file, size, `hashing ${part}`);
        if (image.status?.blobs?.[part]?.sha256 === sha) {
          process.stdout.write(`${part}: already uploaded (sha256 ${sha.slice(0, 12)}…)\n`);
          continue;
        }
        const t0 = Date.now();
        await putBlob(ctx.connection, name, part, file, size, sha);
        process.stdout.write(
          `${part}: uploaded ${(size / 1048576).toFixed(1)} MiB in ${((Date.now() - t0) / 1000).toFixed(1)}s ` +
            `(sha256 ${sha.slice(0, 12)}…)\n`,
        );
      }
      image = await ctx.client.get(ImageKind, undefined, name);
      process.stdout.write(`image/${name} ${image.status?.phase ?? "Pending"} (${format})\n`);
    });
  img
    .command("list")
    .alias("ls")
    .description("list images")
    .action(async (_o: unknown, cmd: Command) => {
      const ctx = CliContext.from(cmd);
      const t = await ctx.client.table(ImageKind, undefined);
      if (!t.rows.length) return void process.stderr.write("No images (kumo image upload NAME --format ... --file ...).\n");
      process.stdout.write(formatTable(t).join("\n") + "\n");
    });
}

/** Part name → local file for a format; throws a UserError naming what is missing. */
export function partFiles(o: UploadOptions): Record<string, string> {
  const parts = (IMAGE_PARTS as Record<string, readonly string[]>)[o.format];
  if (!parts) throw new UserError(`unknown image format "${o.format}": use one of ${Object.keys(IMAGE_PARTS).join(", ")}`);
  const files: Record<string, string | undefined> =
    o.format === "kernel+initrd" ? { kernel: o.kernel, initrd: o.initrd } : { [parts[0]]: o.file };
  const missing = Object.entries(files)
    .filter(([, f]) => !f)
    .map(([p]) => (o.format === "kernel+initrd" ? `--${p}` : "--file"));
  if (missing.length) throw new UserError(`format ${o.format} needs ${missing.join(" and ")}`);
  for (const f of Object.values(files)) {
    try {
      if (!statSync(f!).isFile()) throw new Error();
    } catch {
      throw new UserError(`${f} is not a readable file`);
    }
  }
  return files as Record<string, string>;
}

// Gets the image, or creates it; an existing image of another format is an error (parts differ).
async function ensureImage(ctx: CliContext, name: string, format: ImageFormat, o: UploadOptions): Promise<Image> {
  try {
    const cur = await ctx.client.get(ImageKind, undefined, name);
    if (cur.spec?.format !== format)
      throw new UserError(`image ${name} exists with format ${cur.spec?.format}: delete it first (kumo delete image ${name})`);
    return cur;
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
  const spec = { format, ...(o.description ? { description: o.description } : {}), ...(o.cmdline ? { cmdline: o.cmdline } : {}) };
  const image: Image = { apiVersion: "compute.kumo.dev/v1", kind: "Image", metadata: { name }, spec };
  return ctx.client.create(ImageKind, image, { fieldManager: "kumo-cli" });
}

function bar(label: string, total: number): cliProgress.SingleBar | undefined {
  if (!process.stderr.isTTY) return undefined;
  const b = new cliProgress.SingleBar(
    {
      format: `${label.padEnd(16)} [{bar}] {percentage}%  {value}/{total} MiB`,
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  b.start(Math.max(0.1, +(total / 1048576).toFixed(1)), 0);
  return b;
}

/** sha256 of a file (hex), streamed, with a progress bar on a terminal. */
export async function hashFile(file: string, size: number, label = "hashing"): Promise<string> {
  const h = createHash("sha256");
  const b = bar(label, size);
  let done = 0;
  try {
    for await (const chunk of createReadStream(file)) {
      h.update(chunk as Buffer);
      done += (chunk as Buffer).length;
      b?.update(+(done / 1048576).toFixed(1));
    }
  } finally {
    b?.stop();
  }
  return h.digest("hex");
}

// Streams the file as the raw PUT body (the client's JSON fetch cannot stream or report progress).
async function putBlob(c: Connection, image: string, part: string, file: string, size: number, sha: string): Promise<void> {
  const url = new URL(
    `${c.server}/apis/compute.kumo.dev/v1/images/${encodeURIComponent(image)}/blobs/${encodeURIComponent(part)}?sha256=${sha}`,
  );
  const secure = url.protocol === "https:";
  const b = bar(`uploading ${part}`, size);
  let sent = 0;
  try {
    const res = await new Promise<Response>((resolve, reject) => {
      const req = (secure ? https : http).request(
        {
          hostname: url.hostname,
          port: url.port,
          path: url.pathname + url.search,
          method: "PUT",
          ...(secure ? { ca: c.caPem, rejectUnauthorized: !c.insecure } : {}),
          headers: {
            "content-type": "application/octet-stream",
            "content-length": String(size),
            accept: "application/json",
            ...(c.token ? { authorization: `Bearer ${c.token}` } : {}),
          },
        },
        (r) => {
          const chunks: Buffer[] = [];
          r.on("data", (d: Buffer) => chunks.push(d));
          r.on("end", () => resolve(new Response(Buffer.concat(chunks), { status: r.statusCode ?? 500 })));
          r.on("error", reject);
        },
      );
      req.on("error", reject);
      const src = createReadStream(file);
      src.on("data", (d) => {
        sent += (d as Buffer).length;
        b?.update(+(sent / 1048576).toFixed(1));
      });
      src.on("error", reject);
      src.pipe(req);
    });
    if (!res.ok) {
      const err = await errorFromResponse(res);
      throw new UserError(`upload of ${part} refused (${res.status}): ${err.message}`);
    }
  } finally {
    b?.stop();
  }
}
