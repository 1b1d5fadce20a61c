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

/** The variables an endpoint comes from: the SDK's own, and Eucalyptus's EC2_URL. */
const endpointVariable = /^(AWS_ENDPOINT_URL(_[A-Z0-9_]+)?|EC2_URL)$/;

function isHttpUrl(value: string | undefined): boolean {
  try {
    return ['http:', 'https:'].includes(new URL(value ?? '').protocol);
  } catch {
    return false;
  }
}

/** Where the inventory's credentials can come from, for a run that found none. */
export const inventoryCredentialSources =
  'set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or name a profile of ~/.aws/credentials or ~/.aws/config (--profile, AWS_PROFILE or boto_profile in ec2.ini), or fill [credentials] in ec2.ini';

/**
 * The first endpoint variable whose value is not an http(s) URL, said as such; undefined when all
 * are. The SDK says only `TypeError: Invalid URL` of some, and sends others (`moto:5000`) nowhere
 * useful, so clients are not made with one (clientOptions).
 */
export function endpointProblem(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const bad = Object.keys(env).filter((k) => endpointVariable.test(k) && env[k] !== '').sort().find((k) => !isHttpUrl(env[k]));
  return bad === undefined ? undefined : `${bad} is not a URL: '${env[bad]}' (write http://host:port or https://host)`;
}

/**
 * A failure before anything was sent, said in the user's terms: the variable that holds an
 * endpoint that is not a URL, or, when no credentials were found, where they can come from
 * (`sources`, the caller's own list). Undefined otherwise.
 */
export function setupProblem(err: unknown, sources: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const e = (err ?? {}) as { name?: string; message?: string };
  if (e.name === 'TypeError' && /Invalid URL/.test(e.message ?? '')) return endpointProblem(env);
  if (e.name === 'CredentialsProviderError' && /Could not load credentials from any providers/.test(e.message ?? '')) {
    return `no AWS credentials found: ${sources}`;
  }
  return undefined;
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
  const setup = setupProblem(err, inventoryCredentialSources);
  if (setup !== undefined) return new AwsError(`${service} ${call}${where} failed: ${setup}`, service, region, code, { cause: err });
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
