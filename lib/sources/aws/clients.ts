// One place that decides how each SDK client is configured. Endpoints: the SDK itself honours
// AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> (how the tests reach moto, and how users reach
// any AWS-compatible API); Eucalyptus gets its own EC2 endpoint. Credentials: the SDK's default
// provider chain, never read or stored by us, unless a profile, iam_role or the ini's [credentials]
// chose others (lib/sources/aws/identity.ts): then every client of the refresh shares that one provider.
import type { EC2ClientConfig } from '@aws-sdk/client-ec2';
import type { Settings } from '../../settings/read.js';
import type { fromIni } from '@aws-sdk/credential-providers';

/** A credentials provider, as @aws-sdk/credential-providers makes them. */
export type Provider = ReturnType<typeof fromIni>;

/**
 * What every client of one refresh gets: nothing (the default chain) or one shared provider
 * (resolved by identity.ts).
 */
export interface ClientAuth {
  credentials?: Provider;
}
import { requestHandler, type BoundedHttpHandler } from './http.js';
import { endpointProblem } from './errors.js';
import { InventoryError } from '../../errors.js';

export interface ClientOptions extends ClientAuth {
  region: string;
  endpoint?: string;
  maxAttempts: number;
  /** Backoff plus client-side rate limiting once AWS starts throttling. */
  retryMode: 'adaptive';
  logger: NonNullable<EC2ClientConfig['logger']>;
  /** Bounds every attempt (connect_timeout, request_timeout) and lets a refresh deadline stop it. */
  requestHandler: BoundedHttpHandler;
}

// The SDK's logger middleware builds a redacted deep copy of every answer for logger.info, and
// its default logger has an info() that does nothing with it: for a large refresh that is a copy
// of every page. A logger without info() is never handed one. Nothing is logged either way.
const quietLogger = { debug() {}, warn() {}, error() {} } as unknown as ClientOptions['logger'];

/** clientAuth: resolved once per refresh by fetchRecords (absent: the SDK's default chain). */
export type AuthSettings = Pick<Settings, 'maxAttempts'> & Partial<Pick<Settings, 'connectTimeout' | 'requestTimeout'>> & { clientAuth?: ClientAuth };

export type ClientSettings = Pick<Settings, 'eucalyptus' | 'eucalyptusHost'> & AuthSettings;

/** The region name boto 2's connect_euca uses, and the only region of a Eucalyptus cloud. */
export const EUCALYPTUS_REGION = 'eucalyptus';

export function eucalyptusEndpoint(settings: ClientSettings, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (!settings.eucalyptus) return undefined;
  if (env['EC2_URL']) return env['EC2_URL'];
  if (settings.eucalyptusHost) return `http://${settings.eucalyptusHost}:8773/services/Eucalyptus`;
  return undefined;
}

export function ec2ClientOptions(settings: ClientSettings, region: string): ClientOptions {
  const endpoint = eucalyptusEndpoint(settings);
  return endpoint ? { ...clientOptions(settings, region), endpoint } : clientOptions(settings, region);
}

export function clientOptions(settings: AuthSettings, region: string): ClientOptions {
  const badEndpoint = endpointProblem();
  if (badEndpoint !== undefined) throw new InventoryError(badEndpoint);
  const timeouts = {
    ...(settings.connectTimeout !== undefined ? { connectTimeout: settings.connectTimeout } : {}),
    ...(settings.requestTimeout !== undefined ? { requestTimeout: settings.requestTimeout } : {}),
  };
  return { region, maxAttempts: settings.maxAttempts, retryMode: 'adaptive', logger: quietLogger, requestHandler: requestHandler(timeouts), ...settings.clientAuth };
}
