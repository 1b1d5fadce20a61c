import { AwsError, InventoryError, errnoOf, errnoText, timeoutWords } from '../../errors.js';

interface SdkError {
  name?: string;
  message?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number; attempts?: number };
}

export function httpStatus(err: unknown): number | undefined {
  return (err as SdkError | undefined)?.$metadata?.httpStatusCode;
}

/** Wraps an SDK failure so the message names the service, the call, the region and AWS's words. */
export function awsError(service: AwsError['service'], call: string, region: string | undefined, err: unknown): InventoryError {
  // Our own errors (a refresh deadline that aborted the call) already say what happened.
  if (err instanceof AwsError || err instanceof InventoryError) return err;
  const e = (err ?? {}) as SdkError;
  const code = e.Code ?? e.name;
  const status = httpStatus(err);
  const where = region ? ` in ${region}` : '';
  const attempts = e.$metadata?.attempts;
  // SDK messages can run over several lines (deserialisation hints): the first one says it.
  const message = e.message?.split('\n')[0]?.trim();
  // A network failure ("read ECONNRESET") is said in words, its code kept.
  // The bounds of lib/sources/aws/http.ts say which limit ran out in the words of ec2.ini.
  const sys = errnoOf(err);
  const bound = timeoutWords(err);
  const network = bound !== undefined || (sys !== undefined && errnoText(sys) !== undefined);
  const detail = bound !== undefined ? bound
    : network ? `${errnoText(sys as string)} (${sys})`
    : [code, message].filter((x) => x && x !== 'UnknownError' && x !== 'Error').join(': ') || String(err);
  // An HTTP status means something only for an answer that arrived, not for a broken connection.
  const shownStatus = status && !network ? ` (HTTP ${status})` : '';
  return new AwsError(
    `${service} ${call}${where} failed${shownStatus}${attempts && attempts > 1 ? ` after ${attempts} attempts` : ''}: ${detail}`,
    service,
    region,
    code,
    { cause: err },
  );
}
