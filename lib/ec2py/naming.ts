// How a host is named and addressed: the 2014 destination variables, and the later ec2.py's
// destination_format, hostname_variable and route53_hostnames. The address (dest) is what Ansible
// connects to; the inventory name (hostname) is dest unless one of the later options names it.
import { ec2Attribute, rdsAttributes, type BotoValue, type EC2Record, type RDSRecord } from '../records/aws.js';
import type { FullRuleSettings, State } from './types.js';

/** A boto 2 attribute as Python's str() would format it; undefined when the host has no value. */
function attributeText(value: BotoValue): string | undefined {
  if (value === null || value === undefined || typeof value === 'symbol') return undefined;
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  return String(value);
}

function tagValue(record: EC2Record, key: string): string | undefined {
  // A dict in boto 2: the last of two equal keys wins.
  return record.instance.Tags?.findLast((t) => t.Key === key)?.Value;
}

/** The address of an EC2 instance, or undefined when it has none (then it is left out). */
export function ec2Destination(record: EC2Record, settings: FullRuleSettings): string | undefined {
  const format = settings.destinationFormat;
  if (format) {
    // Tags first, then instance attributes, then "nil", as the later ec2.py documents.
    const values = format.fields.map((f) => tagValue(record, f) ?? attributeText(ec2Attribute(record, f)) ?? 'nil');
    return format.pieces.map((p) => (typeof p === 'number' ? values[p] : p)).join('');
  }
  const variable = record.instance.SubnetId ? settings.vpcDestinationVariable : settings.destinationVariable;
  const value = ec2Attribute(record, variable);
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The inventory name of an EC2 instance whose address is dest. */
export function ec2Hostname(state: State, record: EC2Record, dest: string): string {
  const { settings } = state;
  const variable = settings.hostnameVariable;
  let hostname: string | undefined;
  if (variable) {
    hostname = 'tag' in variable ? tagValue(record, variable.tag) : attributeText(ec2Attribute(record, variable.attribute));
  }
  const suffix = settings.route53 ? settings.route53Hostnames : '';
  if (suffix) {
    for (const name of get_instance_route53_names(state.route53Records, record)) {
      if (name.endsWith(suffix)) hostname = name;
    }
  }
  if (!hostname) return dest;
  // Record names are DNS names already: to_safe would turn their dots into underscores.
  if (suffix && hostname.endsWith(suffix)) return hostname.toLowerCase();
  return state.safe(hostname).toLowerCase();
}

/**
 * The inventory name of an RDS instance. The later ec2.py passed every RDS name, the endpoint too,
 * through to_safe; here the endpoint stays as it is (the 2014 name) and only a hostname_variable
 * value is made safe. RDS tags are not read, so tag_<key> names no RDS host.
 */
export function rdsHostname(state: State, record: RDSRecord, dest: string): string {
  const variable = state.settings.hostnameVariable;
  if (!variable || 'tag' in variable) return dest;
  const attr = rdsAttributes.find(([n]) => n === variable.attribute);
  const hostname = attr ? attributeText(attr[1](record)) : undefined;
  return hostname ? state.safe(hostname).toLowerCase() : dest;
}

/** The Route53 names pointing at an instance, through its DNS names or addresses. */
export function get_instance_route53_names(route53Records: Map<string, Set<string>>, record: EC2Record): string[] {
  const names = new Set<string>();
  for (const attrib of ['public_dns_name', 'private_dns_name', 'ip_address', 'private_ip_address']) {
    const value = ec2Attribute(record, attrib);
    if (typeof value !== 'string') continue;
    for (const name of route53Records.get(value) ?? []) names.add(name);
  }
  return [...names];
}
