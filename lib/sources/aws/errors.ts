import { STATUS_CODES } from 'node:http';
import { AwsError, InventoryError, errnoOf, errnoText, timeoutWords } from '../../errors.js';

interface SdkError {
  name?: string;
  message?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number; attempts?: number };
  /** Set by the SDK when an answer's body could not be read as the service's XML or JSON. */
  $responseBodyText?: string;
}

/** How much of a body that is not AWS's is quoted: enough to recognise a proxy's or balancer's page. */
const EXCERPT_CHARS = 80;

/**
 * `HTTP 503 Service Unavailable: "no healthy upstream"`: an answer that did not come from AWS (a
 * load balancer, a proxy) said by its status and the start of its body, not by the SDK's parse error.
 */
export function foreignAnswer(status: number, body: string): string {
  const text = body.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim();
  const excerpt = text.length > EXCERPT_CHARS ? `${text.slice(0, EXCERPT_CHARS)}...` : text;
  return `HTTP ${status}${STATUS_CODES[status] ? ` ${STATUS_CODES[status]}` : ''}: ${JSON.stringify(excerpt)}`;
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
  const said = (err as { $foreign?: boolean }).$foreign === true;
  const foreign = !network && !said && status !== undefined && typeof e.$responseBodyText === 'string';
  const detail = bound !== undefined ? bound
    : network ? `${errnoText(sys as string)} (${sys})`
    : said ? (message as string)
    : foreign ? foreignAnswer(status, e.$responseBodyText as string)
    : [code, message].filter((x) => x && x !== 'UnknownError' && x !== 'Error').join(': ') || String(err);
  // An HTTP status means something only for an answer that arrived, not for a broken connection.
  const shownStatus = status && !network && !foreign && !said ? ` (HTTP ${status})` : '';
  return new AwsError(
    `${service} ${call}${where} failed${shownStatus}${attempts && attempts > 1 ? ` after ${attempts} attempts` : ''}: ${detail}`,
    service,
    region,
    code,
    { cause: err },
  );
}
