// The placeholder contract shared by the template steps (which write them), the first-boot hook
// (which fills them from the kernel command line) and fillPlaceholders (which fills them offline).

export const PLACEHOLDERS = {
  ip: '__IPADDRESS__',
  netmask: '__NETMASK__',
  gateway: '__GATEWAY__',
  hostname: '__HOSTNAME__',
} as const;

/** Where the template records which files carry placeholders, one path per line. */
export const PLACEHOLDER_LIST = 'etc/ec2inv/placeholder-files';
/** Pristine copies of those files, so the hook can fill them again on every boot. */
export const PLACEHOLDER_TEMPLATES = 'etc/ec2inv/templates';
export const HOOK_PATH = 'etc/ec2inv/fill-placeholders';

export interface NetworkValues {
  /** IPv4 address, e.g. `10.0.2.15`. */
  ip: string;
  /** Prefix length (24) or dotted netmask (255.255.255.0). */
  netmask: string | number;
  gateway: string;
  hostname: string;
}

const ipv4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const hostnameRe = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

export function prefixToNetmask(prefix: number): string {
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > 32) throw new RangeError(`bad prefix length: ${prefix}`);
  const bits = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return [24, 16, 8, 0].map((s) => (bits >>> s) & 0xff).join('.');
}

export function netmaskToPrefix(mask: string): number {
  const n = mask.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  const prefix = n.toString(2).replace(/0+$/, '').length;
  if (!ipv4.test(mask) || prefixToNetmask(prefix) !== mask) throw new RangeError(`not a contiguous netmask: ${mask}`);
  return prefix;
}

/** Validates values and returns them with a dotted netmask and a prefix length. */
export function normaliseValues(v: NetworkValues): NetworkValues & { netmask: string; prefix: number } {
  if (!ipv4.test(v.ip)) throw new RangeError(`not an IPv4 address: ${v.ip}`);
  if (!ipv4.test(v.gateway)) throw new RangeError(`not an IPv4 gateway: ${v.gateway}`);
  if (!hostnameRe.test(v.hostname)) throw new RangeError(`not a valid hostname: ${v.hostname}`);
  const prefix = typeof v.netmask === 'number' || /^\d+$/.test(v.netmask) ? Number(v.netmask) : netmaskToPrefix(v.netmask);
  return { ...v, netmask: prefixToNetmask(prefix), prefix };
}

/**
 * Kernel command-line parameters that the first-boot hook reads: `ec2inv.ip=ADDR/PREFIX`,
 * `ec2inv.gw=ADDR`, `ec2inv.hostname=NAME`. A launcher appends these to the guest's cmdline.
 */
export function kernelCmdlineParams(values: NetworkValues): string {
  const v = normaliseValues(values);
  return `ec2inv.ip=${v.ip}/${v.prefix} ec2inv.gw=${v.gateway} ec2inv.hostname=${v.hostname}`;
}

export function substitute(text: string, values: NetworkValues): string {
  const v = normaliseValues(values);
  return text
    .replaceAll(PLACEHOLDERS.ip, v.ip)
    .replaceAll(PLACEHOLDERS.netmask, v.netmask)
    .replaceAll(PLACEHOLDERS.gateway, v.gateway)
    .replaceAll(PLACEHOLDERS.hostname, v.hostname);
}

export function hasPlaceholder(text: string): boolean {
  return Object.values(PLACEHOLDERS).some((p) => text.includes(p));
}
