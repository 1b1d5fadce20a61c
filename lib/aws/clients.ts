// One place that decides how each SDK client is configured. Endpoints: the SDK itself honours
// AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> (how the tests reach moto, and how users reach
// any AWS-compatible API); Eucalyptus gets its own EC2 endpoint. Credentials: the SDK's default
// provider chain, never read or stored by us, unless a profile, iam_role or the ini's [credentials]
// chose others (lib/aws/identity.ts): then every client of the refresh shares that one provider.
import type { Settings } from '../settings/read.js';
import type { ClientAuth } from './identity.js';

export interface ClientOptions extends ClientAuth {
  region: string;
  endpoint?: string;
  maxAttempts: number;
}

export type ClientSettings = Pick<Settings, 'eucalyptus' | 'eucalyptusHost'>;

/** The region name boto 2's connect_euca uses, and the only region of a Eucalyptus cloud. */
export const EUCALYPTUS_REGION = 'eucalyptus';

export function eucalyptusEndpoint(settings: ClientSettings, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (!settings.eucalyptus) return undefined;
  if (env['EC2_URL']) return env['EC2_URL'];
  if (settings.eucalyptusHost) return `http://${settings.eucalyptusHost}:8773/services/Eucalyptus`;
  return undefined;
}

export function ec2ClientOptions(settings: ClientSettings, region: string, auth: ClientAuth = {}): ClientOptions {
  const endpoint = eucalyptusEndpoint(settings);
  return endpoint ? { region, endpoint, maxAttempts: 3, ...auth } : { region, maxAttempts: 3, ...auth };
}

export function clientOptions(region: string, auth: ClientAuth = {}): ClientOptions {
  return { region, maxAttempts: 3, ...auth };
}
