/** Name rules (Kubernetes DNS-1123), shared so the CLI and dashboard can check before sending. */

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

/** Returns an error message, or undefined when `name` is a valid DNS-1123 subdomain (object names). */
export function checkObjectName(name: string): string | undefined {
  if (name.length > 253) return "must be no more than 253 characters";
  if (!DNS1123_SUBDOMAIN.test(name)) {
    return (
      "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', " +
      "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is " +
      "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
    );
  }
  return undefined;
}

/** Returns an error message, or undefined when `name` is a valid DNS-1123 label (namespace names). */
export function checkLabelName(name: string): string | undefined {
  if (name.length > 63) return "must be no more than 63 characters";
  if (!DNS1123_LABEL.test(name)) {
    return (
      "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', " +
      "and must start and end with an alphanumeric character (e.g. 'my-name', or '123-abc')"
    );
  }
  return undefined;
}

/** Validates a label/annotation key (`prefix/name`), returning an error message or undefined. */
export function checkQualifiedKey(key: string): string | undefined {
  const slash = key.lastIndexOf("/");
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (prefix !== undefined && (prefix.length === 0 || checkObjectName(prefix))) return "prefix part must be a lowercase RFC 1123 subdomain";
  if (name.length === 0 || name.length > 63 || !QUALIFIED_NAME.test(name)) {
    return (
      "name part must consist of alphanumeric characters, '-', '_' or '.', " +
      "and must start and end with an alphanumeric character (max 63 characters)"
    );
  }
  return undefined;
}

/** Validates a label value. */
export function checkLabelValue(v: string): string | undefined {
  if (v === "") return undefined;
  if (v.length > 63 || !QUALIFIED_NAME.test(v))
    return (
      "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', " +
      "and must start and end with an alphanumeric character (max 63 characters)"
    );
  return undefined;
}
