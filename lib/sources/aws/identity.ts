// Who the inventory calls AWS as: the later ec2.py's boto_profile / --profile / AWS_PROFILE,
// iam_role and [credentials], on top of the SDK's default chain (environment, SSO, web identity,
// instance metadata), which needs no code here. Credentials stay in memory.
// The providers and STS are loaded only when a profile, a role or the account id is asked for:
// @aws-sdk/credential-providers alone costs more to load than the EC2 client.
import type { Settings } from '../../settings/read.js';
import { SettingsError } from '../../errors.js';
import { awsError } from './errors.js';
import { clientOptions, type AuthSettings, type ClientAuth, type Provider } from './clients.js';
import { requestHandler } from './http.js';

type Credentials = Awaited<ReturnType<Provider>>;

export type IdentitySettings = Pick<Settings, 'iniPath'> & Partial<Pick<Settings, 'profile' | 'profileFrom' | 'iamRole' | 'externalId' | 'roleSessionName' | 'credentials' | 'connectTimeout' | 'requestTimeout'>>;

/** The session name the later ec2.py gave its AssumeRole calls. */
export const ROLE_SESSION_NAME = 'ansible_dynamic_inventory';

/**
 * The credentials of one refresh, resolved once so that a bad profile or a refused AssumeRole is
 * one clear error before any inventory call (and one AssumeRole serves every region).
 */
export async function resolveAuth(settings: IdentitySettings, region: string): Promise<ClientAuth> {
  let base: Provider | undefined;
  if (!settings.profile && !settings.credentials && !settings.iamRole) return {};
  const { fromIni, fromTemporaryCredentials } = await import('@aws-sdk/credential-providers');
  // The STS and SSO calls the providers make are bounded like every other call.
  const bounded = {
    requestHandler: requestHandler({
      ...(settings.connectTimeout !== undefined ? { connectTimeout: settings.connectTimeout } : {}),
      ...(settings.requestTimeout !== undefined ? { requestTimeout: settings.requestTimeout } : {}),
    }),
  };
  if (settings.profile) {
    base = fromIni({ profile: settings.profile, clientConfig: bounded });
  } else if (settings.credentials) {
    const fixed = settings.credentials;
    base = async () => fixed;
  }
  if (!base && !settings.iamRole) return {};
  if (base && settings.profile) {
    try {
      await base();
    } catch (err) {
      throw new SettingsError(
        `profile '${settings.profile}' (from ${settings.profileFrom ?? `--profile, AWS_PROFILE or boto_profile in ${settings.iniPath}`}) gives no credentials: ${profileProblem(settings.profile, err)}`,
        settings.iniPath, 'boto_profile',
      );
    }
  }
  if (!settings.iamRole) return { credentials: memoize(base as Provider) };
  const role = memoize(fromTemporaryCredentials({
    params: roleParams(settings, settings.iamRole),
    ...(base ? { masterCredentials: base } : {}),
    clientConfig: { region, ...bounded },
  }));
  try {
    await role();
  } catch (err) {
    throw awsError('STS', `AssumeRole of iam_role ${settings.iamRole}`, region, err);
  }
  return { credentials: role };
}

/** AssumeRole's parameters for iam_role (with external_id and role_session_name when set). */
export function roleParams(settings: Pick<IdentitySettings, 'externalId' | 'roleSessionName'>, roleArn: string) {
  return {
    RoleArn: roleArn,
    RoleSessionName: settings.roleSessionName ?? ROLE_SESSION_NAME,
    ...(settings.externalId ? { ExternalId: settings.externalId } : {}),
  };
}

/**
 * The credentials of every [account NAME] section, each resolved once per refresh: roles are
 * assumed through one STS client holding the inventory's own credentials, profiles read by the
 * SDK's ini provider, and an account without either shares the inventory's identity. Each promise
 * settles on its own, so that one account's refusal is that account's failure.
 */
export async function accountAuths(
  top: IdentitySettings & Pick<Settings, 'maxAttempts'>, accounts: (IdentitySettings & { ownRole: boolean })[], region: string,
): Promise<{ auths: Promise<ClientAuth>[]; close: () => void }> {
  const bounded = {
    requestHandler: requestHandler({
      ...(top.connectTimeout !== undefined ? { connectTimeout: top.connectTimeout } : {}),
      ...(top.requestTimeout !== undefined ? { requestTimeout: top.requestTimeout } : {}),
    }),
  };
  let inventoryAuth: Promise<ClientAuth> | undefined;
  const inventory = () => (inventoryAuth ??= resolveAuth(top, region));
  let sts: import('@aws-sdk/client-sts').STSClient | undefined;
  const needsSts = accounts.some((a) => a.ownRole);
  const stsModule = needsSts ? await import('@aws-sdk/client-sts') : undefined;
  const base = needsSts ? await baseProvider(top, bounded) : undefined;
  if (stsModule) {
    sts = new stsModule.STSClient({ ...clientOptions({ maxAttempts: top.maxAttempts, ...timeoutsOf(top) }, region), ...(base ? { credentials: base } : {}) });
  }
  const auths = accounts.map(async (account): Promise<ClientAuth> => {
    if (account.ownRole && account.iamRole && sts && stsModule) {
      const client = sts;
      const arn = account.iamRole;
      const role = memoize(async () => {
        const out = await client.send(new stsModule.AssumeRoleCommand(roleParams(account, arn)));
        const c = out.Credentials;
        if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error('AssumeRole answered without credentials');
        return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, ...(c.SessionToken ? { sessionToken: c.SessionToken } : {}), ...(c.Expiration ? { expiration: c.Expiration } : {}) };
      });
      try {
        await role();
      } catch (err) {
        throw awsError('STS', `AssumeRole of iam_role ${arn}`, region, err);
      }
      return { credentials: role };
    }
    if (account.profile && account.profile !== top.profile) return resolveAuth({ ...account, iamRole: undefined, credentials: undefined }, region);
    return inventory();
  });
  for (const a of auths) a.catch(() => { /* each account's failure is reported by whoever awaits it */ });
  return { auths, close: () => sts?.destroy() };
}

function timeoutsOf(s: Pick<IdentitySettings, 'connectTimeout' | 'requestTimeout'>) {
  return {
    ...(s.connectTimeout !== undefined ? { connectTimeout: s.connectTimeout } : {}),
    ...(s.requestTimeout !== undefined ? { requestTimeout: s.requestTimeout } : {}),
  };
}

/** The inventory's own credentials (its profile or [credentials]), or undefined for the SDK's default chain. */
async function baseProvider(settings: IdentitySettings, bounded: { requestHandler: ReturnType<typeof requestHandler> }): Promise<Provider | undefined> {
  if (settings.profile) {
    const { fromIni } = await import('@aws-sdk/credential-providers');
    const provider = memoize(fromIni({ profile: settings.profile, clientConfig: bounded }));
    try {
      await provider();
    } catch (err) {
      throw new SettingsError(
        `profile '${settings.profile}' (from --profile, AWS_PROFILE or boto_profile in ${settings.iniPath}) gives no credentials: ${firstLine(err)}`,
        settings.iniPath, 'boto_profile',
      );
    }
    return provider;
  }
  if (settings.credentials) {
    const fixed = settings.credentials;
    return async () => fixed;
  }
  return undefined;
}

/** The account the credentials belong to (STS GetCallerIdentity): ec2_account_id, group_by_aws_account. */
export async function getAccountId(settings: AuthSettings, region: string): Promise<string | undefined> {
  return (await callerIdentity(settings, region)).account;
}

export async function callerIdentity(settings: AuthSettings, region: string): Promise<{ account?: string; arn?: string }> {
  const { STSClient, GetCallerIdentityCommand } = await import('@aws-sdk/client-sts');
  const sts = new STSClient(clientOptions(settings, region));
  try {
    const out = await sts.send(new GetCallerIdentityCommand({}));
    return { account: out.Account, arn: out.Arn };
  } catch (err) {
    throw awsError('STS', 'GetCallerIdentity', region, err);
  } finally {
    sts.destroy();
  }
}

// Temporary credentials are shared until five minutes before they expire.
function memoize(provider: Provider): Provider {
  let cached: Promise<Credentials> | undefined;
  return async () => {
    const current = cached ? await cached.catch(() => undefined) : undefined;
    if (current && (!current.expiration || current.expiration.getTime() - Date.now() > 300_000)) return current;
    cached = provider();
    return cached;
  };
}

/** A profile that is in neither file is said with the files looked in; other failures (SSO, a role) in the SDK's words. */
function profileProblem(profile: string, err: unknown, env: NodeJS.ProcessEnv = process.env): string {
  if (!/Could not resolve credentials using profile/.test(firstLine(err))) return firstLine(err);
  const home = env['HOME'] ?? '~';
  const config = env['AWS_CONFIG_FILE'] || `${home}/.aws/config`;
  const credentials = env['AWS_SHARED_CREDENTIALS_FILE'] || `${home}/.aws/credentials`;
  return `no [profile ${profile}] in ${config} and no [${profile}] in ${credentials}`;
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0] ?? '';
}
