#!/usr/bin/env node
/** Entry point of the `kumo` CLI (bin/kumo runs this file). */
import { run } from "./program.js";

const code = await run(process.argv.slice(2));
process.exitCode = code;
// Idle keep-alive sockets must not hold the shell prompt: once the command is done, leave shortly
// after stdout drains (the timer itself does not keep the process alive).
setTimeout(() => process.exit(code), 50).unref();
