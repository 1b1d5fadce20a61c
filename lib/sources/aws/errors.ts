import { AwsError } from '../../errors.js';

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
  // SDK messages can run over several lines (deserialisation hints): the first one says it.
  const message = e.message?.split('\n')[0]?.trim();
  const detail = [code, message].filter((x) => x && x !== 'UnknownError' && x !== 'Error').join(': ') || String(err);
  return new AwsError(
    `${service} ${call}${where} failed${status ? ` (HTTP ${status})` : ''}: ${detail}`,
    service,
    region,
    code,
    { cause: err },
  );
}
