/**
 * `send --schedule TASK [--data payload.json|-] [--run-id id]`: one run of a
 * scheduled task as the Extend Task Scheduler calls it
 * (`ScheduledTaskHandler/RunScheduledTask`, attempt 1, a fresh run id unless
 * given, the payload as is), and the `ScheduledTaskResponse` printed. Exit 0
 * when it answers success, 1 otherwise.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as grpc from '@grpc/grpc-js';
import { SCHEDULER_PATH, decodeScheduledTaskResponse, encodeScheduledTask } from '../custom-events/index.js';
import type { CommandIO } from './io.js';

async function readText(spec: string | undefined, stdin: NodeJS.ReadableStream | undefined): Promise<string> {
  if (spec === undefined) return '{}';
  if (spec !== '-') return await readFile(spec, 'utf8');
  if (!stdin) throw new Error('no standard input to read');
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8');
}

/** Sends one run of `task` to `target`; prints the answer. */
export async function sendScheduledRun(task: string, options: { data?: string; runId?: string; namespace: string; target: string; timeoutMs: number }, io: CommandIO & { stdin?: NodeJS.ReadableStream }): Promise<number> {
  let payloadText: string;
  try {
    payloadText = await readText(options.data, io.stdin);
  } catch (err) {
    io.stderr.write(`extend-event-rules send: ${options.data ?? ''}: cannot read it: ${(err as NodeJS.ErrnoException).code ?? String(err)}\n`);
    return 2;
  }
  const runId = options.runId ?? randomUUID();
  const bytes = encodeScheduledTask({ runId, taskId: task, taskName: task, namespace: options.namespace, scheduledTime: new Date().toISOString(), attemptNumber: 1, payloadText }, task);
  io.stderr.write(`sending a run of ${task} (run id ${runId}) to ${options.target}${SCHEDULER_PATH}\n`);
  const client = new grpc.Client(options.target, grpc.credentials.createInsecure());
  const answer = await new Promise<{ error?: grpc.ServiceError; reply?: Buffer }>((resolve) => {
    client.makeUnaryRequest(SCHEDULER_PATH, (b: Buffer) => b, (b: Buffer) => b, Buffer.from(bytes), new grpc.Metadata(), { deadline: Date.now() + options.timeoutMs }, (error, reply) =>
      resolve(error ? { error } : { reply: reply ?? Buffer.alloc(0) }),
    );
  }).finally(() => client.close());
  if (answer.error) {
    io.stdout.write(`${grpc.status[answer.error.code] ?? String(answer.error.code)}: ${answer.error.details}\n`);
    return 1;
  }
  const r = decodeScheduledTaskResponse(answer.reply!);
  io.stdout.write(`${JSON.stringify({ success: r.success, http_status_code: r.httpStatusCode, message: r.message, result_data: r.resultData })}\n`);
  return r.success ? 0 : 1;
}
