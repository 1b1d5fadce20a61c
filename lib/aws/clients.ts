// One place that decides how each SDK client is configured. Endpoints: the SDK itself honours
// AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> (how the tests reach moto, and how users reach
// any AWS-compatible API); Eucalyptus gets its own EC2 endpoint. Credentials: the SDK's default
// provider chain, never read or stored by us.
import type { Settings } from '../settings/read.js';

export interface ClientOptions {
  region: string;
  endpoint?: string;
  maxAttempts: number;
  /** Backoff plus client-side rate limiting once AWS starts throttling. */
  retryMode: 'adaptive';
}

export type ClientSettings = Pick<Settings, 'eucalyptus' | 'eucalyptusHost' | 'maxAttempts'>;

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

export function clientOptions(settings: Pick<Settings, 'maxAttempts'>, region: string): ClientOptions {
  return { region, maxAttempts: settings.maxAttempts, retryMode: 'adaptive' };
}
