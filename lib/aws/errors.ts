import { AwsError } from '../errors.js';

interface SdkError {
  name?: string;
  message?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
}

export function httpStatus(err: unknown): number | undefined {
  return (err as SdkError | undefined)?.$metadata?.httpStatusCode;
}

/** Wraps an SDK failure so the message names the service, the call, the region and AWS's words. */
export function awsError(service: AwsError['service'], call: string, region: string | undefined, err: unknown): AwsError {
  if (err instanceof AwsError) return err;
  const e = (err ?? {}) as SdkError;
  const code = e.Code ?? e.name;
  const status = httpStatus(err);
  const where = region ? ` in ${region}` : '';
  const detail = [code, e.message].filter((x) => x && x !== 'UnknownError').join(': ') || String(err);
  return new AwsError(
    `${service} ${call}${where} failed${status ? ` (HTTP ${status})` : ''}: ${detail}`,
    service,
    region,
    code,
    { cause: err },
  );
}
