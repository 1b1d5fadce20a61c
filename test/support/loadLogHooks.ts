// The resolve hook of loadLog.ts: every ES module resolved, and import()ed CommonJS entry points.
import { appendFileSync } from 'node:fs';

type Next = (specifier: string, context: unknown) => Promise<{ url: string }>;

export async function resolve(specifier: string, context: unknown, next: Next): Promise<{ url: string }> {
  const resolved = await next(specifier, context);
  const log = process.env['EC2INV_LOAD_LOG'];
  if (log) appendFileSync(log, `${resolved.url}\n`);
  return resolved;
}
