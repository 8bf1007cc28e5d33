/**
 * TLS material generated on first start and kept in `<dataDir>/pki`: a CA (its certificate goes into every
 * kubeconfig) and a serving certificate for loopback and the listen address. ECDSA P-256: fast to generate
 * and accepted by kubectl, Node and browsers.
 */
import "reflect-metadata"; // @peculiar/x509 uses tsyringe, which needs the Reflect metadata polyfill
import { webcrypto } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { isIP } from "node:net";
import { hostname } from "node:os";
import { join } from "node:path";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

/** PEM strings of the CA certificate and the serving key pair. */
export interface Pki {
  caCert: string;
  cert: string;
  key: string;
}

async function pemKey(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey("pkcs8", key);
  return x509.PemConverter.encode(der, "PRIVATE KEY");
}

/** Loads the PKI from `dir`, creating it (CA + serving cert for `hosts`) when missing. */
export async function ensurePki(dir: string, hosts: string[]): Promise<Pki> {
  const files = { caCert: join(dir, "ca.crt"), caKey: join(dir, "ca.key"), cert: join(dir, "server.crt"), key: join(dir, "server.key") };
  const names = [...new Set(["localhost", hostname(), "127.0.0.1", "::1", ...hosts])].filter((n) => n && n !== "0.0.0.0" && n !== "::");
  if (existsSync(files.caCert) && existsSync(files.cert) && existsSync(files.key)) {
    const existing = {
      caCert: await readFile(files.caCert, "utf8"),
      cert: await readFile(files.cert, "utf8"),
      key: await readFile(files.key, "utf8"),
    };
    if (names.every((n) => sanNames(existing.cert).includes(n))) return existing;
    // Listening somewhere new (e.g. the lab bridge): re-issue the serving cert from the same CA, so
    // every kubeconfig already handed out stays valid.
    if (existsSync(files.caKey)) return issueServing(files, names, existing.caCert, await readFile(files.caKey, "utf8"));
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const now = new Date(Date.now() - 60_000);
  const tenYears = new Date(Date.now() + 10 * 365 * 24 * 3600 * 1000);
  const caKeys = await webcrypto.subtle.generateKey(ALG, true, ["sign", "verify"]);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: "CN=kumo-ca",
    notBefore: now,
    notAfter: tenYears,
    keys: caKeys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const caPem = ca.toString("pem");
  await writeFile(files.caKey, await pemKey(caKeys.privateKey), { mode: 0o600 });
  await writeFile(files.caCert, caPem);
  return issueServing(files, names, caPem, await pemKey(caKeys.privateKey));
}

/** DNS and IP names in a certificate's subjectAltName. */
function sanNames(certPem: string): string[] {
  const san = new x509.X509Certificate(certPem).getExtension(x509.SubjectAlternativeNameExtension);
  return san?.names.items.map((n) => n.value) ?? [];
}

async function issueServing(
  files: Record<"caCert" | "caKey" | "cert" | "key", string>,
  names: string[],
  caPem: string,
  caKeyPem: string,
): Promise<Pki> {
  const ca = new x509.X509Certificate(caPem);
  const caPrivate = await webcrypto.subtle.importKey("pkcs8", x509.PemConverter.decode(caKeyPem)[0], ALG, true, ["sign"]);
  const caPublic = await ca.publicKey.export(ALG, ["verify"]);
  const now = new Date(Date.now() - 60_000);
  const tenYears = new Date(Date.now() + 10 * 365 * 24 * 3600 * 1000);
  const srvKeys = await webcrypto.subtle.generateKey(ALG, true, ["sign", "verify"]);
  const srv = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: "CN=kumo-server",
    issuer: ca.subject,
    notBefore: now,
    notAfter: tenYears,
    publicKey: srvKeys.publicKey,
    signingKey: caPrivate,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(
        names.map((n) => (isIP(n) ? { type: "ip" as const, value: n } : { type: "dns" as const, value: n })),
      ),
      await x509.AuthorityKeyIdentifierExtension.create(caPublic),
    ],
  });
  const pki = { caCert: caPem, cert: srv.toString("pem"), key: await pemKey(srvKeys.privateKey) };
  await writeFile(files.key, pki.key, { mode: 0o600 });
  await writeFile(files.cert, pki.cert);
  return pki;
}

function randomSerial(): string {
  return Buffer.from(webcrypto.getRandomValues(new Uint8Array(16)))
    .toString("hex")
    .replace(/^[89a-f]/, "1");
}
