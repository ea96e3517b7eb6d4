#!/usr/bin/env node
/**
 * The bin `extend-event-rules`: argv -> the command table (commands.ts) -> the
 * exit code. Every byte a command prints goes through the secret redaction
 * (see telemetry/redact.ts).
 */
import type { CommandIO } from './io.js';
import { redacting } from './io.js';
import { runCli } from './commands.js';

const io: CommandIO = { stdout: redacting(process.stdout), stderr: redacting(process.stderr), stdin: process.stdin };
runCli(process.argv.slice(2), io).then(
  (code) => {
    process.exitCode = code;
    // The server's sockets, timers and clients are closed by then; exit promptly regardless.
    if ((process.argv[2] ?? 'serve') === 'serve') process.exit(code);
  },
  (error: unknown) => {
    process.stderr.write(`${String(error)}\n`);
    process.exitCode = 1;
  },
);
