/** Structured JSON logs: constant messages, variables in fields. */
import { pino, type Logger } from "pino";

/** Creates the process logger (level from KUMO_LOG_LEVEL, default info). */
export function createLogger(component: string): Logger {
  return pino({ level: process.env.KUMO_LOG_LEVEL ?? "info", base: { component }, timestamp: pino.stdTimeFunctions.isoTime });
}

export type { Logger };
